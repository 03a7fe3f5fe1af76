"""Client-side rate limiting: REST buckets (per route template + major parameter) and the gateway
send window.

REST: Discord reports a bucket's budget in ``X-RateLimit-*`` headers. We learn, per route template,
the opaque bucket hash (so routes sharing a hash share a budget) and, per bucket + major parameter,
how many calls remain until when. A 429 stalls its bucket, or every call of the client when global.
All waiting goes through the injected :class:`Clock`, so tests control time.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mjproxy.discord.routes import Route
from mjproxy.domain.clock import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _BucketState:
    remaining: int | None = None  # None: unknown, let calls through
    reset_at: float = 0.0  # monotonic time at which the budget refills


class RateLimiter:
    """Per-account REST rate limiter: share one instance between all calls of a RestClient."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._hashes: dict[str, str] = {}  # route template key → Discord bucket hash
        self._buckets: dict[str, _BucketState] = {}
        self._global_until = 0.0

    # --- bookkeeping ---------------------------------------------------------------------------------

    def bucket_id(self, route: Route) -> str:
        """The learnt Discord hash (when known) plus the major parameters; otherwise the route's key."""
        bucket_hash = self._hashes.get(route.template_key)
        if bucket_hash is None:
            return route.bucket_key
        return f"{bucket_hash}:{route.major_parameters}"

    def _state(self, route: Route) -> _BucketState:
        return self._buckets.setdefault(self.bucket_id(route), _BucketState())

    @property
    def global_pause_remaining(self) -> float:
        return max(0.0, self._global_until - self._clock.monotonic())

    # --- waiting -------------------------------------------------------------------------------------

    async def wait_global(self) -> None:
        while (delay := self.global_pause_remaining) > 0:
            await self._clock.sleep(delay)

    async def wait(self, route: Route) -> None:
        """Block until ``route`` may be called, and reserve one call from its bucket's budget."""
        while True:
            await self.wait_global()
            state = self._state(route)
            now = self._clock.monotonic()
            if state.remaining is None:
                return
            if state.remaining > 0:
                state.remaining -= 1
                return
            if now >= state.reset_at:
                # The window has refilled but we do not know by how much: learn it from the answer.
                state.remaining = None
                return
            delay = state.reset_at - now
            log.debug("bucket %s exhausted, waiting %.3fs", self.bucket_id(route), delay)
            await self._clock.sleep(delay)

    @asynccontextmanager
    async def acquire(self, route: Route) -> AsyncIterator[None]:
        """``async with limiter.acquire(route): send…`` — then feed the answer to :meth:`update`."""
        await self.wait(route)
        yield

    # --- learning ------------------------------------------------------------------------------------

    def update(self, route: Route, headers: Mapping[str, str]) -> None:
        """Learn the bucket's budget from a response's ``X-RateLimit-*`` headers (often absent for users)."""
        bucket_hash = headers.get("x-ratelimit-bucket")
        if bucket_hash and self._hashes.get(route.template_key) != bucket_hash:
            before = self.bucket_id(route)
            self._hashes[route.template_key] = bucket_hash
            # What we knew under the old identity (a 429 stall, say) carries over to the learnt one.
            known = self._buckets.pop(before, None)
            if known is not None and self.bucket_id(route) not in self._buckets:
                self._buckets[self.bucket_id(route)] = known
        remaining = _parse_float(headers.get("x-ratelimit-remaining"))
        reset_after = _parse_float(headers.get("x-ratelimit-reset-after"))
        if remaining is None or reset_after is None:
            return
        state = self._state(route)
        state.remaining = int(remaining)
        state.reset_at = self._clock.monotonic() + reset_after

    def on_rate_limited(self, route: Route, retry_after: float, *, is_global: bool) -> None:
        """A 429 arrived: stall the bucket (or every call when global) for ``retry_after`` seconds."""
        until = self._clock.monotonic() + max(retry_after, 0.0)
        if is_global:
            self._global_until = max(self._global_until, until)
            return
        state = self._state(route)
        state.remaining = 0
        state.reset_at = max(state.reset_at, until)


class WindowRateLimiter:
    """At most ``limit`` events per sliding ``period`` seconds (the gateway's 120 payloads / 60 s)."""

    def __init__(self, limit: int, period: float, clock: Clock | None = None) -> None:
        self._limit = limit
        self._period = period
        self._clock = clock or SystemClock()
        self._stamps: collections.deque[float] = collections.deque()

    def _prune(self, now: float) -> None:
        while self._stamps and now - self._stamps[0] >= self._period:
            self._stamps.popleft()

    def record(self) -> None:
        """Count an event that must not wait (heartbeats): it still consumes headroom."""
        now = self._clock.monotonic()
        self._prune(now)
        self._stamps.append(now)

    async def acquire(self) -> None:
        while True:
            now = self._clock.monotonic()
            self._prune(now)
            if len(self._stamps) < self._limit:
                self._stamps.append(now)
                return
            await self._clock.sleep(self._period - (now - self._stamps[0]))


def _parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
