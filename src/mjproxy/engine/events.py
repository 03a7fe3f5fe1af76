"""The in-process event bus: a task change is announced here only after it is persisted."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.task import Task, task_json
from ..store.codec import task_owner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskChanged:
    """A persisted change. ``snapshot`` is the Task JSON at that moment, so later mutations cannot leak in.

    ``owner`` is the API key that owns the task (None: no owner); the snapshot does not show it, and live
    streams need it to decide who may hear the change without reading the store.
    """

    task_id: str
    status: str
    progress: str
    snapshot: dict[str, Any]
    owner: str | None = None

    @classmethod
    def of(cls, task: Task) -> TaskChanged:
        return cls(task.id, task.status.value, task.progress, task_json(task), task_owner(task))


Subscriber = Callable[[TaskChanged], None]


class ChangeSource(Protocol):
    """Anything that announces persisted task changes, in the order they were stored.

    The in-process :class:`EventBus` is one; a PostgreSQL ``LISTEN/NOTIFY`` listener that hears the other
    nodes (issue 12) is meant to be another, so that webhooks, media and live streams subscribe once and
    never care where a change came from.
    """

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every change from now on; the returned function stops it."""


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
