"""The callback outbox's rows: what the journal writes with each task change and the delivery worker reads.

Ordering rule, enforced in SQL so that it holds across restarts: an event is due only when every earlier
event of its task (lower sequence) is delivered. A dead event therefore blocks the events after it; they
are marked dead too (``cascade_dead``) and come back together when the dead one is retried.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import UpdateBase

from mjproxy.store.database import Database
from mjproxy.store.schema import webhook_events

_e = webhook_events
_earlier = webhook_events.alias("earlier")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: str
    task_id: str
    sequence: int
    url: str
    body: str
    task_status: str
    status: DeliveryStatus
    attempts: int
    created_at: int
    next_attempt_at: int
    give_up_at: int
    last_attempt_at: int | None
    delivered_at: int | None
    last_http_status: int | None
    last_error: str | None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> OutboxEvent:
        data = dict(row._mapping)
        data["status"] = DeliveryStatus(data["status"])
        return cls(**data)


# The sequence is computed inside the INSERT, in the same transaction as the task change: 1 + the task's
# highest so far. Rows of one batch are inserted one after the other, so each sees the previous one.
_NEXT_SEQUENCE = (
    sa.select(sa.func.coalesce(sa.func.max(_earlier.c.sequence), 0) + 1)
    .where(_earlier.c.task_id == sa.bindparam("of_task"))
    .scalar_subquery()
)
INSERT_EVENT = sa.insert(_e).values(
    id=sa.bindparam("id"), task_id=sa.bindparam("task_id"), sequence=_NEXT_SEQUENCE, url=sa.bindparam("url"),
    body=sa.bindparam("body"), task_status=sa.bindparam("task_status"), status=DeliveryStatus.PENDING.value,
    attempts=0, created_at=sa.bindparam("created_at"), next_attempt_at=sa.bindparam("created_at_"),
    give_up_at=sa.bindparam("give_up_at"),
)


def event_row(*, event_id: str, task_id: str, url: str, body: str, task_status: str, created_at: int,
              give_up_at: int) -> dict[str, Any]:
    """Parameters of one INSERT_EVENT row."""
    return {"id": event_id, "task_id": task_id, "of_task": task_id, "url": url, "body": body,
            "task_status": task_status, "created_at": created_at, "created_at_": created_at,
            "give_up_at": give_up_at}


_BLOCKED_BY_UNDELIVERED = (
    sa.exists()
    .where(_earlier.c.task_id == _e.c.task_id, _earlier.c.sequence < _e.c.sequence,
           _earlier.c.status != DeliveryStatus.DELIVERED.value)
)
_BLOCKED_BY_DEAD = (
    sa.exists()
    .where(_earlier.c.task_id == _e.c.task_id, _earlier.c.sequence < _e.c.sequence,
           _earlier.c.status == DeliveryStatus.DEAD.value)
)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, writes: Sequence[tuple[UpdateBase, list[dict[str, Any]]]]) -> None:
        """Journal rows on their own transaction (when they could not ride with their task change)."""
        await self._db.execute_batches(writes)

    async def due(self, now_ms: int, limit: int, *, skip_tasks: Collection[str] = ()) -> list[OutboxEvent]:
        """Pending events whose time has come and whose task has nothing undelivered before them."""
        query = (
            sa.select(_e)
            .where(_e.c.status == DeliveryStatus.PENDING.value, _e.c.next_attempt_at <= now_ms,
                   ~_BLOCKED_BY_UNDELIVERED)
            .order_by(_e.c.next_attempt_at, _e.c.task_id)
            .limit(limit + len(skip_tasks))
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        events = [OutboxEvent.of(row) for row in rows]
        return [e for e in events if e.task_id not in skip_tasks][:limit]

    async def next_due_at(self, *, skip_tasks: Collection[str] = ()) -> int | None:
        """When the soonest event that could be sent becomes due (epoch ms), or None when there is none.

        Events waiting behind an earlier one of their task, and the tasks in ``skip_tasks`` (being sent right
        now), do not count: their time is decided by the event ahead of them.
        """
        query = sa.select(sa.func.min(_e.c.next_attempt_at)).where(
            _e.c.status == DeliveryStatus.PENDING.value, ~_BLOCKED_BY_UNDELIVERED)
        if skip_tasks:
            query = query.where(_e.c.task_id.not_in(list(skip_tasks)))
        async with self._db.read() as conn:
            value = (await conn.execute(query)).scalar()
        return None if value is None else int(value)

    async def record_attempt(self, event_id: str, *, status: DeliveryStatus, at_ms: int, next_attempt_at: int,
                             http_status: int | None, error: str | None) -> None:
        values: dict[str, Any] = {"status": status.value, "attempts": _e.c.attempts + 1, "last_attempt_at": at_ms,
                                  "next_attempt_at": next_attempt_at, "last_http_status": http_status}
        if status == DeliveryStatus.DELIVERED:
            values["delivered_at"] = at_ms
        else:
            values["last_error"] = error
        async with self._db.write() as conn:
            await conn.execute(sa.update(_e).where(_e.c.id == event_id).values(values))
            if status == DeliveryStatus.DEAD:
                await conn.execute(self._cascade_statement())

    async def cascade_dead(self) -> int:
        """Mark dead the pending events stuck behind a dead one of their task; how many there were."""
        async with self._db.write() as conn:
            result = await conn.execute(self._cascade_statement())
        return int(result.rowcount or 0)

    @staticmethod
    def _cascade_statement() -> sa.Update:
        return (
            sa.update(_e)
            .where(_e.c.status == DeliveryStatus.PENDING.value, _BLOCKED_BY_DEAD)
            .values(status=DeliveryStatus.DEAD.value,
                    last_error="not sent: an earlier callback of this task is dead (retry that one)")
        )

    async def for_task(self, task_id: str) -> list[OutboxEvent]:
        query = sa.select(_e).where(_e.c.task_id == task_id).order_by(_e.c.sequence)
        async with self._db.read() as conn:
            return [OutboxEvent.of(row) for row in (await conn.execute(query)).all()]

    async def get(self, event_id: str) -> OutboxEvent | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(_e).where(_e.c.id == event_id))).first()
        return None if row is None else OutboxEvent.of(row)

    async def page(self, statuses: Collection[DeliveryStatus], *, offset: int, limit: int
                   ) -> tuple[list[OutboxEvent], int]:
        """Events in these statuses, oldest first (by task, then sequence), and how many there are."""
        where = _e.c.status.in_([s.value for s in statuses])
        query = sa.select(_e).where(where).order_by(_e.c.created_at, _e.c.task_id, _e.c.sequence)
        async with self._db.read() as conn:
            rows = (await conn.execute(query.offset(offset).limit(limit))).all()
            total = (await conn.execute(sa.select(sa.func.count()).select_from(_e).where(where))).scalar_one()
        return [OutboxEvent.of(row) for row in rows], int(total)

    async def counts(self) -> dict[str, int]:
        """How many events are in each delivery status (every status present, zero included)."""
        query = sa.select(_e.c.status, sa.func.count()).group_by(_e.c.status)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        found = {str(status): int(count) for status, count in rows}
        return {status.value: found.get(status.value, 0) for status in DeliveryStatus}

    async def retry_task(self, task_id: str, *, now_ms: int, give_up_at: int) -> int:
        """Bring back every dead event of a task (in order, from the first dead one); how many there were."""
        statement = (
            sa.update(_e)
            .where(_e.c.task_id == task_id, _e.c.status == DeliveryStatus.DEAD.value)
            .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now_ms, give_up_at=give_up_at)
        )
        async with self._db.write() as conn:
            result = await conn.execute(statement)
        return int(result.rowcount or 0)

    async def prune_delivered(self, before_ms: int) -> int:
        """Forget delivered events older than ``before_ms``; the newest event of a task is always kept, so its
        sequence keeps counting up (the next one is numbered from it)."""
        newest = (
            sa.select(sa.func.max(_earlier.c.sequence)).where(_earlier.c.task_id == _e.c.task_id).scalar_subquery()
        )
        statement = sa.delete(_e).where(_e.c.status == DeliveryStatus.DELIVERED.value,
                                        _e.c.created_at < before_ms, _e.c.sequence < newest)
        async with self._db.write() as conn:
            result = await conn.execute(statement)
        return int(result.rowcount or 0)
