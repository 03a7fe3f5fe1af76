"""useapi.net's account routes under /v2/account/midjourney: the same accounts as the admin API, keyed by
channel, with ``maxJobs`` as the account's concurrency (core size). Admin credential only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from ...domain.account import AccountDefinition, AccountState
from ...engine.accounts import AccountManager
from ...engine.capacity import WAITING_FOR_HUMAN
from ...engine.jobs import mask_token
from ...midjourney.errors import SubmitError
from ...store.errors import AccountConflict
from .errors import JobError
from .http import admin, body_of
from .schemas import MAX_JOBS_LIMIT, AccountIn, json_body

router = APIRouter(tags=["useapi (v2)"], dependencies=[Depends(admin)])


def manager_of(request: Request) -> AccountManager:
    manager: AccountManager | None = request.app.state.runtime.accounts_manager
    if manager is None:
        raise JobError(503, "the server is starting")
    return manager


def account_view(manager: AccountManager, definition: AccountDefinition) -> dict[str, Any]:
    runtime = manager.get(definition.id)
    state = runtime.state if runtime is not None else AccountState.DISABLED
    view: dict[str, Any] = {"discord": mask_token(definition.user_token), "server": definition.guild_id,
                            "channel": definition.channel_id, "maxJobs": definition.core_size,
                            "state": state.value}
    if runtime is not None and state in WAITING_FOR_HUMAN:
        view["pendingModMessage"] = runtime.state_reason or state.value
    elif runtime is not None and state == AccountState.SUBSCRIPTION_REQUIRED:
        view["error"] = runtime.state_reason or state.value
    return view


def require_definition(manager: AccountManager, channel: str) -> AccountDefinition:
    definition = manager.definition(channel)
    if definition is None:
        raise JobError(404, f"Channel {channel} is not configured")
    return definition


@router.get("/account/midjourney", summary="Every configured Midjourney account, by channel")
async def list_accounts(request: Request) -> dict[str, Any]:
    manager = manager_of(request)
    definitions = manager.definitions()
    if not definitions:
        raise JobError(404, "No Midjourney account is configured")
    return {d.channel_id: account_view(manager, d) for d in definitions}


@router.get("/account/midjourney/{channel}", summary="One Midjourney account")
async def get_account(channel: str, request: Request) -> dict[str, Any]:
    manager = manager_of(request)
    return account_view(manager, require_definition(manager, channel))


@router.post("/account/midjourney/{channel}", status_code=204, response_class=Response,
             openapi_extra=json_body(AccountIn),
             summary="Create or update the account of a channel")
async def put_account(channel: str, request: Request) -> Response:
    manager = manager_of(request)
    body = await body_of(request, AccountIn)
    if body.channel != channel:
        raise JobError(400, f"Required param channel ({body.channel}) not matching to /midjourney/{channel}")
    for name in ("discord", "server"):
        if not getattr(body, name):
            raise JobError(400, f"Required param {name} is missing")
    max_jobs = 3 if body.maxJobs is None else body.maxJobs
    if not 1 <= max_jobs <= MAX_JOBS_LIMIT:
        raise JobError(400, f"Required param maxJobs {max_jobs} can't be more that {MAX_JOBS_LIMIT}"
                       if max_jobs > MAX_JOBS_LIMIT else f"Required param maxJobs {max_jobs} must be at least 1")
    for other in manager.definitions():
        if other.channel_id != channel and other.user_token == body.discord:
            raise JobError(400, f"Channel {other.channel_id} configuration has same discord value")
    if manager.definition(channel) is None:
        try:
            await manager.create(AccountDefinition(channel_id=channel, guild_id=str(body.server),
                                                   user_token=str(body.discord), core_size=max_jobs))
        except AccountConflict as exc:
            raise JobError(409, str(exc)) from None
    else:
        await manager.update(channel, {"user_token": body.discord, "guild_id": body.server, "core_size": max_jobs})
    return Response(status_code=204)


@router.delete("/account/midjourney/{channel}", status_code=204, response_class=Response,
               summary="Remove the account of a channel")
async def delete_account(channel: str, request: Request) -> Response:
    if not await manager_of(request).delete(channel):
        raise JobError(404, f"Channel {channel} is not configured")
    return Response(status_code=204)


@router.post("/account/midjourney/{channel}/reset", status_code=204, response_class=Response,
             summary="Clear a pending moderation message / captcha and put the account back in rotation")
async def reset_account(channel: str, request: Request) -> Response:
    manager = manager_of(request)
    require_definition(manager, channel)
    try:
        await manager.reset(channel)
    except SubmitError as exc:
        raise JobError(400, str(exc)) from None
    return Response(status_code=204)
