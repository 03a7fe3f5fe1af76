"""The midjourney-proxy ("open" + "plus") dialect under /mj, and the /mj-fast|relax|turbo prefixes."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ..domain.task import BotType, task_json
from ..engine.service import AccountFilter, ImagineRequest, SubmitCode, SubmitResult, TaskService
from .schemas import IdsIn, ImagineIn, SubmitResultOut

SPEED_PREFIXES = {"/mj-fast": "fast", "/mj-relax": "relax", "/mj-turbo": "turbo"}


class ApiError(Exception):
    """An error with an honest HTTP status and a clear message."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"detail": message}


def service_of(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


def require_secret(request: Request) -> None:
    secret: str = request.app.state.api_secret
    if not secret:
        return
    given = request.headers.get("mj-api-secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(401, "missing or invalid mj-api-secret header")


def speed_mode(request: Request) -> str | None:
    for prefix, mode in SPEED_PREFIXES.items():
        if request.url.path.startswith(prefix + "/"):
            return mode
    return None


router = APIRouter(dependencies=[Depends(require_secret)])


@router.post("/submit/imagine", response_model=SubmitResultOut, tags=["submit"],
             summary="Create images from a prompt (/imagine)")
async def submit_imagine(body: ImagineIn, request: Request) -> SubmitResultOut:
    if body.base64Array or body.base64:
        return SubmitResultOut.of(SubmitResult(SubmitCode.VALIDATION_ERROR,
                                               "reference images (base64Array) are not supported yet"))
    if body.botType == "NIJI_JOURNEY":
        return SubmitResultOut.of(SubmitResult(SubmitCode.VALIDATION_ERROR,
                                               "botType NIJI_JOURNEY is not supported yet"))
    account_filter = None
    if body.accountFilter is not None:
        account_filter = AccountFilter(instance_id=body.accountFilter.instanceId or body.accountFilter.channelId)
    result = await service_of(request).submit_imagine(ImagineRequest(
        prompt=body.prompt or "", bot_type=BotType(body.botType), state=body.state,
        notify_hook=body.notifyHook, account_filter=account_filter, mode=speed_mode(request)))
    return SubmitResultOut.of(result)


@router.get("/task/{task_id}/fetch", tags=["task"], summary="One task by id",
            response_model=dict[str, Any])
async def fetch_task(task_id: str, request: Request) -> JSONResponse:
    task = await service_of(request).get(task_id)
    if task is None:
        raise ApiError(404, f"task {task_id} not found")
    # The hot polling path: the dict is already plain JSON, so skip FastAPI's re-encoding pass.
    return JSONResponse(task_json(task))


@router.post("/task/list-by-condition", tags=["task"], summary="Tasks by ids (unknown ids are skipped)")
async def list_by_condition(body: IdsIn, request: Request) -> list[dict[str, Any]]:
    ids = body.ids or []
    if len(ids) > 1000:
        raise ApiError(400, "at most 1000 ids per request")
    return [task_json(t) for t in await service_of(request).get_many(ids)]


@router.post("/task/list-by-ids", tags=["task"], summary="Alias of list-by-condition")
async def list_by_ids(body: IdsIn, request: Request) -> list[dict[str, Any]]:
    return await list_by_condition(body, request)


@router.get("/task/list", tags=["task"], summary="All tasks, newest first, paged")
async def list_tasks(request: Request, page: int = Query(1, ge=1),
                     size: int = Query(100, ge=1, le=1000)) -> JSONResponse:
    tasks, total = await service_of(request).list_page(offset=(page - 1) * size, limit=size)
    return JSONResponse([task_json(t) for t in tasks],
                        headers={"X-Total-Count": str(total), "X-Page": str(page), "X-Page-Size": str(size)})


@router.get("/task/queue", tags=["task"], summary="Waiting and running tasks, oldest first")
async def task_queue(request: Request) -> list[dict[str, Any]]:
    return [task_json(t) for t in await service_of(request).queue()]
