from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.store import Database, SqlTaskRepository, TaskConflict, TaskNotFound

from .factories import FakeClock, full_task

IdMaker = Callable[[], str]


def _task(task_id: str, status: TaskStatus = TaskStatus.NOT_START, **kw: object) -> Task:
    task = Task(id=task_id, action=TaskAction.IMAGINE, status=status, prompt=f"prompt {task_id}")
    for name, value in kw.items():
        setattr(task, name, value)
    return task


async def test_insert_then_get_returns_an_equal_task(repo: SqlTaskRepository) -> None:
    task = full_task()
    await repo.insert(task)
    assert await repo.get(task.id) == task
    assert await repo.get("0000000000000000") is None


async def test_insert_of_a_duplicate_id_or_nonce_conflicts(repo: SqlTaskRepository, new_id: IdMaker) -> None:
    await repo.insert(_task("1", nonce="n1"))
    with pytest.raises(TaskConflict):
        await repo.insert(_task("1"))
    with pytest.raises(TaskConflict):
        await repo.insert(_task(new_id(), nonce="n1"))


async def test_update_writes_everything_and_bumps_version(
    repo: SqlTaskRepository, db: Database, clock: FakeClock
) -> None:
    task = _task("1")
    await repo.insert(task)
    task.status = TaskStatus.SUCCESS
    task.progress = "100%"
    task.nonce = "n-9"
    task.message_id = "m-9"
    clock.value += 5
    await repo.update(task)
    assert task.version == 1
    stored = await repo.get("1")
    assert stored == task and stored is not None and stored.version == 1
    assert await repo.find_by_nonce("n-9") == task
    assert await repo.count(statuses=[TaskStatus.SUCCESS]) == 1
    async with db.read() as conn:
        row = (await conn.exec_driver_sql("SELECT version, updated_at FROM tasks WHERE id='1'")).one()
    assert tuple(row) == (1, 1_700_000_005_000)


async def test_update_of_a_missing_task_raises_and_keeps_version(repo: SqlTaskRepository) -> None:
    task = _task("missing")
    with pytest.raises(TaskNotFound, match="missing"):
        await repo.update(task)
    assert task.version == 0


async def test_update_to_a_nonce_of_another_task_conflicts(repo: SqlTaskRepository) -> None:
    await repo.insert(_task("1", nonce="a"))
    other = _task("2", nonce="b")
    await repo.insert(other)
    other.nonce = "a"
    with pytest.raises(TaskConflict):
        await repo.update(other)
    assert other.version == 0


async def test_get_many_keeps_the_callers_order(repo: SqlTaskRepository) -> None:
    await repo.insert_many(_task(str(i)) for i in range(10, 20))
    got = await repo.get_many(["15", "nope", "11", "15", "19"])
    assert [t.id for t in got] == ["15", "11", "19"]
    assert await repo.get_many([]) == []
    many = [str(i) for i in reversed(range(10, 20))] * 100  # more ids than one IN chunk
    assert [t.id for t in await repo.get_many(many)] == [str(i) for i in reversed(range(10, 20))]


async def test_list_page_is_newest_first_with_paging_and_filters(
    repo: SqlTaskRepository, new_id: IdMaker
) -> None:
    statuses = [TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.IN_PROGRESS]
    tasks = [_task(new_id(), statuses[i % 3]) for i in range(30)]
    for task in tasks[::2]:
        task.extra["_owner"] = "alice"
    await repo.insert_many(tasks)
    newest_first = [t.id for t in reversed(tasks)]

    assert [t.id for t in await repo.list_page(limit=10)] == newest_first[:10]
    assert [t.id for t in await repo.list_page(offset=10, limit=10)] == newest_first[10:20]
    assert [t.id for t in await repo.list_page(offset=25, limit=10)] == newest_first[25:]
    assert await repo.list_page(offset=30) == []

    done = await repo.list_page(statuses={TaskStatus.SUCCESS, TaskStatus.FAILURE}, limit=100)
    assert [t.id for t in done] == [t.id for t in reversed(tasks) if t.status != TaskStatus.IN_PROGRESS]
    alices = await repo.list_page(owner="alice", statuses=[TaskStatus.SUCCESS])
    assert [t.id for t in alices] == [
        t.id for t in reversed(tasks) if t.extra.get("_owner") == "alice" and t.status == TaskStatus.SUCCESS
    ]

    assert await repo.count() == 30
    assert await repo.count(statuses=[TaskStatus.SUCCESS]) == 10
    assert await repo.count(owner="alice") == 15
    assert await repo.count(statuses=[]) == 0


