"""API keys at run time: every active key's hash held in memory, so authentication costs no query.

The set of active keys is small (tens, not millions), so the whole set is cached rather than single
lookups: an unknown credential is refused from memory too, and no flood of bad keys reaches the store.
Changes made through this process (create, revoke) refresh the cache at once; changes made by another
process (``mjproxy keys revoke`` on the same database, another node) are picked up within
``refresh_seconds``, the bound on how long a revoked key keeps working.
"""

from __future__ import annotations

import asyncio
import hmac

from ..domain.api_keys import ApiKey, Scope, hash_key, looks_like_key
from ..domain.clock import Clock, SystemClock
from ..store.api_keys import ApiKeyRepository


class KeyRing:
    def __init__(self, repo: ApiKeyRepository, *, refresh_seconds: float = 5.0, clock: Clock | None = None) -> None:
        self._repo = repo
        self._refresh_seconds = refresh_seconds
        self._clock: Clock = clock or SystemClock()
        self._by_hash: dict[str, ApiKey] = {}
        self._any_created = False
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def repo(self) -> ApiKeyRepository:
        return self._repo

    async def load(self) -> None:
        active = await self._repo.active()
        self._any_created = bool(active) or await self._repo.any()
        self._by_hash = {key.key_hash: key for key in active}
        self._loaded_at = self._clock.monotonic()

    async def _fresh(self) -> None:
        loaded = self._loaded_at
        if loaded is not None and self._clock.monotonic() - loaded < self._refresh_seconds:
            return
        async with self._lock:  # one reload for a burst of requests, not one per request
            if self._loaded_at == loaded:
                await self.load()

    async def in_use(self) -> bool:
        """Whether keys were ever created. Revoking them all does not re-open a server they closed."""
        await self._fresh()
        return self._any_created

    async def find(self, credential: str) -> ApiKey | None:
        if not looks_like_key(credential):
            return None
        await self._fresh()
        digest = hash_key(credential)
        key = self._by_hash.get(digest)
        # The dict lookup already matched; the compare keeps the timing independent of the digest.
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            return None
        return key

    async def create(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        record, key = await self._repo.create(name, scope)
        await self.load()
        return record, key

    async def revoke(self, key_id: str) -> bool:
        revoked = await self._repo.revoke(key_id)
        await self.load()
        return revoked

    async def list(self) -> list[ApiKey]:
        return await self._repo.list()
