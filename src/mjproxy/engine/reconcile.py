"""Settling tasks from the channel's message history when the gateway cannot tell us (DESIGN invariant 3).

Two moments need it:

* start-up after a crash or ``kill -9``: the process lost its gateway session, so the replay that a RESUME
  would give is gone. Every unfinished task that may have reached Discord is looked up in the history;
* a task about to time out: its final event may have been lost. The history is read once before the
  timeout fails it.

Only results are taken from the history (a finished job's message, an error embed, a moderation notice):
a progress message there says nothing about whether the job is still alive, so the timeout keeps its say.
History messages go through the tracker like gateway events, so correlation follows the same order
(interaction id → message id → reply / interacted message → job hash → unique prompt); the nonce never
appears in the history. Messages older than the oldest task asked about are never read, so an old job
with the same prompt cannot be taken for a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..domain.clock import Clock, now_ms
from ..domain.task import Task, TaskStatus
from ..midjourney.events import AccountEvent, JobCompleted, JobFailed, JobNotice, NoticeKind
from .images import PENDING_IMAGE_KEY
from .ports import AccountDirectory
from .tracker import Tracker

log = logging.getLogger(__name__)

#: Clock skew between us and Discord, and the time between a task's submit and its first message.
HISTORY_MARGIN_MS = 60_000
_NOT_RESULTS = frozenset({NoticeKind.JOB_QUEUED, NoticeKind.INFO, NoticeKind.OTHER})


@runtime_checkable
class HistorySource(Protocol):
    async def channel_history(self, *, since_ms: int, max_pages: int = 10) -> list[AccountEvent]: ...


def is_result(event: AccountEvent) -> bool:
    """Does this message end a job (success or failure)?"""
    if isinstance(event, JobCompleted | JobFailed):
        return True
    return isinstance(event, JobNotice) and event.kind not in _NOT_RESULTS


def _result_known(task: Task) -> bool:
    """Finished, or its result is in and only the image is still being stored (the tracker's re-hosting)."""
    return task.status.is_terminal or PENDING_IMAGE_KEY in task.extra


def _may_have_reached_discord(task: Task) -> bool:
    return task.status in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS) or (
        task.status == TaskStatus.NOT_START and task.nonce is not None)


class HistoryReconciler:
    def __init__(self, tracker: Tracker, accounts: AccountDirectory, clock: Clock, *,
                 ready_timeout_seconds: float = 30.0, fetch_timeout_seconds: float = 20.0) -> None:
        self._tracker = tracker
        self._accounts = accounts
        self._clock = clock
        self._ready_timeout = ready_timeout_seconds
        self._fetch_timeout = fetch_timeout_seconds

    async def settle(self, tasks: Sequence[Task]) -> int:
        """Read each involved account's history once and apply the results found; the number settled."""
        by_account: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            if task.account_id and not _result_known(task) and _may_have_reached_discord(task):
                by_account[task.account_id].append(task)
        # Accounts are read side by side: one slow or rate-limited account must not hold up the others' timeouts.
        counts = await asyncio.gather(*(self._settle_account(a, ts) for a, ts in by_account.items()))
        return sum(counts)

    async def _settle_account(self, account_id: str, tasks: list[Task]) -> int:
        account = self._accounts.get(account_id)
        if not isinstance(account, HistorySource):
            return 0
        since = min(task.submit_time or now_ms(self._clock) for task in tasks) - HISTORY_MARGIN_MS
        try:
            events = await asyncio.wait_for(account.channel_history(since_ms=since), self._fetch_timeout)
        except Exception as exc:  # the timeout still settles these tasks; history is a best effort
            log.warning("account %s: could not read the channel history: %s: %s", account_id,
                        type(exc).__name__, exc)
            return 0
        for event in events:
            if is_result(event):
                await self._tracker.handle(account_id, event, from_history=True)
        settled = [t for t in tasks if _result_known(t)]
        for task in settled:
            log.info("task %s settled from the channel history: %s", task.id, task.status.value)
        return len(settled)

    async def after_session_replaced(self, account_id: str) -> int:
        """The account's gateway started a new session: results dispatched in the gap are only in history."""
        waiting = [t for t in self._tracker.live_tasks() if t.account_id == account_id]
        return await self.settle(waiting)

    async def reconcile_after_restart(self) -> int:
        """Start-up: settle every recovered task that may have reached Discord, account by account, as soon
        as each account is connected (its user id tells our jobs from other users' in shared channels)."""
        candidates = [t for t in self._tracker.live_tasks() if _may_have_reached_discord(t) and not _result_known(t)]
        by_account: dict[str, list[Task]] = defaultdict(list)
        for task in candidates:
            by_account[task.account_id or ""].append(task)
        results = await asyncio.gather(*(self._after_ready(a, ts) for a, ts in by_account.items()),
                                       return_exceptions=True)
        settled = sum(r for r in results if isinstance(r, int))
        if candidates:
            log.info("start-up reconciliation: %d of %d unfinished task(s) settled from channel history",
                     settled, len(candidates))
        return settled

    async def _after_ready(self, account_id: str, tasks: list[Task]) -> int:
        account = self._accounts.get(account_id)
        wait_ready = getattr(account, "wait_ready", None)
        if wait_ready is not None:
            try:
                await wait_ready(self._ready_timeout)
            except Exception as exc:
                log.warning("account %s not ready for start-up reconciliation (%s); reading history anyway",
                            account_id, exc)
        return await self._settle_account(account_id, tasks)
