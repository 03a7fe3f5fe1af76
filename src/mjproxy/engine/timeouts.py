"""The timeout sweeper: no task stays SUBMITTED or IN_PROGRESS forever.

A task's deadline starts at the Discord submit and moves forward with every progress update, so a
slow but alive relax job is never killed while a silent one fails with a clear reason.
"""

from __future__ import annotations

import asyncio
import logging

from ..domain.clock import Clock, now_ms
from ..domain.task import Task
from .tracker import Tracker

log = logging.getLogger(__name__)


def timeout_reason(task: Task) -> str:
    if task.queued_by_midjourney:
        return "Task timed out: Midjourney kept the job queued and never started it"
    if task.progress_message_id is None:
        return "Task timed out: the Midjourney bot never answered the submitted job"
    return f"Task timed out: no progress from Midjourney since {task.progress or '0%'}"


class TimeoutSweeper:
    def __init__(self, tracker: Tracker, clock: Clock, interval_seconds: float) -> None:
        self._tracker = tracker
        self._clock = clock
        self._interval = interval_seconds
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

        for task in self._tracker.overdue():
            if await self._tracker.fail(task.id, timeout_reason(task), category="timeout", only_if=still_overdue):
                log.warning("task %s timed out (%s)", task.id, task.progress or task.status.value)
                failed += 1
        return failed

    async def _loop(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            try:
                await self.sweep_once()
            except Exception:
                log.exception("timeout sweep failed")
