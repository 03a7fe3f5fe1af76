"""The durable callback outbox: every task change with a callback URL becomes a stored event, then a POST.

Two halves. :class:`OutboxJournal` turns task changes into outbox rows that the group committer writes
in the same transaction as the changes themselves, so a change that was stored (and may have been seen by
a client) can never lose its callback, whatever crashes afterwards. :class:`OutboxDelivery` sends them:
at least once, strictly in sequence per task, many tasks at a time, retrying with exponential backoff and
jitter until the event's age limit, after which it is marked dead with its last error. Everything it
needs is in the store, so pending events simply carry on after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..domain.clock import Clock, now_ms
from ..engine.events import EventBus, TaskChanged
from ..net.guard import GuardedClient
from ..store.outbox import INSERT_EVENT, DeliveryStatus, OutboxEvent, OutboxStore, event_row
from ..store.repository import SideWrite
from .formats import render_callback
from .signing import EVENT_ID_HEADER, SEQUENCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

if TYPE_CHECKING:
    from ..config import WebhookSettings

log = logging.getLogger(__name__)

USER_AGENT = "mjproxy-notify/2"
ERROR_SNIPPET = 200  # characters of a failing receiver's answer kept as the event's last error


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    secret: str = ""
    max_age_seconds: float = 24 * 3600
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    concurrency: int = 16
    poll_seconds: float = 5.0
    keep_delivered_seconds: float = 7 * 24 * 3600

    @classmethod
    def of(cls, settings: WebhookSettings) -> OutboxPolicy:
        return cls(secret=settings.secret, max_age_seconds=settings.max_age_seconds,
                   retry_base_seconds=settings.retry_base_seconds, retry_max_seconds=settings.retry_max_seconds,
                   concurrency=settings.concurrency, poll_seconds=settings.poll_seconds,
                   keep_delivered_seconds=settings.keep_delivered_days * 86_400)

    def backoff_seconds(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Delay before the next try after ``attempts`` failures: doubling, capped, with "equal jitter" (half
        fixed, half random) so that a receiver coming back is not hit by every sender at the same instant."""
        step = min(self.retry_max_seconds, self.retry_base_seconds * 2.0 ** max(0, attempts - 1))
        return float(step / 2 + rand() * step / 2)


def callback_url(event: TaskChanged) -> str | None:
    """Where this change is to be POSTed, or None (no hook, or a task not yet submitted)."""
    if event.status == "NOT_START":
        return None  # midjourney-proxy never notifies NOT_START; its first callback is SUBMITTED
    hook = event.snapshot.get("properties", {}).get("notifyHook")
    return str(hook) if hook else None


class OutboxJournal:
    """The group committer's journal: one outbox row per task change that has a callback URL."""

    def __init__(self, db_store: OutboxStore, clock: Clock, policy: OutboxPolicy) -> None:
        self._store = db_store
        self._clock = clock
        self._policy = policy

    def writes_for(self, events: Sequence[TaskChanged]) -> list[SideWrite]:
        rows = [row for row in (self._row(event) for event in events) if row is not None]
        return [(INSERT_EVENT, rows)] if rows else []

    async def record(self, events: Sequence[TaskChanged]) -> None:
        writes = self.writes_for(events)
        if writes:
            await self._store.write(writes)

    def _row(self, event: TaskChanged) -> dict[str, Any] | None:
        url = callback_url(event)
        if url is None:
            return None
        try:
            body = json.dumps(render_callback(event.snapshot), ensure_ascii=False, separators=(",", ":"))
        except Exception:
            # A broken renderer must not fail the task change it rides with; the event is lost loudly.
            log.exception("could not render the callback of task %s", event.task_id)
            return None
        created = now_ms(self._clock)
        return event_row(event_id=uuid.uuid4().hex, task_id=event.task_id, url=url, body=body,
                         task_status=event.status, created_at=created,
                         give_up_at=created + int(self._policy.max_age_seconds * 1000))


