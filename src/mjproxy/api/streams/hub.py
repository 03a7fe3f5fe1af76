"""The stream hub: one subscriber of the task-change source that numbers, remembers and fans out changes.

Every persisted change that a client would notice (a new status, or new progress / preview while running)
becomes a :class:`StreamEvent` with a per-task sequence number (the one-task stream's ``id:``) and a
position in this hub (the all-tasks stream's cursor). The last few events of each recently changed task
and the last few thousand events overall are kept in memory, so a client that reconnects with
``Last-Event-ID`` is replayed what it missed; when it missed more than is kept, it gets the task's current
state instead, which is always correct.

Fan-out never waits: each subscriber has a bounded queue, and one that lets it fill up is closed (its client
reconnects and resumes), so a slow reader can neither block the committer that publishes nor the others.
Everything here runs on the event loop without awaiting, so a subscribe and the reading of the history it
resumes from are one atomic step.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ...config import StreamSettings
from ...domain.task import TaskStatus
from ...engine.events import ChangeSource, TaskChanged
from ...engine.service import owner_may_see

TERMINAL_KINDS = {TaskStatus.SUCCESS.value: "success", TaskStatus.FAILURE.value: "failure",
                  TaskStatus.CANCEL.value: "cancel"}
STATUS, PROGRESS = "status", "progress"

# What a client can see change: the status, and while running the progress and the preview image.
Signature = tuple[str, str, str | None]


def signature_of(snapshot: dict[str, Any]) -> Signature:
    return str(snapshot.get("status")), str(snapshot.get("progress") or ""), snapshot.get("imageUrl")


def kind_of(previous: Signature | None, current: Signature) -> str | None:
    """The SSE event name of a change from ``previous`` to ``current``; None when nothing visible changed."""
    status = current[0]
    if previous is None or previous[0] != status:
        if previous is not None and previous[0] in TERMINAL_KINDS:
            return None  # terminal states are final: later bookkeeping on a finished task is not news
        return TERMINAL_KINDS.get(status, STATUS)
    if status == TaskStatus.IN_PROGRESS.value and previous != current:
        return PROGRESS
    return None


def dumps(value: Any) -> str:
    # The same encoding as the JSON responses (one line, UTF-8 as is), so data: equals fetch's body.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class StreamEvent:
    """One change as streams send it. The JSON is encoded once, however many subscribers send it."""

    __slots__ = ("_data", "cursor", "kind", "owner", "seq", "snapshot", "task_id")

    def __init__(self, task_id: str, seq: int, cursor: int, kind: str, owner: str | None,
                 snapshot: dict[str, Any]) -> None:
        self.task_id = task_id
        self.seq = seq
        self.cursor = cursor
        self.kind = kind
        self.owner = owner
        self.snapshot = snapshot
        self._data: str | None = None

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL_KINDS.values()

    @property
    def data(self) -> str:
        if self._data is None:
            self._data = dumps(self.snapshot)
        return self._data

    def renumbered(self, seq: int) -> StreamEvent:
        event = StreamEvent(self.task_id, seq, self.cursor, self.kind, self.owner, self.snapshot)
        event._data = self._data
        return event


class TaskHistory:
    """The recent events of one task and the signature of the last one."""

    __slots__ = ("events", "seq", "signature")

    def __init__(self, size: int) -> None:
        self.events: deque[StreamEvent] = deque(maxlen=size)
        self.seq = 0
        self.signature: Signature | None = None

    @property
    def latest(self) -> StreamEvent | None:
        return self.events[-1] if self.events else None

    def resume(self, after: int | None) -> list[StreamEvent]:
        """What a client that has seen up to ``after`` needs: the events it missed, or the current state.

        ``after`` None (a new client), or older than the history reaches: the current state alone. Beyond the
        last number (the server restarted and numbers began again, or another node numbered them): the
        current state again, renumbered past ``after`` so that the client's ids keep increasing.
        """
        latest = self.latest
        if latest is None:
            return []
        if after is None:
            return [latest]
        if after > self.seq:
            self.seq = after + 1
            restated = latest.renumbered(self.seq)
            self.events.append(restated)
            return [restated]
        if after == self.seq:
            return []
        if self.events[0].seq <= after + 1:
            return [event for event in self.events if event.seq > after]
        return [latest]


class Subscription:
    """One connected stream: a bounded queue the hub fills and the response drains."""

    __slots__ = ("_items", "_maxsize", "_on_close", "_wake", "closed", "ids", "overflowed", "owner", "task_id")

    def __init__(self, maxsize: int, on_close: Callable[[Subscription], None], *, task_id: str | None = None,
                 owner: str | None = None, ids: frozenset[str] | None = None) -> None:
        self.task_id = task_id
        self.owner = owner
        self.ids = ids
        self._maxsize = maxsize
        self._items: deque[StreamEvent] = deque()
        self._wake = asyncio.Event()
        self._on_close = on_close
        self.closed = False
        self.overflowed = False

    def wants(self, event: StreamEvent) -> bool:
        """The all-tasks filter: the caller may see the task (engine rule) and asked for it (``ids``)."""
        return owner_may_see(event.owner, self.owner) and (self.ids is None or event.task_id in self.ids)

    def offer(self, event: StreamEvent) -> None:
        if self.closed:
            return
        if len(self._items) >= self._maxsize:
            # Never wait for a slow reader: drop it; it reconnects with Last-Event-ID and is replayed.
            self.overflowed = True
            self.close()
            return
        self._items.append(event)
        self._wake.set()

    async def next(self) -> StreamEvent | None:
        """The next event; None once closed and drained (what was queued before an overflow is still sent)."""
        while not self._items:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wake.set()
            self._on_close(self)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The all-tasks stream's ``id:``: this hub's epoch (a restart starts another) and a position in it."""

    epoch: str
    position: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.position}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        epoch, _, position = text.strip().rpartition("-")
        return cls(epoch, int(position)) if epoch and position.isdigit() else None


