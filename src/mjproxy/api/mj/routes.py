"""The midjourney-proxy ("open" + "plus") dialect under /mj, and the /mj-fast|relax|turbo prefixes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ...domain.account import SpeedMode
from ...domain.task import BotType, task_json
from ...engine.actions import ActionRequest, Actions
from ...engine.service import AccountFilter, ImagineRequest, SubmitCode, TaskService
from ...engine.submissions import Common, Submissions
from ..auth import Principal, require_user
from ..errors import ApiError
from ..paging import MAX_PAGE
from . import images
from .encoding import TaskJSONResponse
from .schemas import (
    AccountFilterIn,
    ActionIn,
    BlendIn,
    BotRequest,
    ChangeIn,
    DescribeIn,
    IdsIn,
    ImagineIn,
    ModalIn,
    SeedResultOut,
    ShortenIn,
    SimpleChangeIn,
    SubmitResultOut,
    SwapFaceIn,
    UploadImagesIn,
    UploadResultOut,
)

SPEED_PREFIXES = {"/mj-fast": "fast", "/mj-relax": "relax", "/mj-turbo": "turbo"}


def service_of(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


def submissions_of(request: Request) -> Submissions:
    return Submissions(service_of(request))


def actions_of(request: Request) -> Actions:
    return Actions(service_of(request))


def account_filter(value: AccountFilterIn | None) -> AccountFilter | None:
    if value is None:
        return None
    return AccountFilter(instance_id=value.instanceId or value.channelId,
                         modes=tuple(SpeedMode(m.lower()) for m in value.modes or ()),
                         remark=value.remark or None, remix=value.remix,
                         remix_auto_considered=bool(value.remixAutoConsidered))


def owner_of(request: Request) -> str | None:
    """The owner the caller's tasks carry and the only one it may read (None: admin, sees all)."""
    principal: Principal = request.state.principal  # set by require_user, a dependency of every route
    return principal.owner


def common(body: BotRequest, request: Request) -> Common:
    return Common(bot_type=BotType(body.botType), state=body.state, notify_hook=body.notifyHook,
                  account_filter=account_filter(body.accountFilter), mode=speed_mode(request),
                  owner=owner_of(request))


def speed_mode(request: Request) -> str | None:
    for prefix, mode in SPEED_PREFIXES.items():
        if request.url.path.startswith(prefix + "/"):
            return mode
    return None


router = APIRouter(dependencies=[Depends(require_user)])


@router.post("/submit/imagine", response_model=SubmitResultOut, tags=["submit"],
             summary="Create images from a prompt (/imagine), optionally with image prompts")
async def submit_imagine(body: ImagineIn, request: Request) -> SubmitResultOut:
    images = [*(body.base64Array or []), *([body.base64] if body.base64 else [])]
    result = await service_of(request).submit_imagine(ImagineRequest(
        prompt=body.prompt or "", bot_type=BotType(body.botType), state=body.state,
        notify_hook=body.notifyHook, account_filter=account_filter(body.accountFilter), mode=speed_mode(request),
        owner=owner_of(request), images=tuple(images)))
    return SubmitResultOut.of(result)


@router.post("/submit/describe", response_model=SubmitResultOut, tags=["submit"],
             summary="Four prompts that describe an image (/describe)")
async def submit_describe(body: DescribeIn, request: Request) -> SubmitResultOut:
    return SubmitResultOut.of(await submissions_of(request).describe(body.base64, body.link, common(body, request)))


@router.post("/submit/blend", response_model=SubmitResultOut, tags=["submit"],
             summary="Blend 2 to 5 images (/blend)")
async def submit_blend(body: BlendIn, request: Request) -> SubmitResultOut:
    result = await submissions_of(request).blend(body.base64Array, body.dimensions, common(body, request))
    return SubmitResultOut.of(result)


@router.post("/submit/shorten", response_model=SubmitResultOut, tags=["submit"],
             summary="Analyse a prompt and propose shorter ones (/shorten)")
async def submit_shorten(body: ShortenIn, request: Request) -> SubmitResultOut:
    return SubmitResultOut.of(await submissions_of(request).shorten(body.prompt or "", common(body, request)))


@router.post("/submit/action", response_model=SubmitResultOut, tags=["submit"],
             summary="Press a button of a finished task (U1–U4, V1–V4, 🔄, Vary, Zoom, Pan, …)")
async def submit_action(body: ActionIn, request: Request) -> SubmitResultOut:
    result = await actions_of(request).action(ActionRequest(body.taskId or "", body.customId or "",
                                                            state=body.state, notify_hook=body.notifyHook,
                                                            owner=owner_of(request)))
    return SubmitResultOut.of(result)


@router.post("/submit/modal", response_model=SubmitResultOut, tags=["submit"],
             summary="Confirm a MODAL task (code 21) with a prompt and, for Vary (Region), a mask")
