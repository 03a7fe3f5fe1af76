"""Per-account queues with running slots, and the choice of account for new work.

Each account runs at most ``core_size`` tasks at once (a slot is held from the Discord submit until the
task ends) and keeps at most ``queue_size`` waiting. A task leaves its slot through :meth:`release`,
which immediately starts the next waiting task on that account.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..domain.clock import Clock, SystemClock
from ..domain.task import Task
from .ports import AccountPort

log = logging.getLogger(__name__)

Executor = Callable[[AccountPort, Task], Awaitable[None]]


class NoAccountAvailable(Exception):
    """No enabled, healthy account matches the request; the message says why."""


class QueueFull(Exception):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"the queue of account {account_id} is full, try again later")
        self.account_id = account_id


@dataclass(eq=False)
class AccountQueue:
    account: AccountPort
    running: dict[str, Task] = field(default_factory=dict)
    waiting: deque[Task] = field(default_factory=deque)
    jobs_today: int = 0  # jobs started since midnight UTC (daily limits)
    day: int = 0  # the UTC day jobs_today counts

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
    def __init__(self, executor: Executor, clock: Clock | None = None) -> None:
        self._executor = executor
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
    def choose(self, *, account_id: str | None = None) -> AccountQueue:
        """Pick the account for new work: best-wait-idle among healthy accounts with room."""
        candidates = list(self._queues.values())
        if account_id is not None:
            candidates = [q for q in candidates if q.account.id == account_id]
            if not candidates:
                raise NoAccountAvailable(f"no account with instance/channel id {account_id}")
        if not candidates:
            raise NoAccountAvailable("no account is configured")
        healthy = [q for q in candidates if q.account.state.accepts_work]
        if not healthy:
            reasons = ", ".join(f"{q.account.name}: {q.account.state.value}" for q in candidates)
            raise NoAccountAvailable(f"no healthy account ({reasons})")
        with_room = [q for q in healthy if q.free_slots > 0 or len(q.waiting) < q.account.queue_size]
        if not with_room:
            raise QueueFull(healthy[0].account.id)
        best = min(q.wait_score for q in with_room)
        return random.choice([q for q in with_room if q.wait_score == best])

    # -- queueing -------------------------------------------------------------------------------
    def enqueue(self, queue: AccountQueue, task: Task) -> Placement:
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
            await self._executor(queue.account, task)
        except Exception:  # the executor reports its own failures; this is the last line of defence
            log.exception("executor crashed on task %s", task.id)
            self.release(task)

    def count_job(self, queue: AccountQueue) -> None:
        today = int(self._clock.now() // 86_400)
        if queue.day != today:
            queue.day, queue.jobs_today = today, 0
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
