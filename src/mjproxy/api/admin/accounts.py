"""The admin API: manage Discord accounts at run time (midjourney-proxy "plus" paths, plus ours).

Mounted under ``/mj``. Paths follow midjourney-proxy (``/account/list``, ``/account/{id}/fetch``,
``/account/query``, ``/account/create``, ``/account/{id}/update``, ``/account/{id}/update-reconnect``,
``/account/{id}/delete``, ``/account/{id}/sync-info``, ``/account/{id}/change-version``,
``/account/{id}/action``); ours add ``enable``, ``disable``, ``reconnect``, ``reset`` and
``mode/{fast|relax|turbo}``. ``{id}`` is the account's channel id.

Auth: every route needs an admin credential (``require_admin``; the rules are in api/auth.py and
docs/security.md): an admin API key, ``server.admin_secret`` when that is set, otherwise
``server.api_secret``; anything else is a 401. When no secret is set and no API key was ever created
the routes are OPEN - the local, single-user default; set a secret or create a key before exposing
mjproxy beyond loopback.

Wire format: camelCase account JSON built from ``AccountManager.view``. The user token is never
returned: ``userToken`` is always the masked ``abc…xyz`` form (DESIGN invariant 6), even though the
open edition of midjourney-proxy returns it in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from ...domain.account import AccountDefinition, SpeedMode
from ...domain.secrets import mask_secret
from ...engine.accounts import AccountManager
from ...midjourney.errors import SubmitError
from ...store.errors import AccountConflict
from ..auth import require_admin
from ..errors import ApiError

if TYPE_CHECKING:
    from ...runtime import Runtime

MASK = "…"  # what mask_secret puts in the middle of a masked token

# -- auth ---------------------------------------------------------------------------------------------


router = APIRouter(prefix="/account", tags=["accounts"], dependencies=[Depends(require_admin)])


def manager_of(request: Request) -> AccountManager:
    runtime: Runtime = request.app.state.runtime
    manager = runtime.accounts_manager
    if manager is None:
        raise ApiError(503, "the account manager is not running yet")
    return manager


Manager = Annotated[AccountManager, Depends(manager_of)]

# -- wire models ------------------------------------------------------------------------------------

ModeName = Literal["FAST", "RELAX", "TURBO"]


def _discord_id(value: Any) -> Any:
    # JSON clients sometimes send snowflakes as numbers; any digits-only value is accepted.
    if value is None:
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be a Discord id (digits only)")
    return text


def _token(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):  # a number coerced into a token would break the account at connect time
        raise ValueError("must be a string (the Discord user token)")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    return text


class AccountFieldsIn(BaseModel):
    """Every editable field, all optional: the body of ``update`` (partial) and the base of ``create``.

    Unknown keys are ignored rather than refused so that midjourney-proxy admin UIs, which send the whole
    account object back (``id``, ``properties``, …), keep working.
    """

    model_config = ConfigDict(extra="ignore")

    guildId: str | None = None
    channelId: str | None = None
    userToken: StrictStr | None = Field(None, max_length=512)
    userAgent: str | None = Field(None, max_length=1000)
    coreSize: int | None = Field(None, ge=1, le=50)
    queueSize: int | None = Field(None, ge=0, le=1000)
    timeoutMinutes: float | None = Field(None, gt=0, le=24 * 60)
    enable: bool | None = None
    enabled: bool | None = Field(None, description="Alias of enable")
    remark: str | None = Field(None, max_length=1000)
    weight: int | None = Field(None, ge=0, le=10_000)
    name: str | None = Field(None, max_length=200)
    modes: list[ModeName] | None = Field(None, min_length=1, description="Speed modes the account may run")
    dailyLimit: int | None = Field(None, ge=0, description="Jobs per UTC day; 0 = unlimited")
    minIntervalSeconds: float | None = Field(None, ge=0, le=3600)
    jitterSeconds: float | None = Field(None, ge=0, le=3600)
    remixAutoSubmit: bool | None = None
    fastExhaustedPolicy: Literal["relax", "remove"] | None = None
    fastHoursThreshold: float | None = Field(None, ge=0)

    check_ids = field_validator("guildId", "channelId", mode="before")(_discord_id)
    check_token = field_validator("userToken", mode="before")(_token)

    @field_validator("modes")
    @classmethod
    def _unique_modes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))


class AccountCreateIn(AccountFieldsIn):
    guildId: str
    channelId: str
    userToken: StrictStr = Field(max_length=512)

    @field_validator("userToken")
    @classmethod
    def _not_masked(cls, value: str) -> str:
        if MASK in value:
            raise ValueError("looks like a masked token (abc…xyz); send the full user token")
        return value


class QueryIn(BaseModel):
    """Spring-style paging as midjourney-proxy plus uses it: ``pageNumber`` counts from 0."""

    model_config = ConfigDict(extra="ignore")

    pageNumber: int = Field(0, ge=0)
    pageSize: int = Field(10, ge=1, le=1000)
    pagination: QueryIn | None = Field(None, description="The same two fields, nested (plus admin UI)")


# camelCase wire name → AccountDefinition field. "enable" is midjourney-proxy's spelling.
_FIELDS: dict[str, str] = {
    "guildId": "guild_id", "channelId": "channel_id", "userToken": "user_token", "userAgent": "user_agent",
    "coreSize": "core_size", "queueSize": "queue_size", "timeoutMinutes": "timeout_minutes",
    "enable": "enabled", "enabled": "enabled", "remark": "remark", "weight": "weight", "name": "name",
    "modes": "modes", "dailyLimit": "daily_limit", "minIntervalSeconds": "min_interval_seconds",
    "jitterSeconds": "jitter_seconds", "remixAutoSubmit": "remix_auto_submit",
    "fastExhaustedPolicy": "fast_exhausted_policy", "fastHoursThreshold": "fast_hours_threshold",
}


def changes_of(body: AccountFieldsIn) -> dict[str, Any]:
    """The fields a request set (nulls count as not set), as AccountDefinition field names and values."""
    changes: dict[str, Any] = {}
    for wire, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        name = _FIELDS.get(wire)
        if name is None:
            continue
        if name == "modes":
            value = [SpeedMode(mode.lower()) for mode in value]
        changes[name] = value
    return changes


# -- account JSON -----------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _scrub(value: Any, token: str, masked: str) -> Any:
    # Defence in depth for invariant 6: should any nested value (a state reason quoting an error, say)
    # carry the raw token, it leaves masked. Realistic tokens are ~70 characters, so a substring match
    # cannot hit innocent text; very short (test) tokens are skipped for the same reason.
    if isinstance(value, str):
        return value.replace(token, masked) if token in value else value
    if isinstance(value, dict):
        return {key: _scrub(item, token, masked) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, token, masked) for item in value]
    return value


def account_json(manager: AccountManager, account_id: str) -> dict[str, Any]:
    """One account as the admin API shows it: the manager's view, camelCase, token masked."""
    definition = manager.definition(account_id)
    if definition is None:
        raise ApiError(404, f"account {account_id} not found")
    view = manager.view(account_id)
    out = {_camel(key): value for key, value in view.items()}
    token = definition.user_token
    masked = mask_secret(token)
    # Taken from the definition, not the view: whatever the view does, the raw token never leaves.
    out.pop("user_token", None)
    out["userToken"] = masked
    out["id"] = definition.id
    out["enable"] = out["enabled"] = definition.enabled
    out["modes"] = [SpeedMode(mode).value.upper() for mode in definition.modes]
    out.setdefault("properties", {})  # midjourney-proxy's DiscordAccount carries one; its UIs read it
    return _scrub(out, token, masked) if len(token) >= 16 else out


