"""Stored images over HTTP: the public /media links, GET /mj/image/{taskId}, and fetch's withBase64.

``/media/{key}`` is what ``imageUrl`` / ``imageUrls`` point at: keys carry a random token, objects never
change (immutable caching), and a private S3 bucket is reached through a fresh presigned redirect so
stored links never expire. ``/mj/image`` is the authenticated way to the same bytes by task id.
"""

from __future__ import annotations

import asyncio
import base64
import os
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ...domain.task import Task
from ...engine.images import IMAGES_EXPIRED_KEY, MEDIA_KEY
from ...media.storage import IMMUTABLE, LocalStorage, StoredObject, content_type_of
from ..auth import Principal, require_user
from ..errors import ApiError

if TYPE_CHECKING:
    from ...media.service import MediaService
    from ...runtime import Runtime

OWNER_KEY = "_owner"
router = APIRouter()


def media_of(request: Request) -> MediaService | None:
    runtime: Runtime = request.app.state.runtime
    return runtime.media


@router.api_route("/media/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def media(key: str, request: Request) -> Response:
    service = media_of(request)
    if service is None:
        raise ApiError(404, "image storage is turned off (images.rehost = false)")
    storage = service.backend
    if isinstance(storage, LocalStorage):
        path = storage.path_of(key)
        try:
            stat = await asyncio.to_thread(os.stat, path) if path is not None else None
        except OSError:
            stat = None
        if path is None or stat is None or not S_ISREG(stat.st_mode):
            raise ApiError(404, f"no stored image {key}")
        # Streams from disk; its ETag (size + mtime) never changes since objects are written once.
        response = FileResponse(path, media_type=content_type_of(key), stat_result=stat,
                                headers={"Cache-Control": IMMUTABLE})
        etag = response.headers.get("etag")
        if etag and request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
        return response
    target = storage.public_url(key) or storage.presigned_url(key)
    if target is None:
        raise ApiError(404, f"no stored image {key}")
    # Short-lived presigned links must not be cached past their life; the redirect itself is cheap.
    return RedirectResponse(target, status_code=307, headers={"Cache-Control": "private, max-age=300"})


async def visible_task(request: Request, task_id: str, principal: Principal) -> Task:
    task: Task | None = await request.app.state.service.get(task_id)
    if task is None or (principal.owner is not None and task.extra.get(OWNER_KEY) != principal.owner):
        raise ApiError(404, f"task {task_id} not found")
    return task


def stored_key(task: Task, index: int | None, thumbnail: bool) -> str | None:
    media: dict[str, Any] = task.extra.get(MEDIA_KEY) or {}
    entry: dict[str, Any] | None = media if index is None else (media.get("parts") or {}).get(str(index))
    if not entry:
        return None
    key = entry.get("thumbnail" if thumbnail else "image")
    return str(key) if key else None


def missing_reason(task: Task, index: int | None) -> str:
    if task.extra.get(IMAGES_EXPIRED_KEY):
        return f"the images of task {task.id} were deleted by the retention policy"
    if not task.extra.get(MEDIA_KEY):
        return f"task {task.id} has no stored image (status {task.status.value})"
    return f"task {task.id} has no image {index}: only grids are split into images 1-4"


async def load_image(request: Request, task: Task, index: int | None = None,
                     thumbnail: bool = False) -> StoredObject | None:
    service = media_of(request)
    key = stored_key(task, index, thumbnail)
    if service is None or key is None:
        return None
    return await service.storage.get(key)


@router.get("/mj/image/{task_id}", tags=["task"], summary="The stored image of a task (index 1-4: one of the grid)",
            responses={200: {"content": {"image/png": {}, "image/webp": {}}}})
async def task_image(task_id: str, request: Request, principal: Principal = Depends(require_user),
                     index: int | None = Query(None, ge=1, le=4, description="1-4: U1..U4 of a grid"),
                     thumbnail: bool = Query(False, description="the WebP thumbnail instead")) -> Response:
    task = await visible_task(request, task_id, principal)
    found = await load_image(request, task, index, thumbnail)
    if found is None:
        raise ApiError(404, missing_reason(task, index))
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers={"ETag": found.etag})
    return Response(found.data, media_type=found.content_type,
                    headers={"ETag": found.etag, "Cache-Control": "private, max-age=31536000, immutable"})


async def with_base64(request: Request, task: Task, body: dict[str, Any]) -> dict[str, Any]:
    """fetch?withBase64=true: the stored image as a data URL in ``imageBase64`` (null when none is stored)."""
    found = await load_image(request, task)
    body["imageBase64"] = (f"data:{found.content_type};base64,{base64.b64encode(found.data).decode()}"
                           if found is not None else None)
    return body
