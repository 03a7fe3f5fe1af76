"""Counts task transitions by status and action, from the event bus."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from ..domain.task import TaskStatus
from ..engine.events import EventBus, TaskChanged

_TERMINAL = frozenset({TaskStatus.SUCCESS.value, TaskStatus.FAILURE.value, TaskStatus.CANCEL.value})


class TaskTransitions:
    """``mjproxy_tasks_total{status, action}``: how many tasks entered each status.

    The bus announces every change (progress included); only a change of status is counted. The last
    status of each live task is remembered until it ends, so memory follows the live tasks, not history.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter("mjproxy_tasks", "Tasks that entered a status, by status and action",
                                ["status", "action"], registry=registry)
        self._last: dict[str, str] = {}

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(self.on_change)

    def on_change(self, event: TaskChanged) -> None:
        if self._last.get(event.task_id) == event.status:
            return
        action = str(event.snapshot.get("action") or "UNKNOWN")
        self._counter.labels(event.status, action).inc()
        if event.status in _TERMINAL:
            self._last.pop(event.task_id, None)
        else:
            self._last[event.task_id] = event.status
