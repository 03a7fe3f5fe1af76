"""engine/dispatch.py on the real engine parts (store on SQLite, committer, tracker, scheduler, service):
a task that gets a slot is sent nonce first; a send that fails frees the slot; events wait for recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mjproxy.domain.account import AccountState
from mjproxy.domain.clock import SystemClock
from mjproxy.domain.task import TaskStatus
from mjproxy.engine.commits import GroupCommitter
from mjproxy.engine.dispatch import Dispatch
from mjproxy.engine.events import EventBus
from mjproxy.engine.ports import AccountPort, NonceAssigner
from mjproxy.engine.reconcile import HistoryReconciler
from mjproxy.engine.scheduler import Scheduler
from mjproxy.engine.service import EngineLimits, ImagineRequest, SubmitCode, TaskService
from mjproxy.engine.tracker import Tracker
from mjproxy.midjourney.errors import SubmitError
from mjproxy.midjourney.events import MessageDeleted
from mjproxy.midjourney.interactions import InteractionSpec, SlashSpec, Upload
from mjproxy.store.database import Database
from mjproxy.store.repository import SqlTaskRepository


@dataclass
class Account:
    """An account port that records what it was asked to send and what was stored when it sent it."""

    tracker: Tracker | None = None
    refuse: str | None = None
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # a send waits for it when refusing
    id: str = "1200000000000000001"
    name: str = "a"
    core_size: int = 1
    queue_size: int = 5
    timeout_minutes: float = 5.0
    state: AccountState = AccountState.READY
    state_reason: str | None = None
    state_since: float = 0.0
    remix: bool = False
    sent: list[tuple[str, str | None]] = field(default_factory=list)  # (prompt, nonce stored on the task)

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        if self.refuse:
            await self.gate.wait()
            raise SubmitError(self.refuse)
        await assign_nonce("1573679818409508864")
        assert isinstance(spec, SlashSpec) and self.tracker is not None
        live = [t for t in self.tracker.live_tasks() if t.nonce is not None]
        self.sent.append((str(spec.options[0]["value"]), live[0].nonce if live else None))
        return None

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        raise AssertionError("not used")

    async def fetch_seed(self, job_hash: str) -> str:
        raise AssertionError("not used")


class Directory:
    def __init__(self, account: Account) -> None:
        self.account = account

    def get(self, account_id: str) -> AccountPort | None:
        return self.account if account_id == self.account.id else None


@dataclass
class Engine:
    dispatch: Dispatch
    scheduler: Scheduler
    tracker: Tracker
    service: TaskService
    account: Account


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    clock = SystemClock()
    db = await Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}")
    repo = SqlTaskRepository(db, clock=clock)
    committer = GroupCommitter(repo, EventBus())
    committer.start()
    dispatch = Dispatch()
    scheduler = Scheduler(dispatch, clock=clock)
    tracker = Tracker(committer, clock, slots=scheduler)
    account = Account(tracker=tracker)
    directory = Directory(account)
    service = TaskService(repo, tracker, scheduler, clock, EngineLimits(), accounts=directory,
                          uploads_dir=tmp_path / "uploads")
    dispatch.connect(tracker, HistoryReconciler(tracker, directory, clock), service)
    scheduler.register(account)
    yield Engine(dispatch, scheduler, tracker, service, account)
    await scheduler.shutdown()
    await committer.stop()
    await db.close()


async def settled(engine: Engine, task_id: str, status: TaskStatus) -> None:
    for _ in range(200):
        stored = await engine.service.get(task_id)
        if stored is not None and stored.status == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"task {task_id} never became {status}: {stored}")


async def test_a_task_with_a_slot_is_sent_with_its_nonce_stored_first(engine: Engine) -> None:
    result = await engine.service.submit_imagine(ImagineRequest("a red fox"))
    assert result.code == SubmitCode.SUCCESS and result.result
    await settled(engine, result.result, TaskStatus.SUBMITTED)
    assert engine.account.sent == [("a red fox", "1573679818409508864")]
    stored = await engine.service.get(result.result)
    assert stored is not None and stored.nonce == "1573679818409508864"


async def test_a_send_that_fails_fails_the_task_and_frees_the_slot_for_the_next(engine: Engine) -> None:
    engine.account.refuse = "Discord rejected the interaction: 400"
    first = await engine.service.submit_imagine(ImagineRequest("first"))
    second = await engine.service.submit_imagine(ImagineRequest("second"))
    assert first.result and second.result
    queue = engine.scheduler.queue_of(engine.account.id)
    assert queue is not None and list(queue.running) == [first.result]  # one slot: the second one waits
    assert [t.id for t in queue.waiting] == [second.result]
    engine.account.gate.set()
    await settled(engine, first.result, TaskStatus.FAILURE)
    await settled(engine, second.result, TaskStatus.FAILURE)  # it got the slot the first one freed
    failed = await engine.service.get(first.result)
    assert failed is not None and failed.fail_reason == "Discord rejected the interaction: 400"
    assert not queue.running and not queue.waiting


async def test_account_events_wait_until_the_stored_tasks_are_taken_back(engine: Engine) -> None:
    delivery = asyncio.ensure_future(engine.dispatch.deliver(engine.account.id, MessageDeleted("5", "c")))
    await asyncio.sleep(0.05)
    assert not delivery.done()
    engine.dispatch.open()
    await asyncio.wait_for(delivery, 1)


async def test_a_dispatch_not_yet_connected_says_so() -> None:
    with pytest.raises(RuntimeError, match="not connected"):
        await Dispatch().execute(Account(), None)  # type: ignore[arg-type]