# -- errors -----------------------------------------------------------------------------------------


@contextmanager
def translated(account_id: str) -> Iterator[None]:
    """The manager's and Midjourney's exceptions as honest HTTP statuses with readable messages."""
    try:
        yield
    except AccountConflict:
        raise ApiError(409, f"an account with channel id {account_id} already exists") from None
    except LookupError:  # KeyError from the manager, AccountNotFound from the store
        raise ApiError(404, f"account {account_id} not found") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    except SubmitError as exc:
        # Discord or the Midjourney bot refused or never answered; the message is safe to show.
        raise ApiError(502, f"account {account_id}: {exc.reason}") from None
    except TimeoutError:
        raise ApiError(504, f"account {account_id}: Discord did not answer in time") from None


def require_account(manager: AccountManager, account_id: str) -> AccountDefinition:
    definition = manager.definition(account_id)
    if definition is None:
        raise ApiError(404, f"account {account_id} not found")
    return definition


def require_running(manager: AccountManager, account_id: str) -> None:
    """Commands talk to Discord through the account's connection, which a disabled account does not have."""
    require_account(manager, account_id)
    if manager.get(account_id) is None:
        raise ApiError(409, f"account {account_id} is disabled; enable it before talking to Midjourney")


# -- reading ----------------------------------------------------------------------------------------


