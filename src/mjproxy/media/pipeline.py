"""The re-hosting pipeline: download → render (worker thread) → store → URLs. Implements engine.images.ImageHost."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ..domain.task import TaskAction
from ..engine.images import GRID_ACTIONS, HostedImages
from .download import Downloader
from .render import RenderedImages, Rendition, render
from .storage import ImageStorage

log = logging.getLogger(__name__)


class ImagePipeline:
    def __init__(self, storage: ImageStorage, downloader: Downloader, *, base_url: Callable[[], str],
                 split_grids: bool = True, thumbnail_size: int = 256, thumbnail_quality: int = 80,
                 split_format: str = "webp") -> None:
        self.storage = storage
        self.downloader = downloader
        self._base_url = base_url
        self._split_grids = split_grids
        self._thumbnail_size = thumbnail_size
        self._thumbnail_quality = thumbnail_quality
        self._split_format = split_format

    def url_of(self, key: str) -> str:
        """A stable link: the backend's public URL, else mjproxy's own /media route (which redirects to a
        fresh presigned link for private buckets, so stored task JSON never holds a link that expires)."""
        return self.storage.public_url(key) or f"{self._base_url()}/media/{quote(key)}"

    async def store_result(self, task_id: str, action: TaskAction, source_url: str) -> HostedImages:
        data = await self.downloader.fetch(source_url)
        split = self._split_grids and action in GRID_ACTIONS
        rendered = await asyncio.to_thread(render, data, split=split, thumbnail_size=self._thumbnail_size,
                                           thumbnail_quality=self._thumbnail_quality, split_format=self._split_format)
        try:
            return await self._store(task_id, rendered)
        except BaseException:
            await self._discard_quietly(task_id)
            raise

    async def _store(self, task_id: str, rendered: RenderedImages) -> HostedImages:
        folder = f"{task_id}/{secrets.token_urlsafe(9)}"
        planned: list[tuple[str, Rendition]] = [
            (f"{folder}/image.{rendered.original.extension}", rendered.original),
            (f"{folder}/image.thumb.webp", rendered.thumbnail)]
        for index, (part, thumb) in enumerate(rendered.parts, start=1):
            planned.append((f"{folder}/{index}.{part.extension}", part))
            planned.append((f"{folder}/{index}.thumb.webp", thumb))
        await asyncio.gather(*(self.storage.put(key, item.data, item.content_type) for key, item in planned))
        image_key, thumbnail_key = planned[0][0], planned[1][0]
        parts: dict[str, Any] = {}
        image_urls: list[dict[str, Any]] = []
        for index in range(1, len(rendered.parts) + 1):
            part_key, part_thumb = planned[2 * index][0], planned[2 * index + 1][0]
            parts[str(index)] = {"image": part_key, "thumbnail": part_thumb}
            image_urls.append({"url": self.url_of(part_key), "thumbnail": self.url_of(part_thumb), "index": index})
        media = {"image": image_key, "thumbnail": thumbnail_key, "parts": parts,
                 "size": [rendered.original.width, rendered.original.height]}
        return HostedImages(self.url_of(image_key), self.url_of(thumbnail_key), image_urls, media)

    async def store_preview(self, task_id: str, source_url: str, percent: int) -> str:
        data = await self.downloader.fetch(source_url)
        extension = source_url.split("?", 1)[0].rsplit(".", 1)[-1].lower()
        extension = extension if extension in ("png", "webp", "jpg", "jpeg", "gif") else "webp"
        key = f"{task_id}/{secrets.token_urlsafe(9)}/preview-{percent}.{extension}"
        await self.storage.put(key, data, f"image/{'jpeg' if extension == 'jpg' else extension}")
        return self.url_of(key)

    async def discard(self, task_id: str) -> None:
        await self.storage.delete_task(task_id)

    async def _discard_quietly(self, task_id: str) -> None:
        try:
            await self.storage.delete_task(task_id)
        except Exception:
            log.exception("could not remove the partial images of task %s", task_id)

    async def aclose(self) -> None:
        await self.downloader.aclose()
        await self.storage.close()