class OutboxDelivery:
    """Sends due outbox events. ``client`` is injectable: production plugs in a guarded (SSRF-safe) client."""

    def __init__(self, store: OutboxStore, bus: EventBus, clock: Clock, policy: OutboxPolicy, *,
                 client: httpx.AsyncClient | None = None, timeout_seconds: float = 10.0,
                 guard: GuardedClient | None = None, trusted_urls: frozenset[str] = frozenset()) -> None:
        self._store = store
        # Client-supplied URLs are posted through the SSRF guard (every address checked at connect time);
        # the operator's own URLs (trusted_urls) through the plain client.
        self._guard = guard
        self._trusted_urls = trusted_urls
        self._clock = clock
        self._policy = policy
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._wakeup = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # task id → its one delivery under way
        self._loop_job: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(self._on_change)
        self._last_prune_ms = 0
        self._last_cascade_ms = 0
        self.delivered = 0
        self.failed = 0
        self.scans = 0  # passes over the outbox (tests check the worker does not spin)

    @property
    def policy(self) -> OutboxPolicy:
        return self._policy

    @property
    def store(self) -> OutboxStore:
        return self._store

    def start(self) -> None:
        if not self._policy.secret:
            log.warning("webhooks.secret is not set: callbacks are sent without X-MJProxy-Signature")
        self._loop_job = asyncio.get_running_loop().create_task(self._run(), name="outbox-delivery")

    def wake(self) -> None:
        self._wakeup.set()

    def _on_change(self, event: TaskChanged) -> None:
        # Announced only after the batch (and so its outbox rows) is stored: the rows are there to read.
        if callback_url(event) is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            self.scans += 1
            try:
                await self._dispatch_due()
                await self._housekeeping()
                delay = await self._seconds_until_due()
            except Exception:
                log.exception("the outbox scan failed; trying again shortly")
                delay = self._policy.poll_seconds
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)

    async def _dispatch_due(self) -> None:
        free = self._policy.concurrency - len(self._in_flight)
        if free <= 0:
            return
        for event in await self._store.due(now_ms(self._clock), free, skip_tasks=set(self._in_flight)):
            job = asyncio.get_running_loop().create_task(self._deliver(event), name=f"callback-{event.id}")
            self._in_flight[event.task_id] = job

    async def _seconds_until_due(self) -> float:
        if len(self._in_flight) >= self._policy.concurrency:
            return self._policy.poll_seconds  # a finishing delivery wakes the loop sooner
        soonest = await self._store.next_due_at(skip_tasks=set(self._in_flight))
        if soonest is None:
            return self._policy.poll_seconds
        return min(self._policy.poll_seconds, max(0.0, (soonest - now_ms(self._clock)) / 1000))

    async def _housekeeping(self) -> None:
        now = now_ms(self._clock)
        if now - self._last_cascade_ms >= self._policy.poll_seconds * 1000:
            # A change that arrives after its task's stream died waits behind the dead event: let it join it.
            self._last_cascade_ms = now
            await self._store.cascade_dead()
        if now - self._last_prune_ms >= 3_600_000:
            self._last_prune_ms = now
            await self._store.prune_delivered(now - int(self._policy.keep_delivered_seconds * 1000))

    async def _deliver(self, event: OutboxEvent) -> None:
        try:
            http_status, error = await self._post(event)
            await self._record(event, http_status, error)
        except asyncio.CancelledError:
            raise  # shutdown: the event stays pending and is sent again after the restart
        except Exception:
            log.exception("delivering callback %s of task %s failed unexpectedly", event.id, event.task_id)
        finally:
            self._in_flight.pop(event.task_id, None)
            self._wakeup.set()  # the task's next event may go now

    async def _post(self, event: OutboxEvent) -> tuple[int | None, str | None]:
        body = event.body.encode()
        timestamp = str(int(self._clock.now()))
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   SEQUENCE_HEADER: str(event.sequence), EVENT_ID_HEADER: event.id, TIMESTAMP_HEADER: timestamp}
        if self._policy.secret:
            headers[SIGNATURE_HEADER] = signature(self._policy.secret, timestamp, body)
        try:
            if self._guard is not None and event.url not in self._trusted_urls:
                response = await self._guard.post(event.url, content=body, headers=headers, follow_redirects=False)
            else:
                response = await self._client.post(event.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return None, f"timed out ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_SNIPPET]
        except Exception as exc:  # a guarded client refusing the URL, an unusable URL
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_SNIPPET]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        text = response.text.strip().replace("\n", " ")
        return response.status_code, f"HTTP {response.status_code}" + (f": {text[:ERROR_SNIPPET]}" if text else "")

    async def _record(self, event: OutboxEvent, http_status: int | None, error: str | None) -> None:
        now = now_ms(self._clock)
        if error is None:
            self.delivered += 1
            await self._store.record_attempt(event.id, status=DeliveryStatus.DELIVERED, at_ms=now,
                                             next_attempt_at=now, http_status=http_status, error=None)
            return
        self.failed += 1
        attempts = event.attempts + 1
        next_at = now + int(self._policy.backoff_seconds(attempts) * 1000)
        status = DeliveryStatus.DEAD if next_at > event.give_up_at else DeliveryStatus.PENDING
        if status == DeliveryStatus.DEAD:
            log.warning("callback %s (task %s, sequence %d) is dead after %d attempt(s): %s", event.id,
                        event.task_id, event.sequence, attempts, error)
        else:
            log.info("callback %s (task %s, sequence %d) failed, attempt %d, retry in %.1f s: %s", event.id,
                     event.task_id, event.sequence, attempts, (next_at - now) / 1000, error)
        await self._store.record_attempt(event.id, status=status, at_ms=now, next_attempt_at=next_at,
                                         http_status=http_status, error=error)

    async def retry_dead(self, task_id: str) -> int:
        """Send a task's dead events again, from the first one, with a fresh age limit."""
        now = now_ms(self._clock)
        revived = await self._store.retry_task(task_id, now_ms=now,
                                               give_up_at=now + int(self._policy.max_age_seconds * 1000))
        self._wakeup.set()
        return revived

    async def aclose(self, grace_seconds: float = 5.0) -> None:
        """Stop scanning, give deliveries under way a moment to finish; the rest stays pending in the store."""
        self._unsubscribe()
        if self._loop_job is not None:
            self._loop_job.cancel()
            await asyncio.gather(self._loop_job, return_exceptions=True)
            self._loop_job = None
        jobs = list(self._in_flight.values())
        if jobs:
            _, late = await asyncio.wait(jobs, timeout=grace_seconds)
            for job in late:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()
        if self._guard is not None:
            await self._guard.aclose()
