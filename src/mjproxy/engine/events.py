"""The in-process event bus: a task change is announced here only after it is persisted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..domain.task import Task, task_json

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskChanged:
    """A persisted change. ``snapshot`` is the Task JSON at that moment, so later mutations cannot leak in."""

    task_id: str
    status: str
    progress: str
    snapshot: dict[str, Any]

    @classmethod
    def of(cls, task: Task) -> TaskChanged:
        return cls(task.id, task.status.value, task.progress, task_json(task))


Subscriber = Callable[[TaskChanged], None]


class EventBus:
    """Synchronous fan-out. Subscribers must be quick (enqueue and return); a failing one is isolated."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: TaskChanged) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on task %s", subscriber, event.task_id)
