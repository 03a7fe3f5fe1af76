"""The dashboard's admin pages: accounts, API keys and callback deliveries.

Each action calls the admin API's own handler (api/admin/accounts.py, api/admin/keys.py,
api/mj/callbacks.py) and renders the refreshed table for htmx to swap in, so the rules, checks and error
messages are exactly the JSON API's. Every route needs an admin viewer; a state change authenticated by
the session cookie also needs the CSRF header (api/dashboard/sessions.py).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ...store.outbox import DeliveryStatus
from ..admin import accounts as admin_accounts
from ..admin import keys as admin_keys
from ..errors import ApiError
from ..mj import callbacks as mj_callbacks
from ..mj.callbacks import delivery_of, event_view
from ..mj.routes import service_of
from .web import PREFIX, Viewer, forbidden, render, to_login, viewer_of

router = APIRouter(include_in_schema=False)
AccountOp = Literal["enable", "disable", "reset", "reconnect", "sync"]
CALLBACK_PAGE = 100


async def _admin(request: Request) -> Viewer | Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_login(request) if request.method == "GET" else Response(
            "sign in again", status_code=401, headers={"HX-Redirect": PREFIX + "/login"})
    if not viewer.is_admin:
        return forbidden(request, viewer)
    return viewer


def _message(exc: ApiError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
    return str(detail or exc.body)


async def _attempt(call: Awaitable[Any]) -> tuple[Any, str | None]:
    try:
        return await call, None
    except (ApiError, ValidationError) as exc:
        return None, _message(exc)


# -- accounts -----------------------------------------------------------------------------------------


def _accounts(request: Request) -> list[dict[str, Any]]:
    manager = admin_accounts.manager_of(request)
    return [admin_accounts.account_json(manager, d.id) for d in manager.definitions()]


def _accounts_table(request: Request, viewer: Viewer, notice: str | None = None, error: str | None = None,
                    status_code: int = 200) -> Response:
    return render(request, "_accounts.html", viewer, accounts=_accounts(request), notice=notice, error=error,
                  status_code=status_code)


@router.get(PREFIX + "/accounts")
async def accounts_page(request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    return render(request, "accounts.html", viewer, accounts=_accounts(request), notice=None, error=None)


@router.get(PREFIX + "/fragments/accounts")
async def accounts_fragment(request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    return _accounts_table(request, viewer)


@router.post(PREFIX + "/accounts/create")
async def create_account(request: Request, name: str = Form(""), guildId: str = Form(""),
                         channelId: str = Form(""), userToken: str = Form(""), coreSize: int = Form(3),
                         queueSize: int = Form(10), remark: str = Form("")) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    manager = admin_accounts.manager_of(request)

    async def create() -> dict[str, Any]:
        body = admin_accounts.AccountCreateIn(name=name or None, guildId=guildId, channelId=channelId,
                                              userToken=userToken, coreSize=coreSize, queueSize=queueSize,
                                              remark=remark or None)
        return await admin_accounts.create_account(body, manager)

    created, error = await _attempt(create())
    if error is not None:
        return _accounts_table(request, viewer, error=f"Could not add the account: {error}", status_code=422)
    return _accounts_table(request, viewer, notice=f"Added account {created['name']} "
                                                   f"(token {created['userToken']}).")


@router.post(PREFIX + "/accounts/{account_id}/mode/{mode}")
async def account_mode(account_id: str, mode: str, request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    manager = admin_accounts.manager_of(request)
    answer, error = await _attempt(admin_accounts.set_mode(account_id, mode, manager))
    if error is not None:
        return _accounts_table(request, viewer, error=error, status_code=409)
    return _accounts_table(request, viewer, notice=f"{account_id}: {answer['mode']}. {answer['answer']}")


@router.post(PREFIX + "/accounts/{account_id}/{op}")
async def account_op(account_id: str, op: AccountOp, request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    manager = admin_accounts.manager_of(request)
    handlers = {"enable": admin_accounts.enable_account, "disable": admin_accounts.disable_account,
                "reset": admin_accounts.reset_account, "reconnect": admin_accounts.reconnect_account,
                "sync": admin_accounts.sync_info}
    done, error = await _attempt(handlers[op](account_id, manager))
    if error is not None:
        return _accounts_table(request, viewer, error=error, status_code=409)
    return _accounts_table(request, viewer, notice=f"{done['name']}: {op} done, now {done['state']}.")


# -- API keys -----------------------------------------------------------------------------------------


async def _keys(request: Request) -> list[dict[str, Any]]:
    return await admin_keys.list_keys(request)


@router.get(PREFIX + "/keys")
async def keys_page(request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    return render(request, "keys.html", viewer, keys=await _keys(request), created=None, error=None)


@router.post(PREFIX + "/keys/create")
async def create_key(request: Request, name: str = Form(""), scope: str = Form("user")) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer

    async def create() -> dict[str, Any]:
        return await admin_keys.create_key(admin_keys.KeyCreateIn(name=name, scope=scope), request)

    created, error = await _attempt(create())
    return render(request, "_keys.html", viewer, keys=await _keys(request), created=created, error=error,
                  status_code=422 if error else 200)


@router.post(PREFIX + "/keys/{key_id}/revoke")
async def revoke_key(key_id: str, request: Request) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    _, error = await _attempt(admin_keys.revoke_key(key_id, request))
    return render(request, "_keys.html", viewer, keys=await _keys(request), created=None, error=error,
                  status_code=404 if error else 200)


# -- callbacks ----------------------------------------------------------------------------------------


async def _callbacks(request: Request, status: str) -> dict[str, Any]:
    statuses = [DeliveryStatus(status)] if status in {s.value for s in DeliveryStatus} else [
        DeliveryStatus.DEAD, DeliveryStatus.PENDING]
    events, total = await delivery_of(request).store.page(statuses, offset=0, limit=CALLBACK_PAGE)
    return {"events": [event_view(e) for e in events], "total": total, "status": status,
            "statuses": [s.value for s in DeliveryStatus]}


@router.get(PREFIX + "/callbacks")
async def callbacks_page(request: Request, status: str = "", task: str = "") -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_login(request)
    # Anyone may look up the deliveries of a task they can see; the lists across tasks are for admins.
    task_events: list[dict[str, Any]] | None = None
    lookup_error = None
    if task.strip():
        found = await service_of(request).get(task.strip(), owner=viewer.principal.owner)
        if found is None:
            lookup_error = f"task {task.strip()} not found"
        else:
            task_events = [event_view(e) for e in await delivery_of(request).store.for_task(found.id)]
    listing = await _callbacks(request, status) if viewer.is_admin else None
    return render(request, "callbacks.html", viewer, listing=listing, task=task.strip(), task_events=task_events,
                  lookup_error=lookup_error, notice=None, error=None)


@router.post(PREFIX + "/callbacks/{event_id}/retry")
async def retry_callback(event_id: str, request: Request, status: str = Form(""), task: str = Form("")) -> Response:
    viewer = await _admin(request)
    if isinstance(viewer, Response):
        return viewer
    done, error = await _attempt(mj_callbacks.retry_callback(event_id, request))
    notice = None if error else f"Redelivering {done['revived']} event(s) of task {done['taskId']}."
    # From a task's page the task's own deliveries come back; from the list, the list.
    task_events = [event_view(e) for e in await delivery_of(request).store.for_task(task)] if task else None
    listing = None if task else await _callbacks(request, status)
    return render(request, "_callbacks.html", viewer, listing=listing, task=task, task_events=task_events,
                  lookup_error=None, notice=notice, error=error, status_code=409 if error else 200)
