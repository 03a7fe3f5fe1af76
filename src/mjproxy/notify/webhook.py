"""Notify hooks: POST the full Task JSON to the task's hook on every change.

Delivery is in order per task (one sender per task at a time) and concurrent across tasks. This is the
simple, best-effort delivery of midjourney-proxy (one attempt, failures logged); the durable outbox
with retries and signatures replaces it later without changing what subscribers see.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import httpx

from ..engine.events import EventBus, TaskChanged
from ..net.guard import FetchPolicy, FetchRefused, GuardedClient
from .formats import render_callback

log = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(self, bus: EventBus, *, timeout_seconds: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None, fetch_policy: FetchPolicy | None = None,
                 trusted_hooks: frozenset[str] = frozenset()) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport,
                                         headers={"User-Agent": "mjproxy-notify/1"})
        # Client-supplied hooks go through the SSRF guard; the operator's own (server.notify_hook) need not.
        self._guarded = None if fetch_policy is None else GuardedClient(
            fetch_policy, headers={"User-Agent": "mjproxy-notify/1"}, transport=transport)
        self._trusted_hooks = trusted_hooks
        self._pending: dict[str, deque[tuple[str, dict[str, Any]]]] = {}
        self._senders: set[asyncio.Task[None]] = set()
        self._unsubscribe = bus.subscribe(self._on_change)
        self.delivered = 0
        self.failed = 0

    def _on_change(self, event: TaskChanged) -> None:
        hook = event.snapshot["properties"].get("notifyHook")
        if not hook or event.status == "NOT_START":
            return
        queue = self._pending.get(event.task_id)
        if queue is not None:
            queue.append((hook, render_callback(event.snapshot)))
            return
        self._pending[event.task_id] = deque([(hook, render_callback(event.snapshot))])
        sender = asyncio.get_running_loop().create_task(self._send_all(event.task_id))
        self._senders.add(sender)
        sender.add_done_callback(self._senders.discard)

    async def _send_all(self, task_id: str) -> None:
        queue = self._pending[task_id]
        try:
            while queue:
                hook, body = queue.popleft()
                await self._send(hook, body)
        finally:
            self._pending.pop(task_id, None)

    async def _send(self, hook: str, body: dict[str, Any]) -> None:
        try:
            if self._guarded is None or hook in self._trusted_hooks:
                response = await self._client.post(hook, json=body)
            else:
                response = await self._guarded.post(hook, json=body, follow_redirects=False)
            if response.status_code >= 300:
                self.failed += 1
                log.warning("notify hook answered %s", response.status_code)
            else:
                self.delivered += 1
        except httpx.HTTPError as exc:
            self.failed += 1
            log.warning("notify hook failed: %s", type(exc).__name__)
        except (FetchRefused, TimeoutError) as exc:
            self.failed += 1
            log.warning("notify hook refused: %s", exc)

    async def aclose(self) -> None:
        self._unsubscribe()
        if self._senders:
            await asyncio.wait(self._senders, timeout=5)
        await self._client.aclose()
        if self._guarded is not None:
            await self._guarded.aclose()