@router.get("/list", summary="Every account (tokens masked)")
async def list_accounts(manager: Manager) -> list[dict[str, Any]]:
    return [account_json(manager, d.id) for d in manager.definitions()]


@router.get("/{account_id}/fetch", summary="One account by channel id")
async def fetch_account(account_id: str, manager: Manager) -> dict[str, Any]:
    return account_json(manager, account_id)


@router.post("/query", summary="Accounts, paged: {pageNumber (from 0), pageSize}")
async def query_accounts(manager: Manager, body: Annotated[QueryIn | None, Body()] = None) -> dict[str, Any]:
    paging = body or QueryIn()
    if paging.pagination is not None:
        paging = paging.pagination
    definitions = manager.definitions()
    start = paging.pageNumber * paging.pageSize
    page = definitions[start:start + paging.pageSize]
    return {"content": [account_json(manager, d.id) for d in page], "totalElements": len(definitions),
            "pageNumber": paging.pageNumber, "pageSize": paging.pageSize}


# -- editing ----------------------------------------------------------------------------------------


@router.post("/create", summary="Add an account; it connects at once when enabled")
async def create_account(body: AccountCreateIn, manager: Manager) -> dict[str, Any]:
    definition = AccountDefinition.from_json(changes_of(body))
    if manager.definition(definition.id) is not None:
        raise ApiError(409, f"an account with channel id {definition.id} already exists")
    with translated(definition.id):
        created = await manager.create(definition)
    return account_json(manager, created.id)


async def _apply(manager: AccountManager, account_id: str, body: AccountFieldsIn) -> None:
    current = require_account(manager, account_id)
    changes = changes_of(body)
    token = changes.get("user_token")
    # UIs send back the object they fetched, masked token included; that is "unchanged", not a new token.
    if token is not None and token == mask_secret(current.user_token):
        del changes["user_token"]
    elif token is not None and MASK in token:
        raise ApiError(422, "userToken: looks like a masked token (abc…xyz); send the full user token")
    enabled = changes.pop("enabled", None)
    with translated(account_id):
        if changes:
            await manager.update(account_id, changes)
        # Enabling starts the connection and disabling stops it, which a plain field update does not.
        if enabled is not None and enabled != current.enabled:
            await manager.set_enabled(account_id, enabled)


@router.put("/{account_id}/update", summary="Change some fields; a new token, guild or user agent reconnects")
async def update_account(account_id: str, body: AccountFieldsIn, manager: Manager) -> dict[str, Any]:
    await _apply(manager, account_id, body)
    return account_json(manager, account_id)


