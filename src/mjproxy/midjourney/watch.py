"""Short-lived subscriptions to an account's raw gateway traffic, for flows with several steps.

A flow registers what it waits for *before* it sends the request (the answer can beat Discord's 204),
then reads matching dispatches from a queue. Everything still flows to the tracker as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

Dispatch = tuple[str, dict[str, Any]]
Predicate = Callable[[str, dict[str, Any]], bool]


class WaitTimeout(Exception):
    """The bot did not answer a step of a flow in time; the message says which step."""


class Watch:
    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate
        self.queue: asyncio.Queue[Dispatch] = asyncio.Queue()

    async def next(self, timeout: float, what: str) -> Dispatch:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise WaitTimeout(f"no answer from Discord within {timeout:g} s while waiting for {what}") from None


class Watchers:
    def __init__(self) -> None:
        self._active: list[Watch] = []

    def feed(self, event: str, data: dict[str, Any]) -> None:
        for watch in self._active:
            if watch.predicate(event, data):
                watch.queue.put_nowait((event, data))

    @asynccontextmanager
    async def watch(self, predicate: Predicate) -> AsyncIterator[Watch]:
        watch = Watch(predicate)
        self._active.append(watch)
        try:
            yield watch
        finally:
            self._active.remove(watch)
