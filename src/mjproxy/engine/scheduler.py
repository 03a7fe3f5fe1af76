"""Per-account queues with running slots, and the choice of account for new work.

Each account runs at most ``core_size`` tasks at once (a slot is held from the Discord submit until the
task ends) and keeps at most ``queue_size`` waiting. A task leaves its slot through :meth:`release`,
which immediately starts the next waiting task on that account.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from ..domain.account import AccountDefinition, SelectionRule, SpeedMode
from ..domain.clock import Clock, SystemClock
from ..domain.task import Task
from .ports import AccountPort, TaskRunner
from .selection import AllFull, Candidate, Criteria, NoMatch, Selector

log = logging.getLogger(__name__)

class NoAccountAvailable(Exception):
    """No enabled, healthy account matches the request; the message says why."""


class QueueFull(Exception):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"the queue of account {account_id} is full, try again later")
        self.account_id = account_id


def _definition_of(account: AccountPort) -> AccountDefinition:
    definition = getattr(account, "definition", None)
    if isinstance(definition, AccountDefinition):
        return definition
    # Accounts without a stored definition (tests, embedded use): one built once from their limits.
    fallback = _FALLBACK_DEFINITIONS.get(account.id)
    if fallback is None or fallback.core_size != account.core_size or fallback.queue_size != account.queue_size:
        fallback = _FALLBACK_DEFINITIONS[account.id] = AccountDefinition(
            channel_id=account.id, guild_id="", user_token="", name=account.name, core_size=account.core_size,
            queue_size=account.queue_size)
    return fallback


_FALLBACK_DEFINITIONS: dict[str, AccountDefinition] = {}


@dataclass(eq=False)
class AccountQueue:
    account: AccountPort
    running: dict[str, Task] = field(default_factory=dict)
    waiting: deque[Task] = field(default_factory=deque)
    jobs_today: int = 0  # jobs started since midnight UTC (daily limits)
    day: int = 0  # the UTC day jobs_today counts
    # Chosen but not yet enqueued (the task is being stored): counted as waiting, or a burst of submits
    # would all see the same empty accounts and pile onto a random few of them.
    reserved: int = 0
    _candidate: Candidate | None = None

    def candidate(self, today: int) -> Candidate:
        """This account as selection sees it; rebuilt only when something it shows has changed."""
        account, cached = self.account, self._candidate
        definition = _definition_of(account)
        jobs = self.jobs_today if self.day == today else 0
        waiting = len(self.waiting) + self.reserved
        remix, exhausted = bool(getattr(account, "remix", False)), bool(getattr(account, "fast_exhausted", False))
        if (cached is None or cached.state is not account.state or cached.definition is not definition
                or cached.running != len(self.running) or cached.waiting != waiting or cached.jobs_today != jobs
                or cached.remix != remix or cached.fast_exhausted != exhausted):
            cached = self._candidate = Candidate(account.id, account.name, account.state, definition, remix,
                                                 exhausted, len(self.running), waiting, jobs)
        return cached

    @property
    def free_slots(self) -> int:
        return max(0, self.account.core_size - len(self.running))

    @property
    def wait_score(self) -> int:
        """midjourney-proxy's BestWaitIdle measure: (queued + running) − core size, floored at −1."""
        return max(-1, len(self.waiting) + len(self.running) - self.account.core_size)


@dataclass(frozen=True, slots=True)
class Placement:
    account_id: str
    waiting_ahead: int  # tasks waiting before this one (0 → submitted right away or next in line)


