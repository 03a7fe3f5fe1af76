"""(e) Time to choose an account among 500, per selection rule. Target: p99 < 1 ms.

Pure: 500 fake candidates with varied load, allowed modes, remarks, remix, health and daily limits; a
mix of requests (no filter, a speed mode, a remark, remix, a pin); 100,000 ``Selector.choose`` calls per
rule, each timed on its own with ``perf_counter_ns``. Also times what the scheduler pays to describe
its 500 accounts as fresh ``Candidate`` objects on every choice, to size that part of the integration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import time
from dataclasses import dataclass

from mjproxy.domain.account import AccountDefinition, AccountState, SelectionRule, SpeedMode
from mjproxy.domain.task import Task, TaskAction
from mjproxy.engine.scheduler import NoAccountAvailable, QueueFull, Scheduler
from mjproxy.engine.selection import AllFull, Candidate, Criteria, NoMatch, Selector

REMARKS = ["team-a", "team-b", "pro", "backup", ""]
MODE_SETS = [list(SpeedMode), [SpeedMode.RELAX], [SpeedMode.FAST, SpeedMode.RELAX], [SpeedMode.TURBO]]
STATES = [AccountState.READY] * 17 + [AccountState.CONNECTING, AccountState.CAPTCHA_REQUIRED,
                                      AccountState.FAST_EXHAUSTED]


def candidates(count: int, rng: random.Random) -> list[Candidate]:
    out = []
    for i in range(count):
        account_id = str(1_100_000_000_000_000_000 + i * 7919)
        definition = AccountDefinition(
            channel_id=account_id, guild_id="1", user_token="x", name=f"acct-{i}", core_size=3, queue_size=10,
            weight=rng.choice([0, 1, 1, 2, 5]), remark=rng.choice(REMARKS), modes=rng.choice(MODE_SETS),
            daily_limit=rng.choice([0, 0, 0, 200]), remix_auto_submit=rng.random() < 0.2,
            enabled=rng.random() > 0.02)
        out.append(Candidate(account_id=account_id, name=definition.name, state=rng.choice(STATES),
                             definition=definition, remix=rng.random() < 0.3, fast_exhausted=rng.random() < 0.1,
                             running=rng.randint(0, 3), waiting=rng.choice([0, 0, 0, 1, 4, 10]),
                             jobs_today=rng.randint(0, 250)))
    return out


REQUESTS = [Criteria()] * 6 + [
    Criteria(modes=(SpeedMode.FAST,)),
    Criteria(modes=(SpeedMode.RELAX, SpeedMode.FAST)),
    Criteria(remark="team-a"),
    Criteria(remix=False, remix_auto_considered=True),
]


def percentile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(1)
    pool = candidates(args.accounts, rng)
    pinned = Criteria(account_id=pool[args.accounts // 2].account_id)
    requests = [*REQUESTS, pinned]
    print(f"{args.accounts} candidates, {args.calls:,} choices per rule, request mix of {len(requests)} kinds")
    gc.collect()
    gc.freeze()  # as the server does after start-up: keep full collections of the fixture out of the figures
    for rule in SelectionRule:
        selector = Selector(rule, random.Random(2))
        timings: list[int] = []
        outcomes = {"chosen": 0, "no match": 0, "all full": 0}
        clock = time.perf_counter_ns
        for n in range(args.calls):
            criteria = requests[n % len(requests)]
            start = clock()
            try:
                selector.choose(pool, criteria)
                outcome = "chosen"
            except NoMatch:
                outcome = "no match"
            except AllFull:
                outcome = "all full"
            timings.append(clock() - start)
            outcomes[outcome] += 1
        timings.sort()
        print(f"{rule.value:>16}: p50 {percentile(timings, 0.5) / 1000:6.1f} µs  "
              f"p99 {percentile(timings, 0.99) / 1000:6.1f} µs  max {timings[-1] / 1000:7.1f} µs  {outcomes}")
    asyncio.run(through_the_scheduler(pool, requests))


@dataclass
class _Account:
    """Just what the Scheduler reads of an account."""

    id: str
    name: str
    definition: AccountDefinition
    core_size: int = 3
    queue_size: int = 10
    timeout_minutes: float = 5.0
    state: AccountState = AccountState.READY
    state_reason: str | None = None
    state_since: float = 0.0
    remix: bool = False
    fast_exhausted: bool = False


async def through_the_scheduler(pool: list[Candidate], requests: list[Criteria], calls: int = 20_000) -> None:
    """The whole choice as the engine makes it: Scheduler.select (cached candidates + Selector) while the
    load keeps changing (a third of the choices are enqueued, a fifth release a running task)."""

    class Sleeper:  # the scheduler's TaskRunner: a started task just holds its slot
        async def execute(self, account: object, task: Task) -> None:
            await asyncio.sleep(3600)

    scheduler = Scheduler(Sleeper())  # type: ignore[arg-type]
    for c in pool:
        scheduler.register(_Account(c.account_id, c.name, c.definition, c.definition.core_size,  # type: ignore[arg-type]
                                    c.definition.queue_size))
    timings: list[int] = []
    for n in range(calls):
        start = time.perf_counter_ns()
        try:
            queue, _ = scheduler.select(requests[n % len(requests)])
        except (NoAccountAvailable, QueueFull):
            timings.append(time.perf_counter_ns() - start)
            continue
        timings.append(time.perf_counter_ns() - start)
        if n % 3 == 0:
            with contextlib.suppress(QueueFull):
                scheduler.enqueue(queue, Task(id=str(n), action=TaskAction.IMAGINE, account_id=queue.account.id))
        else:
            scheduler.unreserve(queue)
        if n % 5 == 0 and queue.running:
            scheduler.release(next(iter(queue.running.values())))
    timings.sort()
    print(f"  Scheduler.select: p50 {percentile(timings, 0.5) / 1000:6.1f} µs  "
          f"p99 {percentile(timings, 0.99) / 1000:6.1f} µs  max {timings[-1] / 1000:7.1f} µs "
          f"({len(pool)} accounts, changing load) — target p99 < 1000 µs")
    await scheduler.shutdown()


if __name__ == "__main__":
    main()