@router.put("/{account_id}/update-reconnect", summary="Change some fields, then reconnect the account")
async def update_reconnect(account_id: str, body: AccountFieldsIn, manager: Manager) -> dict[str, Any]:
    await _apply(manager, account_id, body)
    with translated(account_id):
        await manager.reconnect(account_id)
    return account_json(manager, account_id)


@router.delete("/{account_id}/delete", summary="Remove an account; its waiting tasks move or fail")
async def delete_account(account_id: str, manager: Manager) -> dict[str, Any]:
    require_account(manager, account_id)
    with translated(account_id):
        deleted = await manager.delete(account_id)
    if not deleted:
        raise ApiError(404, f"account {account_id} not found")
    return {"code": 1, "description": "deleted", "id": account_id}


@router.post("/{account_id}/enable", summary="Put the account back into service (connects it)")
async def enable_account(account_id: str, manager: Manager) -> dict[str, Any]:
    require_account(manager, account_id)
    with translated(account_id):
        await manager.set_enabled(account_id, True)
    return account_json(manager, account_id)


@router.post("/{account_id}/disable", summary="Take the account out of service (disconnects it)")
async def disable_account(account_id: str, manager: Manager) -> dict[str, Any]:
    require_account(manager, account_id)
    with translated(account_id):
        await manager.set_enabled(account_id, False)
    return account_json(manager, account_id)


@router.post("/{account_id}/reconnect", summary="Drop and reopen the account's gateway connection")
async def reconnect_account(account_id: str, manager: Manager) -> dict[str, Any]:
    require_account(manager, account_id)
    with translated(account_id):
        await manager.reconnect(account_id)
    return account_json(manager, account_id)


@router.post("/{account_id}/reset", summary="Clear a held state (captcha, pending mod, blocked…) after fixing it")
async def reset_account(account_id: str, manager: Manager) -> dict[str, Any]:
    require_running(manager, account_id)
    with translated(account_id):
        await manager.reset(account_id)
    return account_json(manager, account_id)


# -- Midjourney commands ------------------------------------------------------------------------------


@router.post("/{account_id}/sync-info", summary="Run /info and /settings and show the result")
async def sync_info(account_id: str, manager: Manager) -> dict[str, Any]:
    require_running(manager, account_id)
    with translated(account_id):
        await manager.sync(account_id)
    return account_json(manager, account_id)


@router.post("/{account_id}/mode/{mode}", summary="Switch the account to fast, relax or turbo (/fast …)")
async def set_mode(account_id: str, mode: str, manager: Manager) -> dict[str, Any]:
    try:
        speed = SpeedMode(mode.lower())
    except ValueError:
        raise ApiError(422, f"mode must be fast, relax or turbo, not {mode!r}") from None
    require_running(manager, account_id)
    with translated(account_id):
        answer = await manager.set_mode(account_id, speed)
    return {"mode": speed.value.upper(), "answer": answer, "account": account_json(manager, account_id)}


@router.post("/{account_id}/change-version", summary="Choose the model version in /settings (label or value)")
async def change_version(account_id: str, manager: Manager,
                         version: str = Query(min_length=1, max_length=100)) -> dict[str, Any]:
    require_running(manager, account_id)
    with translated(account_id):
        settings = await manager.change_version(account_id, version)
    return {"settings": settings, "account": account_json(manager, account_id)}


@router.post("/{account_id}/action", summary="Click a /settings button by custom id or label")
async def settings_action(account_id: str, manager: Manager,
                          customId: str = Query(min_length=1, max_length=200),
                          botType: str | None = Query(None)) -> dict[str, Any]:
    # botType is accepted for midjourney-proxy compatibility; the settings clicked are Midjourney's.
    require_running(manager, account_id)
    with translated(account_id):
        settings = await manager.click_setting(account_id, customId)
    return {"settings": settings, "account": account_json(manager, account_id)}
