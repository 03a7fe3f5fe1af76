"""The task state machine (DESIGN invariant 4).

NOT_START → SUBMITTED → IN_PROGRESS → SUCCESS | FAILURE | CANCEL, with MODAL before SUBMITTED for
two-step actions. Terminal states are final and progress never goes backwards. Anything else is a bug
in the caller, so it raises instead of being silently absorbed.
"""

from __future__ import annotations

from .task import Task, TaskStatus

_ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.NOT_START: frozenset({TaskStatus.MODAL, TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS,
                                     TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL}),
    TaskStatus.MODAL: frozenset({TaskStatus.NOT_START, TaskStatus.SUBMITTED, TaskStatus.FAILURE,
                                 TaskStatus.CANCEL}),
    # SUBMITTED → SUCCESS happens for jobs without progress messages (U1–U4 picks, instant jobs).
    TaskStatus.SUBMITTED: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.SUCCESS, TaskStatus.FAILURE,
                                     TaskStatus.CANCEL}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL}),
    TaskStatus.SUCCESS: frozenset(),
    TaskStatus.FAILURE: frozenset(),
    TaskStatus.CANCEL: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, task_id: str, current: TaskStatus, target: TaskStatus) -> None:
        super().__init__(f"task {task_id}: {current.value} → {target.value} is not allowed")
        self.task_id = task_id
        self.current = current
        self.target = target


def can_transition(current: TaskStatus, target: TaskStatus) -> bool:
    return (current == target and not current.is_terminal) or target in _ALLOWED[current]


def transition(task: Task, target: TaskStatus) -> bool:
    """Move ``task`` to ``target``. Returns False for a no-op (same non-terminal status)."""
    if task.status == target and not target.is_terminal:
        return False
    if target not in _ALLOWED[task.status]:
        raise IllegalTransition(task.id, task.status, target)
    task.status = target
    return True


def advance_progress(task: Task, percent: int) -> bool:
    """Record progress; it never goes backwards. Returns True when the visible progress changed."""
    percent = max(0, min(100, percent))
    if task.status.is_terminal or percent < task.progress_percent:
        return False
    text = f"{percent}%"
    if task.progress == text:
        return False
    task.progress = text
    return True
