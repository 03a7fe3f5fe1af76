"""Where a /v2 job may run (engine/capacity.py): useapi never queues, so a full account is a 429 naming the
jobs it runs, an account waiting for a human a 596, one without subscription a 402."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mjproxy.domain.account import AccountDefinition, AccountState
from mjproxy.domain.task import Task, TaskAction
from mjproxy.engine.capacity import Capacity
from mjproxy.engine.jobs import JobRefused
from mjproxy.engine.scheduler import Scheduler


@dataclass
class FakeAccount:
    id: str
    core_size: int = 3
    queue_size: int = 10
    timeout_minutes: float = 5
    state: AccountState = AccountState.READY
    state_reason: str | None = None
    state_since: float = 0.0
    name: str = field(default="")
    remix: bool = False


class Definitions:
    def __init__(self, *ids: str) -> None:
        self._known = {i: AccountDefinition(channel_id=i, guild_id="g" + i, user_token="token-" + i) for i in ids}

    def definition(self, account_id: str) -> AccountDefinition | None:
        return self._known.get(account_id)


class NeverRuns:
    async def execute(self, account: Any, task: Task) -> None:
        raise AssertionError("nothing is executed in these tests")


def capacity(*accounts: FakeAccount, known: tuple[str, ...] = ()) -> tuple[Capacity, Scheduler]:
    scheduler = Scheduler(NeverRuns())
    for account in accounts:
        scheduler.register(account)
    return Capacity(scheduler, Definitions(*[a.id for a in accounts], *known)), scheduler  # type: ignore[arg-type]


def refusal(call: Any, *args: Any) -> JobRefused:
    with pytest.raises(JobRefused) as caught:
        call(*args)
    return caught.value


def fill(scheduler: Scheduler, account_id: str, count: int) -> list[str]:
    queue = scheduler.queue_of(account_id)
    assert queue is not None
    ids = [f"{account_id}-{n}" for n in range(count)]
    for task_id in ids:
        queue.waiting.append(Task(id=task_id, action=TaskAction.IMAGINE, account_id=account_id))
    return ids


def test_max_jobs_is_capped_by_the_accounts_slots_and_a_full_account_is_a_429_with_its_jobs() -> None:
    desk, scheduler = capacity(FakeAccount("a", core_size=3))
    assert desk.on_account("a", 10)[1] == 3  # more than core_size would queue, which useapi never does
    assert desk.on_account("a", 2)[1] == 2
    jobs = fill(scheduler, "a", 2)
    full = refusal(desk.on_account, "a", 2)
    assert (full.status, full.fields["executingJobs"]) == (429, jobs)
    assert desk.on_account("a", None)[1] == 3  # without maxJobs: the account's own slots


def test_accounts_that_cannot_take_work_say_why() -> None:
    waiting = FakeAccount("w", state=AccountState.CAPTCHA_REQUIRED, state_reason="the human check")
    unpaid = FakeAccount("s", state=AccountState.SUBSCRIPTION_REQUIRED)
    gone = FakeAccount("d", state=AccountState.AUTH_FAILED)
    desk, _ = capacity(waiting, unpaid, gone, known=("off",))
    assert (refusal(desk.on_account, "w", None).status, refusal(desk.on_account, "w", None).fields) == (
        596, {"errorDetails": "the human check"})
    assert refusal(desk.on_account, "s", None).status == 402
    assert refusal(desk.on_account, "d", None).status == 503
    assert refusal(desk.on_account, "off", None).status == 503  # configured but not running
    assert refusal(desk.on_account, "nobody", None).status == 400
    # No account is healthy: the one that needs a human is the answer that helps most.
    assert refusal(desk.choose, None, None).status == 596


def test_choose_takes_a_healthy_account_with_room_and_only_then_answers_429() -> None:
    desk, scheduler = capacity(FakeAccount("a", core_size=1), FakeAccount("b", core_size=1),
                               FakeAccount("h", state=AccountState.PENDING_MOD_MESSAGE))
    fill(scheduler, "a", 1)
    assert all(desk.choose(None, None)[0].account.id == "b" for _ in range(20))
    fill(scheduler, "b", 1)
    assert refusal(desk.choose, None, None).status == 429
    assert refusal(capacity()[0].choose, None, None).status == 404  # no account configured at all


def test_a_request_naming_the_token_or_server_must_name_the_configured_account() -> None:
    desk, _ = capacity(FakeAccount("a"))
    queue, _ = desk.on_account("a", None)
    desk.check_identity(queue, "token-a", "ga")
    assert refusal(desk.check_identity, queue, "token-x", None).status == 400
    assert refusal(desk.check_identity, queue, None, "gx").status == 400
