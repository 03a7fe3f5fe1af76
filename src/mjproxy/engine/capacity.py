"""Which account a /v2 job runs on: the named channel or a random healthy one with room, and why not.

useapi.net never queues: an account running ``maxJobs`` jobs answers 429 with the jobs it runs, one that
waits for a human answers 596 (402 without subscription). Callers (``jobdesk.JobDesk``) hold the desk's lock
from this check to the task being enqueued, so the count cannot change in between.
"""

from __future__ import annotations

import random

from ..domain.account import AccountDefinition, AccountState
from .accounts import AccountManager
from .jobs import PENDING_MOD_ERROR, SUBSCRIPTION_ERROR, JobRefused
from .scheduler import AccountQueue, Scheduler

WAITING_FOR_HUMAN = frozenset({AccountState.PENDING_MOD_MESSAGE, AccountState.CAPTCHA_REQUIRED})


class Capacity:
    def __init__(self, scheduler: Scheduler, accounts: AccountManager) -> None:
        self._scheduler = scheduler
        self._accounts = accounts

    def definition(self, channel: str) -> AccountDefinition | None:
        return self._accounts.definition(channel)

    def health_error(self, queue: AccountQueue) -> JobRefused | None:
        account = queue.account
        if account.state in WAITING_FOR_HUMAN:
            return JobRefused(596, PENDING_MOD_ERROR.format(channel=account.id),
                            errorDetails=account.state_reason or account.state.value)
        if account.state == AccountState.SUBSCRIPTION_REQUIRED:
            return JobRefused(402, SUBSCRIPTION_ERROR, errorDetails=account.state_reason or account.state.value)
        if not account.state.accepts_work:
            return JobRefused(503, f"Account {account.id} is unavailable ({account.state.value})",
                            errorDetails=account.state_reason or "")
        return None

    @staticmethod
    def _limit(queue: AccountQueue, max_jobs: int | None) -> int:
        # The engine never runs more than core_size jobs on an account, so a larger maxJobs would queue.
        return min(max_jobs or queue.account.core_size, queue.account.core_size)

    @staticmethod
    def _executing(queue: AccountQueue) -> list[str]:
        return [*queue.running, *(t.id for t in queue.waiting)]

    def _has_room(self, queue: AccountQueue, limit: int) -> bool:
        return len(queue.running) + len(queue.waiting) + queue.reserved < limit

    def _full(self, queues: list[AccountQueue], limit: int) -> JobRefused:
        executing = [job for queue in queues for job in self._executing(queue)]
        return JobRefused(429, f"Maximum of {limit} jobs executing in parallel supported", executingJobs=executing)

    def on_account(self, channel: str, max_jobs: int | None) -> tuple[AccountQueue, int]:
        """The account of a follow-up (or a pinned submit), if healthy and with room."""
        queue = self._scheduler.queue_of(channel)
        if queue is None:
            if self.definition(channel) is not None:
                raise JobRefused(503, f"Account {channel} is disabled")
            raise JobRefused(400, f"Channel {channel} is not configured, see account/midjourney")
        problem = self.health_error(queue)
        if problem is not None:
            raise problem
        limit = self._limit(queue, max_jobs)
        if not self._has_room(queue, limit):
            raise self._full([queue], limit)
        return queue, limit

    def choose(self, channel: str | None, max_jobs: int | None) -> tuple[AccountQueue, int]:
        """useapi's rule: the named channel, else a random healthy account with room."""
        if channel:
            return self.on_account(channel, max_jobs)
        queues = self._scheduler.queues()
        if not queues:
            raise JobRefused(404, "No Midjourney account is configured, see account/midjourney")
        healthy = [q for q in queues if q.account.state.accepts_work]
        if not healthy:
            problems = [p for p in (self.health_error(q) for q in queues) if p is not None]
            raise min(problems, key=lambda p: {596: 0, 402: 1}.get(p.status, 2))
        roomy = [q for q in healthy if self._has_room(q, self._limit(q, max_jobs))]
        if not roomy:
            raise self._full(healthy, min(self._limit(q, max_jobs) for q in healthy))
        queue = random.choice(roomy)
        return queue, self._limit(queue, max_jobs)

    def check_identity(self, queue: AccountQueue, discord: str | None, server: str | None) -> None:
        """A request that names the token or the server must name the configured account's."""
        definition = self.definition(queue.account.id)
        if definition is None:
            return
        if discord and discord != definition.user_token:
            raise JobRefused(400, f"discord value does not match the account configured for channel {definition.id}")
        if server and server != definition.guild_id:
            raise JobRefused(400, f"server {server} does not match the account configured for channel {definition.id}")
