"""Everything images need at run time, built from ``[images]``: storage, pipeline, retention, usage."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ImagesSettings
from ..domain.clock import Clock
from ..store.repository import TaskRepository
from .download import Downloader
from .pipeline import ImagePipeline
from .retention import RetentionJob
from .storage import ImageStorage, LocalStorage, S3Storage, Usage

USAGE_CACHE_SECONDS = 10.0  # /healthz may be polled often; walking a large store is not free


def build_storage(settings: ImagesSettings, data_dir: str) -> ImageStorage:
    if settings.backend == "s3":
        s3 = settings.s3
        return S3Storage(bucket=s3.bucket, prefix=s3.prefix, endpoint_url=s3.endpoint_url, region=s3.region,
                         access_key_id=s3.access_key_id, secret_access_key=s3.secret_access_key,
                         public_base_url=s3.public_base_url, presign_seconds=s3.presign_seconds,
                         addressing_style=s3.addressing_style)
    return LocalStorage(Path(settings.local_dir or Path(data_dir) / "images"))


class MediaService:
    def __init__(self, settings: ImagesSettings, data_dir: str, clock: Clock, repo: TaskRepository,
                 base_url: Callable[[], str]) -> None:
        self.settings = settings
        self.storage = build_storage(settings, data_dir)
        downloader = Downloader(clock, max_bytes=settings.max_bytes, timeout_seconds=settings.download_timeout_seconds,
                                attempts=settings.download_attempts, backoff_seconds=settings.retry_backoff_seconds)
        self.pipeline = ImagePipeline(self.storage, downloader, base_url=base_url, split_grids=settings.split_grids,
                                      thumbnail_size=settings.thumbnail_size,
                                      thumbnail_quality=settings.thumbnail_quality)
        self.retention = RetentionJob(self.storage, repo, clock, retention_days=settings.retention_days,
                                      interval_seconds=settings.cleanup_interval_seconds)
        self._usage: tuple[float, Usage] | None = None

    def start(self) -> None:
        self.retention.start()

    async def stop(self) -> None:
        await self.retention.stop()
        await self.pipeline.aclose()

    async def cleanup(self) -> None:
        """One retention pass now (also what the background job runs)."""
        await self.retention.run_once()
        self._usage = None

    async def usage(self) -> Usage:
        if self._usage is None or time.monotonic() - self._usage[0] > USAGE_CACHE_SECONDS:
            self._usage = (time.monotonic(), await self.storage.usage())
        return self._usage[1]

    async def health(self) -> dict[str, Any]:
        view: dict[str, Any] = {"backend": self.storage.name, "retentionDays": self.settings.retention_days}
        try:
            usage = await self.usage()
        except Exception as exc:  # an unreachable bucket must not take /healthz down with it
            return view | {"error": f"storage unreachable: {type(exc).__name__}"}
        return view | {"bytes": usage.bytes, "files": usage.files}
