"""Retention: delete the stored images of tasks finished longer ago than the retention period.

The storage is the index: every task with stored images is one prefix, so the job needs no table of
its own. A task whose images are deleted keeps its record; its ``imageUrl`` goes back to the original
Discord link (which has usually expired by then: Discord signs links for about a day), ``imageUrls``
and ``thumbnailUrl`` are emptied and ``properties.imagesExpired`` is set, so a client can tell
"expired by policy" from "never stored".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..domain.clock import Clock, now_ms
from ..domain.task import Task
from ..engine.images import DISCORD_IMAGE_KEY, IMAGES_EXPIRED_KEY, MEDIA_KEY, THUMBNAIL_KEY
from ..store.repository import TaskRepository
from .storage import ImageStorage

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(slots=True)
class CleanupReport:
    tasks: int = 0  # tasks whose images were deleted
    orphans: int = 0  # stored prefixes whose task no longer exists
    objects: int = 0


def submitted_ms(task_id: str) -> int:
    """Task ids are epoch milliseconds followed by three digits (domain/ids.py); unknown shapes never expire."""
    if len(task_id) < 16 or not task_id.isdigit():
        return 1 << 62
    return int(task_id[:-3])


def expire_images(task: Task) -> None:
    """What a task looks like once its stored images are gone (see the module docstring)."""
    task.image_url = task.extra.get(DISCORD_IMAGE_KEY) or None
    task.image_urls = []
    task.extra.pop(THUMBNAIL_KEY, None)
    task.extra.pop(MEDIA_KEY, None)
    task.extra[IMAGES_EXPIRED_KEY] = True


class RetentionJob:
    def __init__(self, storage: ImageStorage, repo: TaskRepository, clock: Clock, *, retention_days: float,
                 interval_seconds: float) -> None:
        self._storage = storage
        self._repo = repo
        self._clock = clock
        self._retention_ms = int(retention_days * 86_400_000)
        self._interval = interval_seconds
        self._job: asyncio.Task[None] | None = None
        self.last: CleanupReport | None = None

    def start(self) -> None:
        if self._retention_ms > 0:
            self._job = asyncio.get_running_loop().create_task(self._loop(), name="image-retention")

    async def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            await asyncio.gather(self._job, return_exceptions=True)
            self._job = None

    async def run_once(self) -> CleanupReport:
        report = CleanupReport()
        cutoff = now_ms(self._clock) - self._retention_ms
        ids = await self._storage.task_ids()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            found = {task.id: task for task in await self._repo.get_many(chunk)}
            for task_id in chunk:
                task = found.get(task_id)
                if task is None:
                    # A task deleted from the store. Only once it is past retention itself: a prefix
                    # shared by mistake with another deployment must not lose its fresh images.
                    if submitted_ms(task_id) < cutoff:
                        report.orphans += 1
                        report.objects += (await self._storage.delete_task(task_id)).files
                    continue
                if not task.status.is_terminal or (task.finish_time or 0) > cutoff:
                    continue
                report.objects += (await self._storage.delete_task(task_id)).files
                expire_images(task)
                await self._repo.update(task)
                report.tasks += 1
        if report.tasks or report.orphans:
            log.info("image retention: deleted the images of %d task(s) and %d orphan(s), %d object(s)",
                     report.tasks, report.orphans, report.objects)
        self.last = report
        return report

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("image retention sweep failed")
            await self._clock.sleep(self._interval)
