"""The dashboard's task pages: sign-in, the gallery with its filters, one task, and the Create forms.

Pages read through the engine's use cases (``TaskService.list_page`` / ``get`` with the caller's owner,
exactly as ``/mj/task/*`` does) and show the same Task JSON; everything that changes a task is posted by
the page's script to the ``/mj/submit/*`` routes themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.task import TaskAction, TaskStatus, task_json
from ...store.repository import TaskFilter
from ..mj.callbacks import delivery_of, event_view
from ..mj.routes import service_of
from .sessions import COOKIE, DEFAULT_TTL_SECONDS, sessions_of
from .web import PREFIX, Viewer, render, safe_next, to_login, viewer_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 24
CHILDREN_LIMIT = 50


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/", status_code=303)


# -- sign-in ------------------------------------------------------------------------------------------


@router.get(PREFIX + "/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    viewer = await viewer_of(request)
    return render(request, "login.html", viewer, next=safe_next(next), error=None)


@router.post(PREFIX + "/login")
async def login(request: Request, key: str = Form(""), next: str = Form("")) -> Response:
    key = key.strip()
    authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(key) if key else None
    if principal is None:
        return render(request, "login.html", None, status_code=401, next=safe_next(next),
                      error="That key was not accepted. Paste an API key (mjp_…) or the server's secret.")
    store = sessions_of(request)
    assert store is not None
    token, _ = store.open(key)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, max_age=DEFAULT_TTL_SECONDS, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.post(PREFIX + "/logout")
async def logout(request: Request) -> Response:
    store = sessions_of(request)
    if store is not None:
        store.close(request.cookies.get(COOKIE))
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- tasks --------------------------------------------------------------------------------------------


def _choice(value: str | None, allowed: type[TaskStatus] | type[TaskAction]) -> Any:
    if not value:
        return None
    try:
        return allowed(value)
    except ValueError:
        return None


async def _filter_options(request: Request, viewer: Viewer) -> dict[str, Any]:
    """Accounts and keys to filter by: an admin's choice only (a user key sees only its own tasks anyway)."""
    if not viewer.is_admin:
        return {"accounts": [], "keys": []}
    runtime = request.app.state.runtime
    manager = runtime.accounts_manager
    accounts = [{"id": d.id, "name": d.name or d.id} for d in manager.definitions()] if manager else []
    keyring = request.app.state.authenticator.keys
    keys = [r.to_json() for r in await keyring.list()] if keyring is not None else []
    return {"accounts": accounts, "keys": keys}


async def _gallery(request: Request, viewer: Viewer, status: str | None, action: str | None, account: str | None,
                   key: str | None, page: int) -> dict[str, Any]:
    chosen_status = _choice(status, TaskStatus)
    chosen_action = _choice(action, TaskAction)
    narrow = TaskFilter(actions=[chosen_action] if chosen_action else None,
                        account_id=(account or None) if viewer.is_admin else None,
                        owner=(key or None) if viewer.is_admin else None)
    tasks, total = await service_of(request).list_page(
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, owner=viewer.principal.owner,
        statuses=[chosen_status] if chosen_status else None, narrow=narrow)
    filters = {"status": chosen_status.value if chosen_status else "",
               "action": chosen_action.value if chosen_action else "",
               "account": narrow.account_id or "", "key": narrow.owner or ""}
    return {"tasks": [task_json(t) for t in tasks], "total": total, "page": page,
            "more": page * PAGE_SIZE < total, "filters": filters}


@router.get(PREFIX + "/")
async def tasks_page(request: Request, status: str | None = None, action: str | None = None,
                     account: str | None = None, key: str | None = None,
                     page: int = Query(1, ge=1, le=10_000)) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_login(request)
    gallery = await _gallery(request, viewer, status, action, account, key, page)
    return render(request, "tasks.html", viewer, statuses=list(TaskStatus), actions=list(TaskAction),
                  **gallery, **await _filter_options(request, viewer))


@router.get(PREFIX + "/fragments/tasks")
async def tasks_fragment(request: Request, status: str | None = None, action: str | None = None,
                         account: str | None = None, key: str | None = None,
                         page: int = Query(1, ge=1, le=10_000)) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return Response(status_code=401, headers={"HX-Redirect": PREFIX + "/login"})
    gallery = await _gallery(request, viewer, status, action, account, key, page)
    return render(request, "_gallery.html", viewer, **gallery)


@router.get(PREFIX + "/tasks/{task_id}")
async def task_page(task_id: str, request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_login(request)
    service = service_of(request)
    owner = viewer.principal.owner
    task = await service.get(task_id, owner=owner)
    if task is None:
        return render(request, "not_found.html", viewer, status_code=404, what=f"task {task_id}")
    parent = await service.get(task.parent_id, owner=owner) if task.parent_id else None
    children, _ = await service.list_page(offset=0, limit=CHILDREN_LIMIT, owner=owner,
                                          narrow=TaskFilter(parent_id=task.id))
    callbacks = [event_view(e) for e in await delivery_of(request).store.for_task(task.id)]
    return render(request, "task.html", viewer, task=task_json(task),
                  parent=task_json(parent) if parent else None, children=[task_json(c) for c in children],
                  callbacks=callbacks)


@router.get(PREFIX + "/create")
async def create_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_login(request)
    return render(request, "create.html", viewer)
