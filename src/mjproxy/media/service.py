"""Everything images need at run time, built from ``[images]``: storage, pipeline, retention, usage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ImagesSettings
from ..domain.clock import Clock
from ..store.repository import TaskRepository
from .accounting import CountingStorage
from .download import Downloader
from .pipeline import ImagePipeline
from .retention import RetentionJob
from .storage import ImageStorage, LocalStorage, S3Storage, Usage


def build_storage(settings: ImagesSettings, data_dir: str) -> ImageStorage:
    if settings.backend == "s3":
        s3 = settings.s3
        return S3Storage(bucket=s3.bucket, prefix=s3.prefix, endpoint_url=s3.endpoint_url, region=s3.region,
                         access_key_id=s3.access_key_id, secret_access_key=s3.secret_access_key,
                         public_base_url=s3.public_base_url, presign_seconds=s3.presign_seconds,
                         addressing_style=s3.addressing_style, acl=s3.acl)
    return LocalStorage(Path(settings.local_dir or Path(data_dir) / "images"))


class MediaService:
    def __init__(self, settings: ImagesSettings, data_dir: str, clock: Clock, repo: TaskRepository,
                 base_url: Callable[[], str]) -> None:
        self.settings = settings
        self.backend = build_storage(settings, data_dir)
        self.storage = CountingStorage(self.backend)
        downloader = Downloader(clock, max_bytes=settings.max_bytes, timeout_seconds=settings.download_timeout_seconds,
                                attempts=settings.download_attempts, backoff_seconds=settings.retry_backoff_seconds)
        self.pipeline = ImagePipeline(self.storage, downloader, base_url=base_url, split_grids=settings.split_grids,
                                      thumbnail_size=settings.thumbnail_size,
                                      thumbnail_quality=settings.thumbnail_quality,
                                      split_format=settings.split_format)
        self.retention = RetentionJob(self.storage, repo, clock, retention_days=settings.retention_days,
                                      interval_seconds=settings.cleanup_interval_seconds)
        self._counted = False
        self._problem = ""

    async def start(self) -> None:
        try:
            await self.storage.recount()
            self._counted = True
        except Exception as exc:  # an unreachable bucket is reported by /healthz, not a reason not to start
            self._problem = f"storage unreachable at start-up: {type(exc).__name__}: {exc}"
        self.retention.start()

    async def stop(self) -> None:
        await self.retention.stop()
        await self.pipeline.aclose()

    async def cleanup(self) -> None:
        """One retention pass now (also what the background job runs)."""
        await self.retention.run_once()

    async def usage(self) -> Usage:
        return await self.storage.usage()

    async def health(self) -> dict[str, Any]:
        usage = await self.usage()
        view: dict[str, Any] = {"backend": self.storage.name, "bytes": usage.bytes, "files": usage.files,
                                "retentionDays": self.settings.retention_days}
        if not self._counted:
            view["error"] = self._problem
        return view
