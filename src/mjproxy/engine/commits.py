"""Group commit: persist task changes in batches, then announce them (DESIGN invariant 5).

Each progress update used to cost one transaction and two thread hand-offs (~1 ms with aiosqlite),
and the gateway loop waited for it, so a burst of 50 jobs queued ~500 writes behind each other and a
final message waited hundreds of milliseconds to be recorded. Here a single writer drains everything
pending into one transaction per flush. Changes are announced in submission order and only after the
batch that holds them is durable; the store always holds a state at least as new as any announced one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from ..domain.task import Task
from ..store.repository import SideWrite, TaskRepository
from .events import EventBus, TaskChanged

log = logging.getLogger(__name__)


class ChangeJournal(Protocol):
    """Records that must be stored together with the changes they describe (the callback outbox)."""

    def writes_for(self, events: Sequence[TaskChanged]) -> list[SideWrite]:
        """Statements to commit in the same transaction as these changes."""

    async def record(self, events: Sequence[TaskChanged]) -> None:
        """Store them on their own (after a change that had to be written alone), before it is announced."""


class GroupCommitter:
    def __init__(self, repo: TaskRepository, bus: EventBus, *, journal: ChangeJournal | None = None) -> None:
        self._repo = repo
        self._bus = bus
        self._journal = journal
        self._pending: list[tuple[Task, TaskChanged, asyncio.Future[None]]] = []
        self._inserts: list[tuple[Task, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.writes = 0

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._run(), name="group-committer")

    async def stop(self) -> None:
        """Flush what is pending, then stop the writer."""
        if self._writer is None:
            return
        await self.flush()
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    def submit(self, task: Task) -> asyncio.Future[None]:
        """Queue ``task``'s current state; the future resolves once it is stored and announced."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((task, TaskChanged.of(task), future))
        self._wakeup.set()
        if self._writer is None:  # not started (unit tests, shutdown): write inline, still in order
            asyncio.get_running_loop().create_task(self._drain())
        return future

    def insert(self, task: Task) -> asyncio.Future[None]:
        """Queue a new task's first write. A burst of submissions becomes a few batched inserts instead of
        one transaction each, which would otherwise hold the write lock ahead of the first jobs' nonces."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inserts.append((task, future))
        self._wakeup.set()
        if self._writer is None:
            asyncio.get_running_loop().create_task(self._drain())
        return future

    async def flush(self) -> None:
        while self._pending or self._inserts:
            await self._drain()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._drain()

    async def _drain(self) -> None:
        while self._inserts:
            inserts, self._inserts = self._inserts, []
            await self._insert_batch(inserts)
        while self._pending:
            batch, self._pending = self._pending, []
            latest: dict[str, Task] = {}
            for task, _, _ in batch:
                latest[task.id] = task  # one write per task per batch: its newest state
            try:
                writes = self._journal.writes_for([event for _, event, _ in batch]) if self._journal else []
                await self._repo.update_many(list(latest.values()), with_writes=writes)
            except Exception:
                log.exception("batched write of %d task(s) failed; retrying them one by one", len(latest))
                await self._write_one_by_one(batch)
                continue
            self.batches += 1
            self.writes += len(latest)
            for _, event, future in batch:
                self._bus.publish(event)
                if not future.done():
                    future.set_result(None)

    async def _insert_batch(self, inserts: list[tuple[Task, asyncio.Future[None]]]) -> None:
        try:
            await self._repo.insert_many([task for task, _ in inserts])
        except Exception:
            # One bad row (a duplicate) must not fail its neighbours: find it by inserting one by one.
            for task, future in inserts:
                try:
                    await self._repo.insert(task)
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                    continue
                if not future.done():
                    future.set_result(None)
            return
        for _, future in inserts:
            if not future.done():
                future.set_result(None)

    async def _write_one_by_one(self, batch: list[tuple[Task, TaskChanged, asyncio.Future[None]]]) -> None:
        failed: set[str] = set()
        for task in {t.id: t for t, _, _ in batch}.values():
            try:
                await self._repo.update(task)
            except Exception as exc:
                failed.add(task.id)
                log.error("could not store task %s: %s", task.id, exc)
        if self._journal is not None:
            try:
                await self._journal.record([event for task, event, _ in batch if task.id not in failed])
            except Exception:
                log.exception("could not record the journal of %d stored task change(s)", len(batch))
        for task, event, future in batch:
            if task.id in failed:
                if not future.done():
                    future.set_exception(RuntimeError(f"task {task.id} could not be stored"))
                continue
            self._bus.publish(event)
            if not future.done():
                future.set_result(None)
