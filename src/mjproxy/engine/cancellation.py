"""Cancel a task: free its slot (or its place in the queue) now, and ignore whatever Midjourney sends later.

A live task is cancelled through the tracker, which stops tracking it (so no later bot message can
match it) and releases it from the scheduler once the CANCEL is stored: a waiting task leaves the queue
and a running one frees its slot for the next waiting task. A task that is stored but not live (a MODAL
task waiting for its confirmation, or one whose account is gone) is cancelled in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..domain.task import Task
from ..store.repository import TaskRepository
from .service import visible_to
from .tracker import Tracker


class CancelOutcome(Enum):
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    FINISHED = "finished"  # already SUCCESS, FAILURE or CANCEL: nothing to cancel


@dataclass(frozen=True, slots=True)
class CancelResult:
    outcome: CancelOutcome
    task: Task | None = None


async def cancel_task(tracker: Tracker, repo: TaskRepository, task_id: str, *, owner: str | None = None,
                      reason: str = "cancelled by the client") -> CancelResult:
    stored = await repo.get(task_id)
    if stored is None or not visible_to(stored, owner):
        return CancelResult(CancelOutcome.NOT_FOUND)
    if await tracker.cancel(task_id, reason):
        return CancelResult(CancelOutcome.CANCELLED, await repo.get(task_id))
    # Not live: a MODAL task, an orphan, or a task whose final change is still on its way to the store.
    # Let pending writes land first, so that a result which did arrive is never overwritten by CANCEL.
    await tracker.settle()
    current = await repo.get(task_id) or stored
    if not current.status.is_terminal:
        if tracker.live(task_id) is None:
            await tracker.cancel_stored(current, reason)
            return CancelResult(CancelOutcome.CANCELLED, await repo.get(task_id))
        if await tracker.cancel(task_id, reason):  # it became live meanwhile (a modal confirmed just now)
            return CancelResult(CancelOutcome.CANCELLED, await repo.get(task_id))
    return CancelResult(CancelOutcome.FINISHED, await repo.get(task_id) or current)
