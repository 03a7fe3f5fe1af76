"""Humane pacing: a minimum, jittered gap between the interactions of one account (landscape R7).

Accounts driven at machine speed get banned; operators space their clicks and commands by seconds with
some randomness. One :class:`Pacer` per account sits in front of every interaction it sends (slash
command, button click, modal submit).

The gap is between the *starts* of consecutive interactions, so time spent on the request itself counts
towards it. Each caller reserves its start time synchronously, before it awaits anything, which gives
concurrent callers first-come-first-served order without a lock. A caller cancelled while waiting keeps
its reservation: the next one may wait a little longer than needed, never less.
"""

from __future__ import annotations

import random

from ..domain.clock import Clock


class Pacer:
    def __init__(self, min_interval: float, jitter: float, clock: Clock, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._min_interval = 0.0
        self._jitter = 0.0
        self._last_start: float | None = None  # the latest reserved start, on the monotonic clock
        self._next_start = 0.0  # when the interaction after it may start
        self.update(min_interval, jitter)

    @property
    def enabled(self) -> bool:
        return self._min_interval > 0 or self._jitter > 0

    def update(self, min_interval: float, jitter: float) -> None:
        """Change the pacing (an operator edited the account). The gap after the latest start is drawn
        again, so turning pacing off frees the next caller at once; callers already asleep keep theirs."""
        if min_interval < 0 or jitter < 0:
            raise ValueError("pacing interval and jitter must not be negative")
        self._min_interval, self._jitter = min_interval, jitter
        if self._last_start is not None:
            self._next_start = self._last_start + self._gap()

    async def wait(self) -> float:
        """Wait until this account may start its next interaction; returns the seconds waited."""
        if not self.enabled:
            return 0.0  # the default: no clock read, no state, no await
        now = self._clock.monotonic()
        start = now if self._last_start is None or self._next_start <= now else self._next_start
        self._last_start = start
        self._next_start = start + self._gap()
        delay = start - now
        if delay > 0:
            await self._clock.sleep(delay)
        return delay

    def _gap(self) -> float:
        return self._min_interval + (self._rng.uniform(0.0, self._jitter) if self._jitter > 0 else 0.0)
