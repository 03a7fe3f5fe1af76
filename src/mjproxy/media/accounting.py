"""Storage usage for /healthz without walking the store on every request.

The store is walked once at start-up; after that every write and delete goes through this wrapper,
which keeps the totals. Keys are never overwritten (each result gets a fresh random folder), so a put
always adds a file.
"""

from __future__ import annotations

from .storage import ImageStorage, StoredObject, Usage


class CountingStorage:
    def __init__(self, inner: ImageStorage) -> None:
        self.inner = inner
        self.name = inner.name
        self._bytes = 0
        self._files = 0

    async def recount(self) -> Usage:
        found = await self.inner.usage()
        self._bytes, self._files = found.bytes, found.files
        return found

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.inner.put(key, data, content_type)
        self._bytes += len(data)
        self._files += 1

    async def get(self, key: str) -> StoredObject | None:
        return await self.inner.get(key)

    def public_url(self, key: str) -> str | None:
        return self.inner.public_url(key)

    def presigned_url(self, key: str) -> str | None:
        return self.inner.presigned_url(key)

    async def delete_task(self, task_id: str) -> Usage:
        deleted = await self.inner.delete_task(task_id)
        self._bytes = max(0, self._bytes - deleted.bytes)
        self._files = max(0, self._files - deleted.files)
        return deleted

    async def task_ids(self) -> list[str]:
        return await self.inner.task_ids()

    async def usage(self) -> Usage:
        return Usage(self._bytes, self._files)

    async def close(self) -> None:
        await self.inner.close()
