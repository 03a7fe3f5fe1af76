from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from mjproxy.domain.account import AccountState
from mjproxy.domain.task import Task, TaskAction
from mjproxy.engine.ports import AccountPort, NonceAssigner
from mjproxy.engine.scheduler import NoAccountAvailable, QueueFull, Scheduler


@dataclass
class FakeAccount:
    id: str
    core_size: int = 2
    queue_size: int = 2
    timeout_minutes: float = 5
    state: AccountState = AccountState.READY
    state_reason: str | None = None
    state_since: float = 0.0
    name: str = field(default="")

    async def imagine(self, prompt: str, assign_nonce: NonceAssigner) -> None:
        raise AssertionError("not used")


@dataclass
class Runner:
    """The scheduler's TaskRunner, running each task through a test's function."""

    run: Callable[[AccountPort, Task], Awaitable[None]]

    async def execute(self, account: AccountPort, task: Task) -> None:
        await self.run(account, task)


def make(task_id: str, account: str = "a") -> Task:
    return Task(id=task_id, action=TaskAction.IMAGINE, account_id=account)


async def test_slots_then_queue_then_full_and_release_drains() -> None:
    started: list[str] = []
    gate = asyncio.Event()

    async def executor(account: AccountPort, task: Task) -> None:
        started.append(task.id)
        await gate.wait()

    scheduler = Scheduler(Runner(executor))
    account = FakeAccount("a")
    scheduler.register(account)
    queue = scheduler.choose()
    placements = [scheduler.enqueue(queue, make(str(i))) for i in range(4)]
    assert [p.waiting_ahead for p in placements] == [0, 0, 0, 1]
    with pytest.raises(QueueFull):
        scheduler.enqueue(queue, make("5"))
    with pytest.raises(QueueFull):
        scheduler.choose()
    await asyncio.sleep(0)
    assert started == ["0", "1"]
    scheduler.release(make("0"))
    await asyncio.sleep(0)
    assert started == ["0", "1", "2"]
    assert [t.id for t in scheduler.snapshot()] == ["1", "2", "3"]
    gate.set()
    await scheduler.shutdown()


async def test_best_wait_idle_prefers_the_idle_account_and_skips_unhealthy() -> None:
    async def executor(account: AccountPort, task: Task) -> None:
        await asyncio.sleep(10)

    scheduler = Scheduler(Runner(executor))
    busy, idle, broken = FakeAccount("busy"), FakeAccount("idle"), FakeAccount("broken")
    broken.state = AccountState.AUTH_FAILED
    for account in (busy, idle, broken):
        scheduler.register(account)
    busy_queue = scheduler.queue_of("busy")
    assert busy_queue is not None
    scheduler.enqueue(busy_queue, make("x", "busy"))
    scheduler.enqueue(busy_queue, make("y", "busy"))
    for _ in range(10):
        chosen = scheduler.choose()
        assert chosen.account.id == "idle"
        scheduler.unreserve(chosen)  # a choice holds a place until its task is enqueued
    with pytest.raises(NoAccountAvailable, match="auth_failed"):
        scheduler.choose(account_id="broken")
    with pytest.raises(NoAccountAvailable, match="no account with"):
        scheduler.choose(account_id="unknown")
    await scheduler.shutdown()


async def test_a_burst_of_choices_spreads_over_accounts_before_anything_is_enqueued() -> None:
    async def executor(account: AccountPort, task: Task) -> None:
        await asyncio.sleep(10)

    scheduler = Scheduler(Runner(executor))
    for name in ("a", "b", "c", "d"):
        scheduler.register(FakeAccount(name, core_size=1, queue_size=10))
    chosen = [scheduler.choose().account.id for _ in range(8)]  # 8 submits in flight, none stored yet
    assert sorted(chosen) == ["a", "a", "b", "b", "c", "c", "d", "d"]
    await scheduler.shutdown()