class Scheduler:
    def __init__(self, runner: TaskRunner, clock: Clock | None = None, *,
                 rule: SelectionRule = SelectionRule.BEST_WAIT_IDLE) -> None:
        self._runner = runner
        self._selector = Selector(rule)
        self._clock: Clock = clock or SystemClock()
        self._queues: dict[str, AccountQueue] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- accounts -------------------------------------------------------------------------------
    def register(self, account: AccountPort) -> None:
        self._queues[account.id] = AccountQueue(account)

    def unregister(self, account_id: str) -> AccountQueue | None:
        return self._queues.pop(account_id, None)

    def queue_of(self, account_id: str) -> AccountQueue | None:
        return self._queues.get(account_id)

    def queues(self) -> list[AccountQueue]:
        return list(self._queues.values())

    # -- choosing -------------------------------------------------------------------------------
    def choose(self, *, account_id: str | None = None, criteria: Criteria | None = None) -> AccountQueue:
        return self.select(criteria or Criteria(account_id=account_id))[0]

    def select(self, criteria: Criteria) -> tuple[AccountQueue, SpeedMode | None]:
        """The account for new work by the configured rule, and the speed mode the job must run in.

        Raises NoAccountAvailable naming why each account was excluded, or QueueFull when every account
        that fits is full.
        """
        if not self._queues:
            raise NoAccountAvailable("no account is configured")
        if criteria.account_id is not None and criteria.account_id not in self._queues:
            raise NoAccountAvailable(f"no account with instance/channel id {criteria.account_id}")
        today = int(self._clock.now() // 86_400)
        candidates = [q.candidate(today) for q in self._queues.values()]
        try:
            choice = self._selector.choose(candidates, criteria)
        except NoMatch as exc:
            raise NoAccountAvailable(str(exc)) from None
        except AllFull as exc:
            raise QueueFull(exc.account_ids[0] if exc.account_ids else "") from None
        queue = self._queues[choice.account_id]
        queue.reserved += 1  # released by enqueue() or unreserve()
        return queue, choice.mode

    def unreserve(self, queue: AccountQueue) -> None:
        """The chosen task never reached enqueue() (its insert failed)."""
        queue.reserved = max(0, queue.reserved - 1)

    # -- queueing -------------------------------------------------------------------------------
    def enqueue(self, queue: AccountQueue, task: Task) -> Placement:
        self.unreserve(queue)
        if queue.free_slots > 0 and not queue.waiting:
            self._start(queue, task)
            return Placement(queue.account.id, 0)
        if len(queue.waiting) >= queue.account.queue_size:
            raise QueueFull(queue.account.id)
        ahead = len(queue.waiting)
        queue.waiting.append(task)
        return Placement(queue.account.id, ahead)

    def adopt(self, queue: AccountQueue, task: Task) -> None:
        """Hold a slot for a task already on Discord (after a restart) without sending it again."""
        queue.running[task.id] = task

    def enqueue_recovered(self, queue: AccountQueue, task: Task) -> None:
        """Requeue a task that never reached Discord, ignoring the queue limit: it was accepted before."""
        queue.waiting.append(task)
        self._drain(queue)

    def release(self, task: Task) -> None:
        """Free the slot (or the waiting place) of a finished task and start the next one."""
        queue = self._queues.get(task.account_id or "")
        if queue is None:
            return
        if queue.running.pop(task.id, None) is None:
            for waiting in list(queue.waiting):
                if waiting.id == task.id:
                    queue.waiting.remove(waiting)
                    break
        self._drain(queue)

    def drain(self, account_id: str) -> None:
        """Start waiting tasks if the account now has room (limits raised, account reset)."""
        queue = self._queues.get(account_id)
        if queue is not None and queue.account.state.accepts_work:
            self._drain(queue)

    def _drain(self, queue: AccountQueue) -> None:
        while queue.waiting and queue.free_slots > 0:
            self._start(queue, queue.waiting.popleft())

    def _start(self, queue: AccountQueue, task: Task) -> None:
        queue.running[task.id] = task
        self.count_job(queue)
        job = asyncio.get_running_loop().create_task(self._run(queue, task), name=f"task-{task.id}")
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)

    async def _run(self, queue: AccountQueue, task: Task) -> None:
        try:
            await self._runner.execute(queue.account, task)
        except Exception:  # the runner reports its own failures; this is the last line of defence
            log.exception("running task %s crashed", task.id)
            self.release(task)

    def _roll_day(self, queue: AccountQueue) -> None:
        today = int(self._clock.now() // 86_400)  # UTC days: daily limits reset at midnight UTC
        if queue.day != today:
            queue.day, queue.jobs_today = today, 0

    def count_job(self, queue: AccountQueue) -> None:
        self._roll_day(queue)
        queue.jobs_today += 1

    def snapshot(self) -> list[Task]:
        """Waiting and running tasks of every account, oldest first."""
        tasks = [t for q in self._queues.values() for t in (*q.running.values(), *q.waiting)]
        return sorted(tasks, key=lambda t: t.id)

    async def shutdown(self) -> None:
        for job in list(self._tasks):
            job.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