class StreamHub:
    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.epoch = secrets.token_hex(4)
        self._histories: OrderedDict[str, TaskHistory] = OrderedDict()
        self._recent: deque[StreamEvent] = deque(maxlen=settings.recent_events)
        self._position = 0
        self._by_task: dict[str, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._detach: Callable[[], None] | None = None
        self.published = 0  # events numbered (for tests and the benchmark)

    # -- the source side ---------------------------------------------------------------------------------
    def attach(self, source: ChangeSource) -> None:
        self._detach = source.subscribe(self.on_change)

    def close(self) -> None:
        """Stop hearing the source and end every stream (the server is shutting down)."""
        if self._detach is not None:
            self._detach()
            self._detach = None
        for subscription in [*self._everything, *(s for group in self._by_task.values() for s in group)]:
            subscription.close()

    def on_change(self, change: TaskChanged) -> None:
        history = self._history(change.task_id)
        signature = signature_of(change.snapshot)
        kind = kind_of(history.signature, signature)
        if kind is None:
            return
        history.signature = signature
        event = self._record(history, change.task_id, kind, change.owner, change.snapshot)
        for subscription in list(self._by_task.get(change.task_id, ())):
            subscription.offer(event)
        for subscription in list(self._everything):
            if subscription.wants(event):
                subscription.offer(event)

    def _history(self, task_id: str) -> TaskHistory:
        history = self._histories.get(task_id)
        if history is None:
            history = self._histories[task_id] = TaskHistory(self.settings.history_events)
            while len(self._histories) > self.settings.history_tasks:
                self._histories.popitem(last=False)  # the task that changed least recently
        else:
            self._histories.move_to_end(task_id)
        return history

    def _record(self, history: TaskHistory, task_id: str, kind: str, owner: str | None,
                snapshot: dict[str, Any]) -> StreamEvent:
        history.seq += 1
        self._position += 1
        self.published += 1
        event = StreamEvent(task_id, history.seq, self._position, kind, owner, snapshot)
        history.events.append(event)
        self._recent.append(event)
        return event

    # -- the stream side ---------------------------------------------------------------------------------
    @property
    def subscribers(self) -> int:
        return len(self._everything) + sum(len(group) for group in self._by_task.values())

    @property
    def position(self) -> Cursor:
        return Cursor(self.epoch, self._position)

    def open_task(self, task_id: str, after: int | None) -> tuple[Subscription, list[StreamEvent] | None]:
        """Subscribe to one task and say what to send first; None: nothing is known, read the store."""
        subscription = Subscription(self.settings.queue_size, self._forget, task_id=task_id)
        self._by_task.setdefault(task_id, set()).add(subscription)
        history = self._histories.get(task_id)
        if history is None or history.latest is None:
            return subscription, None
        return subscription, history.resume(after)

    def seed(self, task_id: str, snapshot: dict[str, Any], owner: str | None, after: int | None) -> list[StreamEvent]:
        """What to send first when :meth:`open_task` knew nothing and the store gave ``snapshot``.

        If the task changed while the store was read, the hub's newest event wins (the store read may be
        older). Else the stored state becomes the task's first event, numbered past ``after``.
        """
        history = self._histories.get(task_id)
        if history is not None and history.latest is not None:
            return history.resume(after)
        history = self._history(task_id)
        history.seq = after or 0
        history.signature = signature_of(snapshot)
        kind = kind_of(None, history.signature) or STATUS
        history.seq += 1
        event = StreamEvent(task_id, history.seq, self._position, kind, owner, snapshot)
        history.events.append(event)
        return [event]

    def open_all(self, owner: str | None, ids: frozenset[str] | None,
                 after: Cursor | None) -> tuple[Subscription, list[StreamEvent]]:
        """Subscribe to every task ``owner`` may see (only ``ids`` if given) and replay what ``after`` missed.

        A cursor of this epoch still inside the recent window replays exactly the events after it. Any other
        cursor (too old, or from before a restart) gets the current state of every task the hub remembers.
        Without a cursor nothing is replayed here (the route sends the current state of ``ids``).
        """
        subscription = Subscription(self.settings.queue_size, self._forget, owner=owner, ids=ids)
        self._everything.add(subscription)
        if after is None:
            return subscription, []
        if after.epoch == self.epoch and after.position <= self._position and (
                after.position == self._position or (self._recent and self._recent[0].cursor <= after.position + 1)):
            return subscription, [e for e in self._recent if e.cursor > after.position and subscription.wants(e)]
        latest = (h.latest for h in self._histories.values())
        current = sorted((e for e in latest if e is not None and subscription.wants(e)), key=lambda e: e.cursor)
        return subscription, current

    def latest(self, task_id: str) -> StreamEvent | None:
        history = self._histories.get(task_id)
        return history.latest if history is not None else None

    def known(self, task_ids: Iterable[str]) -> dict[str, StreamEvent]:
        """The newest event of each of these tasks that the hub remembers."""
        found = {}
        for task_id in task_ids:
            history = self._histories.get(task_id)
            if history is not None and history.latest is not None:
                found[task_id] = history.latest
        return found

    def _forget(self, subscription: Subscription) -> None:
        if subscription.task_id is None:
            self._everything.discard(subscription)
            return
        group = self._by_task.get(subscription.task_id)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._by_task[subscription.task_id]
