"""The task repository: the interface the engine depends on, and its SQL implementation."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase

from mjproxy.domain.clock import Clock, SystemClock, now_ms
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.store.codec import task_from_data, task_to_row
from mjproxy.store.database import Database
from mjproxy.store.errors import TaskConflict, TaskNotFound
from mjproxy.store.schema import tasks

# Every status a task can still leave. Unlike domain.task.UNFINISHED_STATUSES this includes MODAL:
# a task waiting for its modal submission must also be recovered after a restart.
OPEN_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.NOT_START, TaskStatus.MODAL, TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS}
)

@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Further narrowing for listings (the dashboard's gallery): each field set must match.

    ``owner`` here is a filter an admin chose (one key's tasks); the ``owner`` argument of ``list_page``
    stays the caller's isolation and both apply.
    """

    actions: Collection[TaskAction] | None = None
    account_id: str | None = None
    owner: str | None = None
    parent_id: str | None = None


# A statement and its parameter rows, written in the same transaction as a batch of task updates.
SideWrite = tuple[UpdateBase, list[dict[str, Any]]]


class TaskRepository(Protocol):
    """Where tasks live between requests and across restarts.

    Tasks are whole documents: ``update`` replaces everything, there are no partial writes. Reads
    return fresh ``Task`` objects; mutating them changes nothing until ``update``.
    """

    async def insert(self, task: Task) -> None:
        """Store a new task. Raises ``TaskConflict`` if its id or nonce is already stored."""

    async def update(self, task: Task) -> None:
        """Replace the stored task with ``task`` and increment ``task.version`` (in place, on success).

        Raises ``TaskNotFound`` if the task was deleted or never inserted, ``TaskConflict`` if its new
        nonce belongs to another task.
        """

    async def update_many(self, batch: Sequence[Task], *, with_writes: Sequence[SideWrite] = ()) -> None:
        """``update`` for several tasks in one transaction; missing rows are skipped.

        ``with_writes`` are further statements (with their rows) committed in the same transaction, for
        records that must exist exactly when the change does (the callback outbox).
        """

    async def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""

    async def get_many(self, ids: Sequence[str]) -> list[Task]:
        """Tasks in the order of ``ids``; unknown ids are skipped, repeated ids returned once."""

    async def list_page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        statuses: Collection[TaskStatus] | None = None,
        owner: str | None = None,
        narrow: TaskFilter | None = None,
    ) -> list[Task]:
        """A page of tasks, newest first, optionally only these statuses / this owner / ``narrow``."""

    async def count(self, *, statuses: Collection[TaskStatus] | None = None, owner: str | None = None,
                    narrow: TaskFilter | None = None) -> int:
        """How many tasks ``list_page`` would page through with the same filters."""

    async def list_unfinished(self, account_id: str | None = None) -> list[Task]:
        """Tasks not yet terminal (NOT_START, MODAL, SUBMITTED, IN_PROGRESS), oldest first.

        Optionally only those assigned to one account. Used to resume work after a restart.
        """

    async def find_by_nonce(self, nonce: str) -> Task | None:
        """The task whose interaction carried this nonce (nonces are unique)."""

    async def find_by_message_id(self, message_id: str) -> Task | None:
        """The task bound to this Discord message; the newest if, unexpectedly, several are."""

    async def delete(self, task_id: str) -> bool:
        """Remove a task; True if it existed."""

    async def insert_many(self, tasks: Iterable[Task]) -> None:
        """Bulk insert (seeding, imports, benchmarks). Not atomic across batches."""


# Built once: Core compiles them into SQLAlchemy's statement cache on first use, and the per-call cost
# is then binding one parameter.
_GET = sa.select(tasks.c.data).where(tasks.c.id == sa.bindparam("id"))
_BY_NONCE = sa.select(tasks.c.data).where(tasks.c.nonce == sa.bindparam("nonce"))
_BY_MESSAGE = (
    sa.select(tasks.c.data)
    .where(tasks.c.message_id == sa.bindparam("message_id"))
    .order_by(tasks.c.id.desc())
    .limit(1)
)
_DELETE = sa.delete(tasks).where(tasks.c.id == sa.bindparam("task_id"))
_UPDATE = (
    sa.update(tasks)
    .where(tasks.c.id == sa.bindparam("task_id"))
    .values({c.name: sa.bindparam(c.name) for c in tasks.columns if c.name != "id"})
)
_INSERT = sa.insert(tasks)

# Well under SQLite's bound-parameter limit, and big enough that the per-batch round trip vanishes.
_IN_CHUNK = 500
_INSERT_BATCH = 5_000


