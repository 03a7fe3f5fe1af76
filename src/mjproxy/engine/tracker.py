"""From bot events to task transitions: correlate, apply the state machine, persist, then announce.

Every change goes through :meth:`Tracker._commit`, which writes the task to the store *before*
publishing it on the bus (DESIGN invariant 5). Gateway events of one account arrive in order, but
timeouts, cancels and executors run concurrently, so each task is mutated under its own lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ..domain.clock import Clock, now_ms
from ..domain.state_machine import IllegalTransition, advance_progress, transition
from ..domain.task import Task, TaskStatus
from ..midjourney.events import (
    AccountEvent,
    FailureCategory,
    InteractionEvent,
    InteractionPhase,
    JobCompleted,
    JobFailed,
    JobNotice,
    JobProgress,
    JobStarted,
    MessageDeleted,
    MjEvent,
    NoticeKind,
)
from ..store.repository import TaskRepository
from .correlation import Correlator
from .events import EventBus, TaskChanged

log = logging.getLogger(__name__)

FinishedHook = Callable[[Task], None]
UrlRewriter = Callable[[str], str]

INTERACTION_FAILURE_REASONS = {
    1: "Discord reported the interaction failed (unknown reason)",
    2: "the Midjourney bot did not answer the interaction within 3 seconds",
}


class Tracker:
    def __init__(self, repo: TaskRepository, bus: EventBus, clock: Clock, *,
                 on_finished: FinishedHook, rewrite_url: UrlRewriter | None = None,
                 queued_timeout_minutes: float = 30.0) -> None:
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self._on_finished = on_finished
        self._rewrite_url = rewrite_url or (lambda url: url)
        self._queued_timeout_ms = int(queued_timeout_minutes * 60_000)
        self._live: dict[str, Task] = {}
        self._timeouts_ms: dict[str, int] = {}
        self._correlators: dict[str, Correlator] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- registry ----------------------------------------------------------------------------
    def live(self, task_id: str) -> Task | None:
        return self._live.get(task_id)

    def live_tasks(self) -> list[Task]:
        return list(self._live.values())

    def correlator(self, account_id: str) -> Correlator:
        found = self._correlators.get(account_id)
        if found is None:
            found = self._correlators[account_id] = Correlator()
        return found

    def track(self, task: Task, *, timeout_minutes: float) -> None:
        """Hold an unfinished task in memory and index what we know of it."""
        self._live[task.id] = task
        self._timeouts_ms[task.id] = int(timeout_minutes * 60_000)
        if task.account_id:
            self.correlator(task.account_id).track(task)

    def untrack(self, task: Task) -> None:
        self._live.pop(task.id, None)
        self._timeouts_ms.pop(task.id, None)
        if task.account_id:
            self.correlator(task.account_id).forget(task)

    @asynccontextmanager
    async def _locked(self, task_id: str) -> AsyncIterator[Task | None]:
        lock = self._locks.setdefault(task_id, asyncio.Lock())
        async with lock:
            yield self._live.get(task_id)

    async def _commit(self, task: Task) -> None:
        """Persist, then announce; release everything a finished task held."""
        task.deadline_ms = task.deadline_ms if not task.status.is_terminal else None
        await self._repo.update(task)
        self._bus.publish(TaskChanged.of(task))
        if task.status.is_terminal:
            self._live.pop(task.id, None)
            self._timeouts_ms.pop(task.id, None)
            self._locks.pop(task.id, None)
            if task.account_id:
                self.correlator(task.account_id).forget(task)
            self._on_finished(task)

    def _extend_deadline(self, task: Task, *, queued: bool = False) -> None:
        budget = self._queued_timeout_ms if queued else self._timeouts_ms.get(task.id, 300_000)
        task.deadline_ms = now_ms(self._clock) + budget

    # -- engine-driven changes ------------------------------------------------------------------
    async def assign_nonce(self, task_id: str, nonce: str) -> None:
        """Record a fresh nonce *before* the interaction is sent (DESIGN invariant 2)."""
        async with self._locked(task_id) as task:
            if task is None:
                raise LookupError(f"task {task_id} is not live")
            correlator = self.correlator(task.account_id or "")
            if task.nonce:
                correlator.forget_nonce(task.nonce)
            task.nonce = nonce
            correlator.bind_nonce(nonce, task.id)
            await self._repo.update(task)

    async def mark_submitted(self, task_id: str) -> None:
        """Discord accepted the interaction (204): the job timer starts now."""
        async with self._locked(task_id) as task:
            if task is None or task.status.is_terminal:
                return
            task.start_time = task.start_time or now_ms(self._clock)
            if task.status in (TaskStatus.NOT_START, TaskStatus.MODAL):
                transition(task, TaskStatus.SUBMITTED)
                task.progress = "0%"
                self._extend_deadline(task)
            await self._commit(task)

    async def fail(self, task_id: str, reason: str, *, category: str | None = None,
                   only_if: Callable[[Task], bool] | None = None) -> bool:
        async with self._locked(task_id) as task:
            if task is None or task.status.is_terminal or (only_if is not None and not only_if(task)):
                return False
            self._finish_failed(task, reason, category)
            await self._commit(task)
            return True

    async def cancel(self, task_id: str, reason: str = "cancelled by the client") -> bool:
        async with self._locked(task_id) as task:
            if task is None or task.status.is_terminal:
                return False
            transition(task, TaskStatus.CANCEL)
            task.fail_reason = reason
            task.finish_time = now_ms(self._clock)
            await self._commit(task)
            return True

    def _finish_failed(self, task: Task, reason: str, category: str | None) -> None:
        transition(task, TaskStatus.FAILURE)
        task.fail_reason = reason
        task.progress = ""
        task.finish_time = now_ms(self._clock)
        if category:
            task.extra["_failCategory"] = category

    def overdue(self) -> list[Task]:
        now = now_ms(self._clock)
        return [t for t in self._live.values() if t.deadline_ms is not None and t.deadline_ms <= now]

    # -- bot-driven changes ---------------------------------------------------------------------
    async def handle(self, account_id: str, event: AccountEvent) -> None:
        correlator = self.correlator(account_id)
        if isinstance(event, MessageDeleted):
            return  # the progress message disappears before the final one: nothing to do
        if isinstance(event, InteractionEvent):
            await self._on_interaction(correlator, event)
            return
        account_live = [t for t in self._live.values() if t.account_id == account_id]
        match = correlator.match(event.keys, account_live)
        if match is None:
            if not correlator.belongs_to_finished(event.keys) and not isinstance(event, JobNotice):
                log.info("account %s: no task matches %s (message %s, nonce %s, hash %s)", account_id,
                         type(event).__name__, event.keys.message_id, event.keys.nonce, event.keys.job_hash)
            elif isinstance(event, JobNotice):
                log.warning("account %s: notice %s not tied to a task: %s", account_id, event.kind.value,
                            event.title)
            return
        log.debug("account %s: %s matched task %s by %s", account_id, type(event).__name__, match.task_id,
                  match.key)
        async with self._locked(match.task_id) as task:
            if task is None or task.status.is_terminal:
                return
            try:
                changed = self._apply(correlator, task, event)
            except IllegalTransition:
                log.error("illegal transition on task %s from %s", task.id, type(event).__name__, exc_info=True)
                return
            if changed:
                await self._commit(task)

    async def _on_interaction(self, correlator: Correlator, event: InteractionEvent) -> None:
        if not event.nonce:
            return
        match = correlator.match_nonce(event.nonce)
        if match is None:
            return
        async with self._locked(match) as task:
            if task is None or task.status.is_terminal:
                return
            if event.interaction_id and task.interaction_id != event.interaction_id:
                task.interaction_id = event.interaction_id
                correlator.bind_interaction(event.interaction_id, task.id)
                await self._repo.update(task)
            if event.phase == InteractionPhase.FAILED:
                reason = INTERACTION_FAILURE_REASONS.get(event.reason_code or 1,
                                                         f"interaction failed (reason {event.reason_code})")
                self._finish_failed(task, reason, FailureCategory.RETRYABLE.value)
                await self._commit(task)

    def _apply(self, correlator: Correlator, task: Task, event: MjEvent) -> bool:
        keys = event.keys
        if keys.job_hash and task.message_hash is None and not isinstance(event, JobCompleted):
            task.message_hash = keys.job_hash
            correlator.bind_hash(keys.job_hash, task.id)
        if isinstance(event, JobStarted):
            return self._started(correlator, task, keys.message_id, event.prompt)
        if isinstance(event, JobProgress):
            changed = self._started(correlator, task, keys.message_id, event.prompt)
            if event.percent is not None:
                changed = advance_progress(task, event.percent) or changed
            if event.preview is not None:
                url = self._rewrite_url(event.preview.url)
                changed = changed or task.image_url != url
                task.image_url = url
            self._extend_deadline(task)
            return changed
        if isinstance(event, JobCompleted):
            if task.status == TaskStatus.NOT_START:
                transition(task, TaskStatus.SUBMITTED)
            transition(task, TaskStatus.SUCCESS)
            task.progress = "100%"
            task.finish_time = now_ms(self._clock)
            task.start_time = task.start_time or task.finish_time
            task.message_id = keys.message_id
            task.message_flags = keys.flags
            task.message_hash = keys.job_hash or task.message_hash
            task.message_content = event.content
            task.final_prompt = event.prompt or task.final_prompt
            task.buttons = list(event.buttons)
            if event.image is not None:
                task.image_url = self._rewrite_url(event.image.url)
            return True
        if isinstance(event, JobFailed):
            self._finish_failed(task, event.reason, event.category.value)
            return True
        if isinstance(event, JobNotice):
            return self._notice(correlator, task, event)
        return False

    def _started(self, correlator: Correlator, task: Task, message_id: str, prompt: str) -> bool:
        if task.status == TaskStatus.IN_PROGRESS and task.progress_message_id == message_id:
            return False
        if task.status in (TaskStatus.NOT_START, TaskStatus.SUBMITTED):
            transition(task, TaskStatus.IN_PROGRESS)
        task.progress_message_id = message_id
        correlator.bind_message(message_id, task.id)
        task.final_prompt = prompt or task.final_prompt
        task.progress = task.progress or "0%"
        task.queued_by_midjourney = False
        self._extend_deadline(task)
        return True

    def _notice(self, correlator: Correlator, task: Task, event: JobNotice) -> bool:
        if event.kind == NoticeKind.JOB_QUEUED:
            # Midjourney will start it when one of its own slots frees: not a failure, and the job
            # timer waits with a longer budget until the job really starts.
            task.queued_by_midjourney = True
            correlator.bind_message(event.keys.message_id, task.id)
            self._extend_deadline(task, queued=True)
            return True
        if event.kind in (NoticeKind.INFO, NoticeKind.OTHER):
            return False
        reason = f"[{event.title}] {event.description}".strip()
        self._finish_failed(task, reason, FailureCategory.ACCOUNT.value)
        return True
