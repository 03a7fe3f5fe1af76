"""The timeout sweeper: no task stays SUBMITTED or IN_PROGRESS forever.

A task's deadline starts at the Discord submit and moves forward with every progress update, so a
slow but alive relax job is never killed while a silent one fails with a clear reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..domain.clock import Clock, now_ms
from ..domain.task import Task, TaskStatus
from .tracker import Tracker

log = logging.getLogger(__name__)


def timeout_reason(task: Task) -> str:
    if task.status == TaskStatus.NOT_START:
        # Only a task taken back after a restart waits in NOT_START with a deadline: its nonce was stored
        # but the process stopped before Discord confirmed the interaction.
        return ("Task timed out: the proxy stopped while sending it to Discord and Midjourney never "
                "answered it (it was not sent again, so that it cannot run twice)")
    if task.queued_by_midjourney:
        return "Task timed out: Midjourney kept the job queued and never started it"
    if task.progress_message_id is None:
        return "Task timed out: the Midjourney bot never answered the submitted job"
    return f"Task timed out: no progress from Midjourney since {task.progress or '0%'}"


LastLook = Callable[[Sequence[Task]], Awaitable[int]]


class TimeoutSweeper:
    def __init__(self, tracker: Tracker, clock: Clock, interval_seconds: float, *,
                 last_look: LastLook | None = None) -> None:
        """``last_look`` is asked once per task before it times out (the channel history): a result that
        the gateway never delivered settles the task instead of a timeout."""
        self._tracker = tracker
        self._clock = clock
        self._interval = interval_seconds
        self._last_look = last_look
        self._looked: set[str] = set()
        self._job: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._job = asyncio.get_running_loop().create_task(self._loop(), name="timeout-sweeper")

    async def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            await asyncio.gather(self._job, return_exceptions=True)

    async def sweep_once(self) -> int:
        failed = 0
        def still_overdue(task: Task) -> bool:  # re-checked under the task's lock: progress may have won
            return task.deadline_ms is not None and task.deadline_ms <= now_ms(self._clock)

        await self._take_last_look()
        for task in self._tracker.overdue():
            if await self._tracker.fail(task.id, timeout_reason(task), category="timeout", only_if=still_overdue):
                log.warning("task %s timed out (%s)", task.id, task.progress or task.status.value)
                failed += 1
        return failed

    async def _take_last_look(self) -> None:
        if self._last_look is None:
            return
        live = {t.id for t in self._tracker.live_tasks()}
        self._looked &= live  # forget finished tasks
        unseen = [t for t in self._tracker.overdue() if t.id not in self._looked]
        if not unseen:
            return
        self._looked.update(t.id for t in unseen)
        try:
            settled = await self._last_look(unseen)
        except Exception:
            log.exception("reading the channel history before a timeout failed")
            return
        if settled:
            log.warning("%d overdue task(s) settled from the channel history: their final event was lost",
                        settled)

    async def _loop(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            try:
                await self.sweep_once()
            except Exception:
                log.exception("timeout sweep failed")