async def test_list_unfinished_is_oldest_first_and_filters_by_account(
    repo: SqlTaskRepository, new_id: IdMaker
) -> None:
    statuses = list(TaskStatus)
    tasks = [_task(new_id(), statuses[i % len(statuses)], account_id=f"acc{i % 2}") for i in range(21)]
    await repo.insert_many(tasks)
    open_ = {TaskStatus.NOT_START, TaskStatus.MODAL, TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS}
    assert [t.id for t in await repo.list_unfinished()] == [t.id for t in tasks if t.status in open_]
    assert [t.id for t in await repo.list_unfinished("acc1")] == [
        t.id for t in tasks if t.status in open_ and t.account_id == "acc1"
    ]


async def test_find_by_nonce_and_message_id(repo: SqlTaskRepository) -> None:
    await repo.insert(_task("1", nonce="n1", message_id="m1"))
    await repo.insert(_task("2", nonce="n2", message_id="m1"))
    found = await repo.find_by_nonce("n2")
    assert found is not None and found.id == "2"
    assert await repo.find_by_nonce("nx") is None
    by_message = await repo.find_by_message_id("m1")
    assert by_message is not None and by_message.id == "2"  # the newest when several share it
    assert await repo.find_by_message_id("mx") is None


async def test_delete(repo: SqlTaskRepository) -> None:
    await repo.insert(_task("1"))
    assert await repo.delete("1") is True
    assert await repo.delete("1") is False
    assert await repo.get("1") is None


async def test_tasks_survive_close_and_reopen(db_url: str) -> None:
    db = await Database.connect(db_url)
    await SqlTaskRepository(db).insert(full_task())
    await db.close()
    db = await Database.connect(db_url)
    try:
        assert await SqlTaskRepository(db).get(full_task().id) == full_task()
    finally:
        await db.close()


async def test_relative_paths_are_resolved_like_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = await Database.connect("sqlite+aiosqlite:///rel/dir/x.db")
    try:
        await SqlTaskRepository(db).insert(_task("1"))
        assert await SqlTaskRepository(db).get("1") is not None  # the in-loop reader sees the same file
    finally:
        await db.close()
    assert (tmp_path / "rel" / "dir" / "x.db").exists()


async def test_concurrent_updates_and_reads_do_not_fail(repo: SqlTaskRepository, new_id: IdMaker) -> None:
    tasks = [_task(new_id()) for _ in range(20)]
    await repo.insert_many(tasks)

    async def bump(task: Task, step: int) -> None:
        copy = await repo.get(task.id)
        assert copy is not None
        copy.progress = f"{step}%"
        await repo.update(copy)

    # 200 updates (10 per task) interleaved with reads, list and count queries.
    jobs: list[Awaitable[object]] = [bump(tasks[i % 20], i) for i in range(200)]
    jobs += [repo.list_page(limit=5) for _ in range(20)]
    results = await asyncio.gather(*jobs, repo.count(), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await repo.count() == 20


async def test_concurrent_updates_across_two_engines_on_one_file(db_url: str, new_id: IdMaker) -> None:
    # Two Database objects stand in for two processes: their writers are not serialised by one lock,
    # so this exercises busy_timeout rather than the in-process write lock.
    first, second = await Database.connect(db_url), await Database.connect(db_url)
    try:
        repos = [SqlTaskRepository(first), SqlTaskRepository(second)]
        tasks = [_task(new_id()) for _ in range(10)]
        await repos[0].insert_many(tasks)

        async def bump(i: int) -> None:
            task = tasks[i % 10]
            await repos[i % 2].update(_task(task.id, TaskStatus.IN_PROGRESS, progress=f"{i}%"))

        await asyncio.gather(*(bump(i) for i in range(200)))
        assert await repos[1].count(statuses=[TaskStatus.IN_PROGRESS]) == 10
    finally:
        await first.close()
        await second.close()


async def test_insert_many_of_20000_rows_keeps_every_row(repo: SqlTaskRepository, new_id: IdMaker) -> None:
    tasks = [full_task(new_id(), nonce=None) for _ in range(20_000)]
    await repo.insert_many(tasks)
    assert await repo.count() == 20_000
    newest = await repo.list_page(limit=1)
    assert newest[0].id == tasks[-1].id
