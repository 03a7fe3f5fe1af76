"""The seam between the tracker and image re-hosting (implemented in ``media/``, wired in runtime.py).

A finished job's image is stored before the task is announced SUCCESS, so the engine needs to call
out; it does so through this small protocol rather than importing ``media`` (DESIGN: layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain.task import TaskAction

PENDING_IMAGE_KEY = "_pendingImage"  # the Discord URL being stored; the task waits at 100% meanwhile
DISCORD_IMAGE_KEY = "discordImageUrl"  # public: the original Discord link, in properties
THUMBNAIL_KEY = "thumbnailUrl"  # public: the WebP thumbnail of imageUrl, in properties
MEDIA_KEY = "_media"  # storage keys of what we hold for the task (the /mj/image route reads them)
IMAGES_EXPIRED_KEY = "imagesExpired"  # public: retention deleted the stored images

# Results that are a 2×2 grid of four images (U1..U4); upscales and single images are never split.
GRID_ACTIONS = frozenset({TaskAction.IMAGINE, TaskAction.VARIATION, TaskAction.REROLL, TaskAction.ZOOM,
                          TaskAction.PAN, TaskAction.BLEND})


@dataclass(frozen=True, slots=True)
class HostedImages:
    image_url: str
    thumbnail_url: str
    image_urls: list[dict[str, Any]] = field(default_factory=list)  # [{url, thumbnail, index}]
    media: dict[str, Any] = field(default_factory=dict)  # → task.extra[MEDIA_KEY]


class ImageHost(Protocol):
    async def store_result(self, task_id: str, action: TaskAction, source_url: str) -> HostedImages:
        """Download, split and store a finished job's image. Raises with a readable message on failure,
        having removed anything it stored for the task."""

    async def store_preview(self, task_id: str, source_url: str, percent: int) -> str:
        """Store one progress preview; returns its URL."""

    async def discard(self, task_id: str) -> None:
        """Delete everything stored for a task (it was cancelled or failed while its image was stored)."""


DISCORD_CDN = "https://cdn.discordapp.com"


def cdn_rewriter(cdn_base: str) -> Callable[[str], str] | None:
    """Rewrites Discord CDN links to ``cdn_base`` (``discord.cdn_base``: a reverse proxy); None keeps them."""
    if not cdn_base:
        return None

    def rewrite(url: str) -> str:
        return cdn_base + url[len(DISCORD_CDN):] if url.startswith(DISCORD_CDN) else url

    return rewrite
