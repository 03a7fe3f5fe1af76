"""The callback outbox in the store: written with the task change, sequenced, ordered, dead-lettered."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.engine.commits import GroupCommitter
from mjproxy.engine.events import EventBus, TaskChanged
from mjproxy.notify.outbox import OutboxJournal, OutboxPolicy
from mjproxy.store import LATEST_VERSION, Database, SqlTaskRepository
from mjproxy.store.outbox import INSERT_EVENT, DeliveryStatus, OutboxStore, event_row
from mjproxy.store.schema import schema_version, tasks, webhook_events

from .factories import FakeClock

HOOK = "https://receiver.example/hook"


def hooked_task(task_id: str, hook: str | None = HOOK) -> Task:
    return Task(id=task_id, action=TaskAction.IMAGINE, prompt="a cat", prompt_en="a cat", submit_time=1,
                notify_hook=hook)


async def add(store: OutboxStore, task_id: str, event_id: str, *, at: int = 1000, give_up_at: int = 10_000) -> None:
    await store.write([(INSERT_EVENT, [event_row(event_id=event_id, task_id=task_id, url=HOOK, body="{}",
                                                 task_status="IN_PROGRESS", created_at=at, give_up_at=give_up_at)])])


async def fail(store: OutboxStore, event_id: str, status: DeliveryStatus, next_at: int = 1000) -> None:
    await store.record_attempt(event_id, status=status, at_ms=1000, next_attempt_at=next_at, http_status=500,
                               error="HTTP 500")


async def deliver(store: OutboxStore, event_id: str) -> None:
    await store.record_attempt(event_id, status=DeliveryStatus.DELIVERED, at_ms=1000, next_attempt_at=1000,
                               http_status=200, error=None)


async def test_committer_stores_one_event_per_hooked_change_with_sequences(
        db: Database, repo: SqlTaskRepository, clock: FakeClock) -> None:
    store, bus = OutboxStore(db), EventBus()
    seen_when_announced: list[int] = []
    committer = GroupCommitter(repo, bus, journal=OutboxJournal(store, clock, OutboxPolicy(max_age_seconds=60)))
    hooked, silent = hooked_task("1700000000000001"), hooked_task("1700000000000002", hook=None)
    await repo.insert(hooked)
    await repo.insert(silent)

    async def count_rows() -> int:
        return len(await store.for_task(hooked.id))

    pending: list[TaskChanged] = []
    bus.subscribe(pending.append)
    for status, progress in ((TaskStatus.SUBMITTED, "0%"), (TaskStatus.IN_PROGRESS, "50%"),
                             (TaskStatus.SUCCESS, "100%")):
        for task in (hooked, silent):
            task.status, task.progress = status, progress
            committer.submit(task)
    await committer.flush()
    seen_when_announced.append(await count_rows())

    events = await store.for_task(hooked.id)
    assert [e.sequence for e in events] == [1, 2, 3]
    assert [e.task_status for e in events] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert all(e.status == DeliveryStatus.PENDING and e.url == HOOK for e in events)
    assert all(e.give_up_at == e.created_at + 60_000 for e in events)
    assert '"progress":"50%"' in events[1].body  # the exact body, rendered once at the change
    assert await store.for_task(silent.id) == []  # no hook, no callback
    assert len(pending) == 6 and seen_when_announced == [3]


async def test_not_start_changes_have_no_callback(db: Database, repo: SqlTaskRepository, clock: FakeClock) -> None:
    store = OutboxStore(db)
    committer = GroupCommitter(repo, EventBus(), journal=OutboxJournal(store, clock, OutboxPolicy()))
    task = hooked_task("1700000000000003")
    await repo.insert(task)
    committer.submit(task)
    await committer.flush()
    assert await store.for_task(task.id) == []


async def test_a_failing_outbox_write_rolls_the_task_change_back(db: Database, repo: SqlTaskRepository) -> None:
    # One transaction: if the outbox row cannot be written, the task change is not stored either.
    store = OutboxStore(db)
    task = hooked_task("1700000000000004")
    await repo.insert(task)
    await add(store, task.id, "taken-id")
    task.status = TaskStatus.SUBMITTED
    duplicate = event_row(event_id="taken-id", task_id=task.id, url=HOOK, body="{}", task_status="SUBMITTED",
                          created_at=1, give_up_at=2)
    try:
        await repo.update_many([task], with_writes=[(INSERT_EVENT, [duplicate])])
    except Exception:
        pass
    else:
        raise AssertionError("a duplicate event id must fail the batch")
    async with db.read() as conn:
        status = (await conn.execute(sa.select(tasks.c.status).where(tasks.c.id == task.id))).scalar_one()
        rows = (await conn.execute(sa.select(sa.func.count()).select_from(webhook_events))).scalar_one()
    assert status == "NOT_START" and rows == 1


async def test_only_the_first_undelivered_event_of_a_task_is_due(db: Database) -> None:
    store = OutboxStore(db)
    for event_id in ("a1", "a2", "a3"):
        await add(store, "A", event_id)
    await add(store, "B", "b1")
    assert sorted(e.id for e in await store.due(5000, 10)) == ["a1", "b1"]
    assert [e.id for e in await store.due(5000, 10, skip_tasks={"A"})] == ["b1"]
    await fail(store, "a1", DeliveryStatus.PENDING, next_at=3000)
    assert [e.id for e in await store.due(2000, 10)] == ["b1"]  # a1 backs off; a2 still waits behind it
    assert await store.next_due_at() == 1000  # b1
    assert await store.next_due_at(skip_tasks={"B"}) == 3000  # a1's retry; a2 (due long ago) is blocked
    assert await store.next_due_at(skip_tasks={"A", "B"}) is None
    await deliver(store, "a1")
    assert sorted(e.id for e in await store.due(2000, 10)) == ["a2", "b1"]
    a1 = await store.get("a1")
    assert a1 is not None and a1.attempts == 2 and a1.delivered_at == 1000 and a1.last_error == "HTTP 500"


async def test_a_dead_event_takes_the_later_ones_with_it_and_a_retry_brings_all_back(db: Database) -> None:
    store = OutboxStore(db)
    for event_id in ("a1", "a2", "a3"):
        await add(store, "A", event_id)
    await add(store, "B", "b1")
    await deliver(store, "a1")
    await fail(store, "a2", DeliveryStatus.DEAD)
    states = {e.id: e.status for e in await store.for_task("A")}
    assert states == {"a1": DeliveryStatus.DELIVERED, "a2": DeliveryStatus.DEAD, "a3": DeliveryStatus.DEAD}
    a3 = await store.get("a3")
    assert a3 is not None and a3.attempts == 0 and "earlier callback" in (a3.last_error or "")
    dead, total = await store.page([DeliveryStatus.DEAD], offset=0, limit=10)
    assert [e.id for e in dead] == ["a2", "a3"] and total == 2
    # A new change of the task after its stream died waits behind the dead event, and dies with it.
    await add(store, "A", "a4")
    assert [e.id for e in await store.due(5000, 10)] == ["b1"]
    assert await store.cascade_dead() == 1

    assert await store.retry_task("A", now_ms=6000, give_up_at=9000) == 3
    assert [e.id for e in await store.due(6000, 10) if e.task_id == "A"] == ["a2"]
    a2 = await store.get("a2")
    assert a2 is not None and a2.status == DeliveryStatus.PENDING and a2.attempts == 0 and a2.give_up_at == 9000


async def test_pruning_keeps_the_newest_event_so_sequences_keep_counting(db: Database) -> None:
    store = OutboxStore(db)
    for event_id in ("a1", "a2"):
        await add(store, "A", event_id, at=100)
        await deliver(store, event_id)
    assert await store.prune_delivered(before_ms=200) == 1
    await add(store, "A", "a3", at=300)
    assert [(e.id, e.sequence) for e in await store.for_task("A")] == [("a2", 2), ("a3", 3)]


async def test_the_migrated_outbox_table_matches_a_fresh_one(db_url: str, new_db_url: Callable[[], str]) -> None:
    def shape(conn: sa.Connection) -> tuple[list[tuple[str, str, bool]], list[tuple[str, tuple[str, ...], bool]]]:
        inspector = sa.inspect(conn)
        columns = [(c["name"], str(c["type"]), bool(c["nullable"])) for c in inspector.get_columns("webhook_events")]
        indexes = sorted((str(i["name"]), tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                         for i in inspector.get_indexes("webhook_events"))
        return columns, indexes

    fresh = await Database.connect(new_db_url())
    async with fresh.engine.connect() as conn:
        expected = await conn.run_sync(shape)
    await fresh.close()

    old = await Database.connect(db_url)  # then taken back to version 2: no outbox yet
    async with old.write() as conn:
        await conn.exec_driver_sql("DROP TABLE webhook_events")
        await conn.execute(sa.delete(schema_version).where(schema_version.c.version > 2))
    await old.close()
    migrated = await Database.connect(db_url)
    try:
        assert migrated.schema_version == LATEST_VERSION
        async with migrated.engine.connect() as conn:
            assert await conn.run_sync(shape) == expected
    finally:
        await migrated.close()