def _filters(statuses: Collection[TaskStatus] | None, owner: str | None,
             narrow: TaskFilter | None = None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if statuses is not None:
        where.append(tasks.c.status.in_([TaskStatus(s).value for s in statuses]))
    if owner is not None:
        where.append(tasks.c.owner == owner)
    if narrow is not None:
        if narrow.actions is not None:
            where.append(tasks.c.action.in_([TaskAction(a).value for a in narrow.actions]))
        if narrow.account_id is not None:
            where.append(tasks.c.account_id == narrow.account_id)
        if narrow.owner is not None:
            where.append(tasks.c.owner == narrow.owner)
        if narrow.parent_id is not None:
            where.append(tasks.c.parent_id == narrow.parent_id)
    return where


class SqlTaskRepository:
    """``TaskRepository`` on SQLAlchemy Core; runs on SQLite and, unchanged, PostgreSQL."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or SystemClock()

    async def insert(self, task: Task) -> None:
        row = task_to_row(task, updated_at=now_ms(self._clock))
        try:
            await self._db.execute_many(_INSERT, [row])
        except (IntegrityError, sqlite3.IntegrityError) as error:
            raise TaskConflict(f"task {task.id} or its nonce {task.nonce} is already stored") from error

    async def update(self, task: Task) -> None:
        version = task.version + 1
        task.version = version  # encode the bumped version into data ...
        try:
            row: dict[str, Any] = task_to_row(task, updated_at=now_ms(self._clock))
            row["task_id"] = row.pop("id")
            async with self._db.write() as conn:
                result = await conn.execute(_UPDATE, row)
        except IntegrityError as error:
            task.version = version - 1  # ... and undo it if nothing was written
            raise TaskConflict(f"nonce {task.nonce} of task {task.id} belongs to another task") from error
        except BaseException:
            task.version = version - 1
            raise
        if result.rowcount == 0:
            task.version = version - 1
            raise TaskNotFound(task.id)

    async def update_many(self, batch: Sequence[Task], *, with_writes: Sequence[SideWrite] = ()) -> None:
        """Write several tasks in one transaction ("group commit"): one round trip for a whole burst
        of progress updates. Rows that no longer exist are skipped; a conflict fails the whole batch."""
        if not batch:
            if with_writes:
                await self._db.execute_batches(with_writes)
            return
        now = now_ms(self._clock)
        rows = []
        for task in batch:
            task.version += 1
            row: dict[str, Any] = task_to_row(task, updated_at=now)
            row["task_id"] = row.pop("id")
            rows.append(row)
        try:
            if with_writes:
                await self._db.execute_batches([(_UPDATE, rows), *with_writes])
            else:
                await self._db.execute_many(_UPDATE, rows)
        except BaseException:
            for task in batch:
                task.version -= 1
            raise

    async def get(self, task_id: str) -> Task | None:
        # The hot path: one primary-key lookup of one column, one json decode, no ORM.
        data = await self._db.scalar(_GET, {"id": task_id})
        return None if data is None else task_from_data(data)

    async def get_many(self, ids: Sequence[str]) -> list[Task]:
        wanted = list(dict.fromkeys(ids))  # dedupe, keep first-seen order
        found: dict[str, Task] = {}
        async with self._db.read() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                result = await conn.execute(sa.select(tasks.c.data).where(tasks.c.id.in_(chunk)))
                for (data,) in result:
                    task = task_from_data(data)
                    found[task.id] = task
        return [found[task_id] for task_id in wanted if task_id in found]

    async def list_page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        statuses: Collection[TaskStatus] | None = None,
        owner: str | None = None,
        narrow: TaskFilter | None = None,
    ) -> list[Task]:
        query = (
            sa.select(tasks.c.data)
            .where(*_filters(statuses, owner, narrow))
            .order_by(tasks.c.id.desc())
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        )
        return await self._select_tasks(query)

    async def count(self, *, statuses: Collection[TaskStatus] | None = None, owner: str | None = None,
                    narrow: TaskFilter | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(tasks).where(*_filters(statuses, owner, narrow))
        async with self._db.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def list_unfinished(self, account_id: str | None = None) -> list[Task]:
        query = sa.select(tasks.c.data).where(*_filters(OPEN_STATUSES, None)).order_by(tasks.c.id)
        if account_id is not None:
            query = query.where(tasks.c.account_id == account_id)
        return await self._select_tasks(query)

    async def find_by_nonce(self, nonce: str) -> Task | None:
        return await self._select_one(_BY_NONCE, {"nonce": nonce})

    async def find_by_message_id(self, message_id: str) -> Task | None:
        return await self._select_one(_BY_MESSAGE, {"message_id": message_id})

    async def delete(self, task_id: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(_DELETE, {"task_id": task_id})
        return bool(result.rowcount)

    async def insert_many(self, tasks: Iterable[Task]) -> None:
        updated_at = now_ms(self._clock)
        batch: list[dict[str, Any]] = []
        for task in tasks:
            batch.append(task_to_row(task, updated_at=updated_at))
            if len(batch) >= _INSERT_BATCH:
                await self._insert_batch(batch)
                batch = []
        if batch:
            await self._insert_batch(batch)

    async def _insert_batch(self, rows: list[dict[str, Any]]) -> None:
        # A list of parameter sets makes SQLAlchemy call the driver's executemany once per batch; one
        # transaction per batch keeps the SQLite write lock free for live traffic in between.
        try:
            await self._db.execute_many(_INSERT, rows)
        except (sqlite3.IntegrityError, IntegrityError) as error:
            raise TaskConflict("a task id or nonce in the batch is already stored") from error

    async def _select_one(self, query: sa.Select[str], params: dict[str, Any]) -> Task | None:
        data = await self._db.scalar(query, params)
        return None if data is None else task_from_data(data)

    async def _select_tasks(self, query: sa.Select[str]) -> list[Task]:
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).scalars().all()
        return [task_from_data(data) for data in rows]
