"""The engine's hot path between accounts and tasks, in both directions.

Outbound, the scheduler hands each task that got a slot to :meth:`Dispatch.execute`, which sends its
interaction on the account (nonce first: the tracker stores each nonce before it goes out) and tells the
tracker how that went. Inbound, every account delivers its gateway events to :meth:`Dispatch.deliver`,
which hands them to the tracker, and a replaced gateway session (whose gap no replay will fill) to the
history reconciler.

Accounts connect before the stored tasks are taken back, and a resumed session replays at once: those
events must find their tasks tracked, so deliveries wait until :meth:`open` says recovery is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from ..domain.task import Task
from ..midjourney.errors import SubmitError
from ..midjourney.events import AccountEvent, SessionReplaced
from .events import TaskChanged
from .ports import AccountPort
from .reconcile import HistoryReconciler
from .service import TaskService, interaction_of
from .tracker import Tracker

log = logging.getLogger(__name__)

_FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCEL"})


class Dispatch:
    """The scheduler's :class:`~.ports.TaskRunner` and every account's event sink.

    Built before the parts it connects (the scheduler needs it, and the tracker needs the scheduler);
    :meth:`connect` completes it before any account starts.
    """

    def __init__(self) -> None:
        self._tracker: Tracker | None = None
        self._reconciler: HistoryReconciler | None = None
        self._service: TaskService | None = None
        self._recovered = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()

    def connect(self, tracker: Tracker, reconciler: HistoryReconciler, service: TaskService) -> None:
        self._tracker, self._reconciler, self._service = tracker, reconciler, service

    def open(self) -> None:
        """The stored tasks are tracked again: let the accounts' events through."""
        self._recovered.set()

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            raise RuntimeError("the dispatch is not connected to the engine yet")
        return self._tracker

    # -- outbound ------------------------------------------------------------------------------
    async def execute(self, account: AccountPort, task: Task) -> None:
        """Run a task on its account: send the interaction; the tracker takes it from there."""
        tracker = self.tracker

        async def assign(nonce: str) -> None:
            await tracker.assign_nonce(task.id, nonce)

        try:
            sent_prompt = await account.perform(interaction_of(task), assign)
        except SubmitError as exc:
            await tracker.fail(task.id, exc.reason, category="submit")
            await tracker.mark_followers(task, failed_reason=exc.reason)
            return
        except Exception as exc:
            if tracker.live(task.id) is None:
                # Cancelled (or timed out) while waiting for its turn on the account: it stopped before the
                # interaction went out, because the nonce could no longer be assigned to it.
                log.info("task %s ended before it was sent to Discord: %s", task.id, exc)
                return
            log.exception("submitting task %s failed unexpectedly", task.id)
            await tracker.fail(task.id, f"[Internal Server Error] {type(exc).__name__}: {exc}")
            return
        await tracker.mark_submitted(task.id, prompt=sent_prompt)

    # -- inbound -------------------------------------------------------------------------------
    async def deliver(self, account_id: str, event: AccountEvent) -> None:
        """One event of an account, in the gateway's order (each account's dispatcher awaits it)."""
        await self._recovered.wait()
        if isinstance(event, SessionReplaced) and self._reconciler is not None:
            self.spawn(self._reconciler.after_session_replaced(account_id))
            return
        await self.tracker.handle(account_id, event)

    def discard_finished_uploads(self, event: TaskChanged) -> None:
        """A bus subscriber: client images were kept only until sent; a finished task no longer needs them."""
        if event.status in _FINISHED and self._service is not None:
            self.spawn(self._service.discard_uploads(event.task_id))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        job = asyncio.get_running_loop().create_task(work)
        self._background.add(job)
        job.add_done_callback(self._background.discard)
