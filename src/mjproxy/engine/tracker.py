"""From bot events to task transitions: correlate, apply the state machine, persist, then announce.

Every mutation happens synchronously, in the order events arrive, and is then handed to the
:class:`GroupCommitter`, which stores it and only afterwards announces it (DESIGN invariant 5). Since no
mutator awaits between reading and changing a task, timeouts, cancels and gateway events cannot
interleave inside one change, and the gateway loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..domain.clock import Clock, now_ms
from ..domain.prompt import normalize_prompt
from ..domain.state_machine import IllegalTransition, advance_progress, transition
from ..domain.task import Task, TaskAction, TaskStatus
from ..midjourney.events import (
    AccountEvent,
    FailureCategory,
    InteractionEvent,
    InteractionPhase,
    JobCompleted,
    JobFailed,
    JobKind,
    JobNotice,
    JobProgress,
    JobStarted,
    MessageDeleted,
    MjEvent,
    NoticeKind,
    SessionReplaced,
)
from .commits import GroupCommitter
from .correlation import Correlator
from .images import DISCORD_IMAGE_KEY, MEDIA_KEY, PENDING_IMAGE_KEY, THUMBNAIL_KEY, ImageHost
from .ports import AccountNotices, SlotReleaser

log = logging.getLogger(__name__)

COMPLETE_ON_ACK_KEY = "_completeOnAck"
ACCOUNT_NOTICES = frozenset({NoticeKind.PENDING_MOD, NoticeKind.BLOCKED, NoticeKind.SUBSCRIPTION,
                             NoticeKind.CREDITS_EXHAUSTED, NoticeKind.TOS, NoticeKind.CAPTCHA})
SIBLINGS_KEY = "_siblings"  # tasks started by one click (describe's "Imagine all"), leader first
LEADER_KEY = "_leader"  # on the siblings that send nothing themselves
IMAGE_SIZE_KEY = "_imageSize"
UrlRewriter = Callable[[str], str]

INTERACTION_FAILURE_REASONS = {
    1: "Discord reported the interaction failed (unknown reason)",
    2: "the Midjourney bot did not answer the interaction within 3 seconds",
}


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("a task change could not be stored: %s", future.exception())


class Tracker:
    def __init__(self, committer: GroupCommitter, clock: Clock, *,
                 slots: SlotReleaser, rewrite_url: UrlRewriter | None = None,
                 queued_timeout_minutes: float = 30.0, notices: AccountNotices | None = None,
                 image_host: ImageHost | None = None, store_previews: bool = False) -> None:
        self._notices = notices
        self._image_host = image_host
        self._store_previews = store_previews and image_host is not None
        self._image_jobs: set[asyncio.Task[None]] = set()
        # A slot is freed when its task ends, or already when Midjourney is done with the job and only its
        # image is still being stored: the account can serve the next job meanwhile.
        self._slots = slots
        self._committer = committer
        self._clock = clock
        self._rewrite_url = rewrite_url or (lambda url: url)
        self._queued_timeout_ms = int(queued_timeout_minutes * 60_000)
        self._live: dict[str, Task] = {}
        self._timeouts_ms: dict[str, int] = {}
        self._correlators: dict[str, Correlator] = {}

    # -- registry ----------------------------------------------------------------------------
    def live(self, task_id: str) -> Task | None:
        return self._live.get(task_id)

    def live_tasks(self) -> list[Task]:
        return list(self._live.values())

    def correlator(self, account_id: str) -> Correlator:
        found = self._correlators.get(account_id)
        if found is None:
            found = self._correlators[account_id] = Correlator()
        return found

    def track(self, task: Task, *, timeout_minutes: float) -> None:
        """Hold an unfinished task in memory and index what we know of it."""
        self._live[task.id] = task
        self._timeouts_ms[task.id] = int(timeout_minutes * 60_000)
        if task.account_id:
            self.correlator(task.account_id).track(task)
        if task.extra.get(PENDING_IMAGE_KEY) and task.status == TaskStatus.IN_PROGRESS:
            self._spawn_rehost(task)  # recovered after a restart while its image was being stored

    def untrack(self, task: Task) -> None:
        self._live.pop(task.id, None)
        self._timeouts_ms.pop(task.id, None)
        if task.account_id:
            self.correlator(task.account_id).forget(task)

    def _commit(self, task: Task) -> asyncio.Future[None]:
        """Queue the task's new state for storage; a finished task lets go of everything it held."""
        if task.status.is_terminal:
            task.deadline_ms = None
            self.untrack(task)
            self._hand_over_click(task)
        future = self._committer.submit(task)
        if task.status.is_terminal:
            future.add_done_callback(lambda _: self._slots.release(task))
        return future

    def _hand_over_click(self, task: Task) -> None:
        """Siblings share one click: when one ends, the click's interaction id must still lead to the rest
        (a sibling may not even have started yet when Midjourney queues it)."""
        if not task.interaction_id or not task.extra.get(SIBLINGS_KEY) or not task.account_id:
            return
        for sibling_id in task.extra[SIBLINGS_KEY]:
            sibling = self._live.get(str(sibling_id))
            if sibling is not None and not sibling.status.is_terminal:
                self.correlator(task.account_id).bind_interaction(task.interaction_id, sibling.id)
                sibling.interaction_id = sibling.interaction_id or task.interaction_id
                return

    def _extend_deadline(self, task: Task, *, queued: bool = False) -> None:
        budget = self._queued_timeout_ms if queued else self._timeouts_ms.get(task.id, 300_000)
        task.deadline_ms = now_ms(self._clock) + budget

    # -- engine-driven changes ------------------------------------------------------------------
    async def insert(self, task: Task) -> None:
        """Store a new task (batched with the other writes of the moment)."""
        await self._committer.insert(task)

    async def assign_nonce(self, task_id: str, nonce: str) -> None:
        """Record a fresh nonce *before* the interaction is sent (DESIGN invariant 2)."""
        task = self._live.get(task_id)
        if task is None:
            raise LookupError(f"task {task_id} is not live")
        correlator = self.correlator(task.account_id or "")
        if task.nonce:
            correlator.forget_nonce(task.nonce)
        task.nonce = nonce
        correlator.bind_nonce(nonce, task.id)
        await self._committer.submit(task)

    async def mark_followers(self, task: Task, *, failed_reason: str | None = None) -> None:
        """The leader's click went out (or failed): its siblings follow it."""
        for sibling_id in task.extra.get(SIBLINGS_KEY) or []:
            sibling = self._live.get(str(sibling_id))
            if sibling is None or sibling.id == task.id or sibling.status != TaskStatus.NOT_START:
                continue
            if failed_reason is not None:
                self._finish_failed(sibling, failed_reason, "submit")
            else:
                transition(sibling, TaskStatus.SUBMITTED)
                sibling.start_time = task.start_time
                sibling.progress = "0%"
                self._extend_deadline(sibling)
            await self._commit(sibling)

    async def mark_submitted(self, task_id: str, *, prompt: str | None = None) -> None:
        """Discord accepted the interaction (204): the job timer starts now.

        ``prompt`` is what was really sent when it differs from the request (image URLs put in front).
        """
        task = self._live.get(task_id)
        if task is None or task.status.is_terminal:
            return
        if prompt:
            task.prompt = task.prompt_en = prompt
        task.start_time = task.start_time or now_ms(self._clock)
        if task.status in (TaskStatus.NOT_START, TaskStatus.MODAL):
            # The bot's first message can beat Discord's 204 to us; then the task is already further.
            transition(task, TaskStatus.SUBMITTED)
            task.progress = "0%"
            self._extend_deadline(task)
        await self._commit(task)
        await self.mark_followers(task)

    async def fail(self, task_id: str, reason: str, *, category: str | None = None,
                   only_if: Callable[[Task], bool] | None = None) -> bool:
        task = self._live.get(task_id)
        if task is None or task.status.is_terminal or (only_if is not None and not only_if(task)):
            return False
        self._finish_failed(task, reason, category)
        await self._commit(task)
        return True

    async def cancel(self, task_id: str, reason: str = "cancelled by the client") -> bool:
        task = self._live.get(task_id)
        if task is None or task.status.is_terminal:
            return False
        transition(task, TaskStatus.CANCEL)
        task.fail_reason = reason
        task.finish_time = now_ms(self._clock)
        await self._commit(task)
        return True

    async def cancel_stored(self, task: Task, reason: str = "cancelled by the client") -> None:
        """Cancel a task that is stored but not live (a MODAL task waiting for its confirmation)."""
        transition(task, TaskStatus.CANCEL)
        task.fail_reason = reason
        task.finish_time = now_ms(self._clock)
        await self._commit(task)

    async def fail_stored(self, task: Task, reason: str) -> None:
        """Fail a stored task that cannot be resumed (after a restart), announcing it like any other change."""
        self._finish_failed(task, reason, None)
        await self._commit(task)

    async def settle(self) -> None:
        """Wait until every change queued so far is stored (and announced)."""
        await self._committer.flush()

    def _finish_succeeded(self, task: Task) -> None:
        if task.status == TaskStatus.NOT_START:  # the result can beat Discord's 204 to us
            transition(task, TaskStatus.SUBMITTED)
        transition(task, TaskStatus.SUCCESS)
        task.progress = "100%"
        task.finish_time = now_ms(self._clock)
        task.start_time = task.start_time or task.finish_time

    def _finish_failed(self, task: Task, reason: str, category: str | None) -> None:
        transition(task, TaskStatus.FAILURE)
        task.fail_reason = reason
        task.progress = ""
        task.finish_time = now_ms(self._clock)
        if category:
            task.extra["_failCategory"] = category

    def overdue(self) -> list[Task]:
        now = now_ms(self._clock)
        return [t for t in self._live.values() if t.deadline_ms is not None and t.deadline_ms <= now]

    # -- bot-driven changes ---------------------------------------------------------------------
    async def handle(self, account_id: str, event: AccountEvent, *, from_history: bool = False) -> None:
        """Apply one bot event. Storage happens behind the group committer; this never waits for it.

        ``from_history``: the message was read from the channel history, not received live. A task whose
        nonce was stored but whose submit was never confirmed (a crash in between) may then be matched too,
        and an unmatched message is ignored: an old account notice must not hold the account again.
        """
        correlator = self.correlator(account_id)
        if isinstance(event, MessageDeleted | SessionReplaced):
            # A deleted progress message precedes the final one; a replaced session is the reconciler's.
            return
        if isinstance(event, InteractionEvent):
            self._on_interaction(correlator, event)
            return
        account_live = [t for t in self._live.values() if t.account_id == account_id]
        kind = getattr(event, "kind", None)
        index = event.index if isinstance(event, JobCompleted) else None
        match = correlator.match(event.keys, account_live, kind=kind if isinstance(kind, JobKind) else None,
                                 index=index, unconfirmed=from_history)
        if match is None and from_history:
            return
        if match is None:
            if isinstance(event, JobNotice) and event.kind in ACCOUNT_NOTICES and self._notices:
                # Not tied to a job (§6.19): still the account's health.
                self._notices.on_notice(account_id, event.kind, f"[{event.title}] {event.description}".strip())
            if isinstance(event, JobNotice) and event.kind != NoticeKind.INFO:
                log.warning("account %s: notice %s not tied to a task: %s", account_id, event.kind.value,
                            event.title)
            elif not isinstance(event, JobNotice) and not correlator.belongs_to_finished(event.keys):
                log.info("account %s: no task matches %s (message %s, nonce %s, hash %s)", account_id,
                         type(event).__name__, event.keys.message_id, event.keys.nonce, event.keys.job_hash)
            return
        task = self._live.get(match.task_id)
        if task is not None and task.extra.get(SIBLINGS_KEY):
            task = self._sibling_for(correlator, task, event)
        if task is None or task.status.is_terminal:
            return
        log.debug("account %s: %s matched task %s by %s", account_id, type(event).__name__, task.id, match.key)
        try:
            changed = self._apply(correlator, task, event)
        except IllegalTransition:
            log.error("illegal transition on task %s from %s", task.id, type(event).__name__, exc_info=True)
            return
        if changed:
            self._commit(task).add_done_callback(_log_failure)

    def _sibling_for(self, correlator: Correlator, task: Task, event: MjEvent) -> Task | None:
        """One click, several jobs: the one whose prompt the message echoes (the prompts all differ)."""
        if event.keys.prompt is None:
            return task
        wanted = normalize_prompt(event.keys.prompt)
        siblings = [self._live.get(str(i)) for i in task.extra.get(SIBLINGS_KEY) or []]
        fitting = [t for t in siblings if t is not None and correlator.prompt_key(t.id) == wanted]
        return fitting[0] if len(fitting) == 1 else task

    def _on_interaction(self, correlator: Correlator, event: InteractionEvent) -> None:
        task_id = correlator.match_nonce(event.nonce) if event.nonce else None
        task = self._live.get(task_id) if task_id else None
        if task is None or task.status.is_terminal:
            return
        changed = False
        if event.interaction_id and task.interaction_id != event.interaction_id:
            task.interaction_id = event.interaction_id
            correlator.bind_interaction(event.interaction_id, task.id)
            changed = True
        if event.phase == InteractionPhase.SUCCEEDED and task.extra.get(COMPLETE_ON_ACK_KEY):
            self._finish_succeeded(task)  # a click that starts no job (❤️): the acknowledgement is the result
            changed = True
        if event.phase == InteractionPhase.FAILED:
            reason = INTERACTION_FAILURE_REASONS.get(event.reason_code or 1,
                                                     f"interaction failed (reason {event.reason_code})")
            self._finish_failed(task, reason, FailureCategory.RETRYABLE.value)
            changed = True
        if changed:
            self._commit(task).add_done_callback(_log_failure)

    def _apply(self, correlator: Correlator, task: Task, event: MjEvent) -> bool:
        if PENDING_IMAGE_KEY in task.extra:
            return False  # Midjourney is done; only the re-host can finish it now (repeats are ignored)
        keys = event.keys
        if keys.job_hash and task.message_hash is None and not isinstance(event, JobCompleted):
            task.message_hash = keys.job_hash
            correlator.bind_hash(keys.job_hash, task.id)
        if isinstance(event, JobStarted):
            return self._started(correlator, task, keys.message_id, event.prompt)
        if isinstance(event, JobProgress):
            changed = self._started(correlator, task, keys.message_id, event.prompt)
            if event.percent is not None:
                changed = advance_progress(task, event.percent) or changed
            if event.preview is not None:
                url = self._rewrite_url(event.preview.url)
                changed = changed or task.image_url != url
                task.image_url = url
                if self._store_previews and event.percent is not None:
                    self._spawn_image_job(self._rehost_preview(task, event.preview.url, url, event.percent), task.id)
            self._extend_deadline(task)
            return changed
        if isinstance(event, JobCompleted):
            rehost = self._image_host is not None and event.image is not None
            if rehost:
                self._await_image(task)
            else:
                self._finish_succeeded(task)
            task.message_id = keys.message_id
            task.message_flags = keys.flags
            task.message_hash = keys.job_hash or task.message_hash
            task.message_content = event.content
            task.final_prompt = event.prompt or task.final_prompt
            task.buttons = list(event.buttons)
            if event.kind in (JobKind.DESCRIBE, JobKind.SHORTEN):
                # The result is text: describe's four prompts, shorten's analysis and options.
                task.final_prompt = task.prompt = event.content
                if task.action == TaskAction.DESCRIBE:
                    task.prompt_en = event.content  # shorten keeps the prompt it analysed in promptEn
            if event.image is not None:
                task.image_url = self._rewrite_url(event.image.url)
                if event.image.width and event.image.height:
                    task.extra[IMAGE_SIZE_KEY] = [event.image.width, event.image.height]
                if rehost:
                    # Downloaded from Discord itself: a cdn_base mirror may be reachable only by clients.
                    task.extra[PENDING_IMAGE_KEY] = event.image.url
                    task.extra[DISCORD_IMAGE_KEY] = task.image_url
                    self._spawn_rehost(task)
            return True
        if isinstance(event, JobFailed):
            self._finish_failed(task, event.reason, event.category.value)
            return True
        if isinstance(event, JobNotice):
            return self._notice(correlator, task, event)
        return False

    def _started(self, correlator: Correlator, task: Task, message_id: str, prompt: str) -> bool:
        if task.status == TaskStatus.IN_PROGRESS and task.progress_message_id == message_id:
            return False
        if task.status in (TaskStatus.NOT_START, TaskStatus.SUBMITTED):
            transition(task, TaskStatus.IN_PROGRESS)
        task.progress_message_id = message_id
        correlator.bind_message(message_id, task.id)
        task.final_prompt = prompt or task.final_prompt
        task.progress = task.progress or "0%"
        task.queued_by_midjourney = False
        self._extend_deadline(task)
        return True

    def _notice(self, correlator: Correlator, task: Task, event: JobNotice) -> bool:
        if event.kind == NoticeKind.JOB_QUEUED:
            # Midjourney will start it when one of its own slots frees: not a failure, and the job
            # timer waits with a longer budget until the job really starts.
            task.queued_by_midjourney = True
            correlator.bind_message(event.keys.message_id, task.id)
            self._extend_deadline(task, queued=True)
            return True
        if event.kind in (NoticeKind.INFO, NoticeKind.OTHER):
            return False
        reason = f"[{event.title}] {event.description}".strip()
        self._finish_failed(task, reason, FailureCategory.ACCOUNT.value)
        if self._notices is not None and task.account_id:
            self._notices.on_notice(task.account_id, event.kind, reason)
        return True

    # -- re-hosting (engine/images.py) ----------------------------------------------------------
    def _await_image(self, task: Task) -> None:
        """The job is done but the task stays IN_PROGRESS at 100% until its image is ours."""
        if task.status != TaskStatus.IN_PROGRESS:
            transition(task, TaskStatus.IN_PROGRESS)
        task.start_time = task.start_time or now_ms(self._clock)
        task.progress = "100%"
        self._extend_deadline(task)
        self._slots.release(task)

    def _spawn_rehost(self, task: Task) -> None:
        self._spawn_image_job(self._rehost(task), task.id)

    def _spawn_image_job(self, job: Coroutine[Any, Any, None], task_id: str) -> None:
        # One asyncio task per image, so a slow download never holds up other tasks' events.
        running = asyncio.get_running_loop().create_task(job, name=f"rehost-{task_id}")
        self._image_jobs.add(running)
        running.add_done_callback(self._image_jobs.discard)

    async def _rehost(self, task: Task) -> None:
        assert self._image_host is not None
        source = str(task.extra[PENDING_IMAGE_KEY])
        problem: str | None = None
        try:
            hosted = await self._image_host.store_result(task.id, task.action, source)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            problem = str(exc) or type(exc).__name__
            log.warning("task %s: the result image could not be stored: %s", task.id, problem)
        if problem is not None or self._live.get(task.id) is not task or task.status.is_terminal:
            # Failed, or cancelled / timed out meanwhile (it must never turn SUCCESS): what was stored for
            # the task (previews, a late result) belongs to nobody now.
            try:
                await self._image_host.discard(task.id)
            except Exception as exc:
                log.warning("task %s: could not delete its stored images: %s", task.id, exc)
        if self._live.get(task.id) is not task or task.status.is_terminal:
            return
        task.extra.pop(PENDING_IMAGE_KEY, None)
        if problem is not None:
            self._finish_failed(task, f"the result image could not be stored: {problem}", "image")
        else:
            task.image_url = hosted.image_url
            task.image_urls = hosted.image_urls
            task.extra[THUMBNAIL_KEY] = hosted.thumbnail_url
            task.extra[MEDIA_KEY] = hosted.media
            self._finish_succeeded(task)
        self._commit(task).add_done_callback(_log_failure)

    async def _rehost_preview(self, task: Task, source: str, discord_url: str, percent: int) -> None:
        assert self._image_host is not None
        try:
            url = await self._image_host.store_preview(task.id, source, percent)
        except Exception as exc:
            log.info("task %s: progress preview not stored: %s", task.id, exc)
            return
        # Only if nothing newer replaced this preview meanwhile (a later one, or the final image).
        if self._live.get(task.id) is task and task.image_url == discord_url and PENDING_IMAGE_KEY not in task.extra:
            task.image_url = url
            self._commit(task).add_done_callback(_log_failure)

    @property
    def image_jobs(self) -> int:
        """Downloads and stores in flight."""
        return len(self._image_jobs)

    async def stop_image_jobs(self) -> None:
        """Shutdown: stop the downloads in flight; their tasks resume after a restart (see ``track``)."""
        jobs = list(self._image_jobs)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