async def submit_modal(body: ModalIn, request: Request) -> SubmitResultOut:
    return SubmitResultOut.of(await actions_of(request).modal(body.taskId or "", body.prompt, body.maskBase64,
                                                              owner=owner_of(request)))


@router.post("/submit/change", response_model=SubmitResultOut, tags=["submit"],
             summary="Open-edition U/V/R on a grid: {taskId, action, index}")
async def submit_change(body: ChangeIn, request: Request) -> SubmitResultOut:
    result = await actions_of(request).change(body.taskId or "", body.action or "", body.index, state=body.state,
                                              notify_hook=body.notifyHook, owner=owner_of(request))
    return SubmitResultOut.of(result)


@router.post("/submit/simple-change", response_model=SubmitResultOut, tags=["submit"],
             summary="Open-edition U/V/R as text: {content: '<taskId> U2'}")
async def submit_simple_change(body: SimpleChangeIn, request: Request) -> SubmitResultOut:
    result = await actions_of(request).simple_change(body.content or "", state=body.state,
                                                     notify_hook=body.notifyHook, owner=owner_of(request))
    return SubmitResultOut.of(result)


@router.post("/submit/upload-discord-images", response_model=UploadResultOut, tags=["submit"],
             summary="Upload images to Discord and return their attachment URLs")
async def upload_discord_images(body: UploadImagesIn, request: Request) -> UploadResultOut:
    result, urls = await submissions_of(request).upload_images(body.base64Array,
                                                                account_filter(body.accountFilter or body.filter))
    return UploadResultOut(code=int(result.code), description=result.description, result=urls)


@router.post("/insight-face/swap", response_model=SubmitResultOut, tags=["submit"],
             summary="Swap the face of the source image onto the target (InsightFace bot)")
async def swap_face(body: SwapFaceIn, request: Request) -> SubmitResultOut:
    result = await submissions_of(request).swap_face(body.sourceBase64 or "", body.targetBase64 or "",
                                                      Common(state=body.state, notify_hook=body.notifyHook,
                                                             owner=owner_of(request)))
    return SubmitResultOut.of(result)


@router.get("/task/{task_id}/image-seed", response_model=SeedResultOut, tags=["task"],
            summary="The seed of a finished job (through /show and ✉️ in the bot's DM)")
async def image_seed(task_id: str, request: Request) -> JSONResponse:
    result = await actions_of(request).seed(task_id, owner=owner_of(request))
    status = 404 if result.code == SubmitCode.NOT_FOUND else 200
    return JSONResponse({"code": int(result.code), "description": result.description, "result": result.result},
                        status_code=status)


@router.get("/task/{task_id}/fetch", tags=["task"], summary="One task by id",
            response_model=dict[str, Any])
async def fetch_task(task_id: str, request: Request,
                     withBase64: bool = Query(False, description="add the stored image as a data URL")) -> JSONResponse:
    task = await service_of(request).get(task_id, owner=owner_of(request))
    if task is None:
        raise ApiError(404, f"task {task_id} not found")
    # The plain case is answered by fast_fetch.py in front of FastAPI; this route serves the rest and must
    # answer the same bytes. The dict is already plain JSON, so FastAPI's re-encoding pass is skipped.
    body = task_json(task)
    if withBase64:
        body = await images.with_base64(request, task, body)
    return TaskJSONResponse(body)


@router.post("/task/list-by-condition", tags=["task"], summary="Tasks by ids (unknown ids are skipped)")
async def list_by_condition(body: IdsIn, request: Request) -> list[dict[str, Any]]:
    ids = body.ids or []
    if len(ids) > 1000:
        raise ApiError(400, "at most 1000 ids per request")
    return [task_json(t) for t in await service_of(request).get_many(ids, owner=owner_of(request))]


@router.post("/task/list-by-ids", tags=["task"], summary="Alias of list-by-condition")
async def list_by_ids(body: IdsIn, request: Request) -> list[dict[str, Any]]:
    return await list_by_condition(body, request)


@router.get("/task/list", tags=["task"], summary="All tasks, newest first, paged")
async def list_tasks(request: Request, page: int = Query(1, ge=1, le=MAX_PAGE),
                     size: int = Query(100, ge=1, le=1000)) -> JSONResponse:
    tasks, total = await service_of(request).list_page(offset=(page - 1) * size, limit=size,
                                                       owner=owner_of(request))
    return TaskJSONResponse([task_json(t) for t in tasks],
                            headers={"X-Total-Count": str(total), "X-Page": str(page), "X-Page-Size": str(size)})


@router.get("/task/queue", tags=["task"], summary="Waiting and running tasks, oldest first")
async def task_queue(request: Request) -> list[dict[str, Any]]:
    return [task_json(t) for t in await service_of(request).queue(owner=owner_of(request))]
