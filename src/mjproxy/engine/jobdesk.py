"""The use cases of the useapi.net dialect over the shared engine: choose an account with room (429 instead of
queueing), place the task, wait for Midjourney's first answer, and say what happened with useapi's codes.

Every /v2 placement happens under one lock, from the capacity check to the task being enqueued, so that
concurrent requests can never push an account past ``maxJobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass
from typing import Any

from ..domain.buttons import ButtonKind, parse_custom_id, requires_modal
from ..domain.clock import Clock, now_ms
from ..domain.task import Task, TaskAction, TaskStatus, task_json
from .accounts import AccountManager
from .actions import ActionRequest, Actions, button_label
from .capacity import Capacity
from .events import EventBus, TaskChanged
from .jobs import (
    BUTTON,
    CHILDREN,
    DISCORD,
    FORMAT,
    MAX_JOBS,
    NOTIFY_FORMAT,
    REPLY_REF,
    SERVER,
    SUBSCRIPTION_ERROR,
    VERB,
    FailureKind,
    JobRefused,
    failure_kind,
    job_not_found,
    mask_token,
    render_job,
)
from .scheduler import AccountQueue
from .service import AccountFilter, ImagineRequest, SubmitCode, SubmitResult, TaskService, stamp_owner, visible_to
from .submissions import Common, Submissions
from .tracker import IMAGE_SIZE_KEY, Tracker

JOB_QUEUED_REASON = ("[Job queued] Midjourney queued this job behind the account's own concurrent jobs; "
                     "mjproxy does not track it (lower maxJobs)")
_ANSWERED = frozenset({TaskStatus.IN_PROGRESS, TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL})


@dataclass(frozen=True, slots=True)
class Reply:
    """Where a job reports and what it carries back (replyUrl, replyRef, maxJobs)."""

    url: str | None = None
    ref: str | None = None
    max_jobs: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


def is_execute_once(label: str) -> bool:
    """Upscales run once per parent: U1–U4 and the Upscale (…) buttons."""
    return (len(label) == 2 and label[0] == "U" and label[1] in "1234") or label.startswith("Upscale")


class JobDesk:
    def __init__(self, service: TaskService, tracker: Tracker, bus: EventBus, accounts: AccountManager,
                 clock: Clock, *, submit_wait_seconds: float) -> None:
        self._clock = clock
        self._service = service
        self._tracker = tracker
        self._accounts = accounts
        self._submit_wait_seconds = submit_wait_seconds
        self._lock = asyncio.Lock()
        self._parent_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._actions = Actions(service)
        self.capacity = Capacity(service.scheduler, accounts)
        self._waiters: dict[str, asyncio.Event] = {}
        bus.subscribe(self._on_change)  # the desk lives as long as the application
        self._submissions = Submissions(service)

    # -- reading ---------------------------------------------------------------------------------------
    async def job(self, jobid: str, owner: str | None) -> dict[str, Any]:
        task = await self.task(jobid, owner)
        return await self.render(task)

    async def task(self, jobid: str, owner: str | None) -> Task:
        task = await self._service.get(jobid, owner=owner) if jobid else None
        if task is None:
            raise job_not_found(jobid)
        return task

    async def render(self, task: Task) -> dict[str, Any]:
        size = task.extra.get(IMAGE_SIZE_KEY)
        children = task.extra.get(CHILDREN) or []
        message_ids: dict[str, str] = {}
        if children:
            for child in await self._service.get_many([str(c["jobid"]) for c in children]):
                # The child's current Midjourney message, as its own job shows it (final, else progress).
                if child.message_id or child.progress_message_id:
                    message_ids[child.id] = str(child.message_id or child.progress_message_id)
        job = render_job(task_json(task), child_message_ids=message_ids,
                         image_size=(int(size[0]), int(size[1])) if isinstance(size, list) else None)
        definition = self.capacity.definition(task.account_id) if task.account_id and "discord" not in job else None
        if definition is not None:  # a task submitted through /mj: its account as this dialect shows it
            job.update(discord=mask_token(definition.user_token), server=definition.guild_id)
            job.setdefault("maxJobs", definition.core_size)  # required by useapi's job schema
        return job

    def running(self, owner: str | None) -> list[str]:
        return [t.id for t in self._service.scheduler.snapshot() if visible_to(t, owner)]

    def _job_fields(self, verb: str, queue: AccountQueue | None, limit: int | None, reply: Reply) -> dict[str, Any]:
        definition = self.capacity.definition(queue.account.id) if queue is not None else None
        fields: dict[str, Any] = {VERB: verb, NOTIFY_FORMAT: FORMAT}
        if definition is not None:
            fields.update({MAX_JOBS: limit, DISCORD: mask_token(definition.user_token), SERVER: definition.guild_id})
        if reply.ref is not None:
            fields[REPLY_REF] = reply.ref
        return fields

    # -- submitting ------------------------------------------------------------------------------------
    async def imagine(self, prompt: str, channel: str | None, reply: Reply, owner: str | None, *,
                      discord: str | None = None, server: str | None = None) -> Answer:
        problem = self._service.validate_prompt(prompt)
        if problem is not None and problem.code == SubmitCode.BANNED_PROMPT:
            return await self._moderated_locally(prompt, str(problem.properties.get("bannedWord")), reply, owner)
        if problem is not None:
            raise JobRefused(400, problem.description)
        async with self._lock:
            queue, limit = self.capacity.choose(channel, reply.max_jobs)
            self.capacity.check_identity(queue, discord, server)
            result = await self._service.submit_imagine(ImagineRequest(
                prompt, notify_hook=reply.url, account_filter=AccountFilter(instance_id=queue.account.id),
                owner=owner, extra=self._job_fields("imagine", queue, limit, reply)))
            self._check_placed(result, queue)
        return await self._answer_when_seen(str(result.result))

    async def describe(self, url: str, channel: str | None, reply: Reply, owner: str | None) -> Answer:
        async with self._lock:
            queue, limit = self.capacity.choose(channel, reply.max_jobs)
            fields = {**self._job_fields("describe", queue, limit, reply), "describeUrl": url}
            result = await self._submissions.describe(None, url, self._common(queue, reply, fields, owner))
            self._check_placed(result, queue)
        # useapi's describe answer carries the four prompts (content): wait for the result, not the first answer.
        return await self._answer_when_seen(str(result.result), until_done=True)

    async def blend(self, images: list[str], dimensions: str, urls: list[str], channel: str | None,
                    reply: Reply, owner: str | None) -> Answer:
        async with self._lock:
            queue, limit = self.capacity.choose(channel, reply.max_jobs)
            fields = {**self._job_fields("blend", queue, limit, reply), "blendUrls": urls,
                      "blendDimensions": dimensions.capitalize()}
            result = await self._submissions.blend(images, dimensions.upper(),
                                                   self._common(queue, reply, fields, owner))
            self._check_placed(result, queue)
        return await self._answer_when_seen(str(result.result))

    def _common(self, queue: AccountQueue, reply: Reply, fields: dict[str, Any], owner: str | None) -> Common:
        return Common(notify_hook=reply.url, account_filter=AccountFilter(instance_id=queue.account.id), extra=fields,
                      owner=owner)

    async def button(self, jobid: str, label: str, prompt: str | None, mask: str | None, reply: Reply,
                     owner: str | None) -> Answer:
        parent = await self.task(jobid, owner)
        if parent.status != TaskStatus.SUCCESS:
            raise JobRefused(400, f"Job {jobid} is not completed; buttons need a completed job")
        found = next((b for b in parent.buttons if button_label(b) == label), None)
        if found is None:
            labels = ", ".join(button_label(b) for b in parent.buttons) or "none"
            raise JobRefused(400, f"Button {label} is not supported by job {jobid} (its buttons: {labels})")
        parsed = parse_custom_id(found.custom_id)
        if parsed is not None and parsed.kind == ButtonKind.CUSTOM_ZOOM and not (prompt or "").strip():
            raise JobRefused(400, "prompt is required for button Custom Zoom")
        if parsed is not None and parsed.kind == ButtonKind.VARY_REGION and not mask:
            raise JobRefused(400, "mask is required for button Vary (Region)")
        async with self._lock:
            parent = await self.task(jobid, owner)  # fresh children: another request may have pressed it
            if is_execute_once(label):
                existing = await self._existing_child(parent, label)
                if existing is not None:
                    return Answer(200, await self.render(existing))
            queue, limit = self.capacity.on_account(parent.account_id or "",
                                            reply.max_jobs or _int(parent.extra.get(MAX_JOBS)))
            if prompt and parsed is not None and not requires_modal(parsed, queue.account.remix):
                raise JobRefused(400, f"Button {label} takes no prompt unless remix mode is on")
            fields = {**self._job_fields("button", queue, limit, reply), BUTTON: label}
            result = await self._actions.action(ActionRequest(parent.id, found.custom_id, notify_hook=reply.url,
                                                              extra=fields, owner=owner))
            if result.code == SubmitCode.MODAL and result.result:
                modal_id = result.result
                result = await self._actions.modal(modal_id, prompt, _as_data_url(mask))
                if result.code not in (SubmitCode.SUCCESS, SubmitCode.IN_QUEUE):
                    await self._service.repo.delete(modal_id)  # the window was never confirmed: no job
            self._check_placed(result, queue)
            child_id = str(result.result)
            await self._add_child(parent.id, label, child_id)
        return await self._answer_when_seen(child_id)

    def _parent_lock(self, parent_id: str) -> asyncio.Lock:
        """Serialises the writes of a finished job (its children, its cached seed): each reads it fresh."""
        lock = self._parent_locks.get(parent_id)
        if lock is None:
            lock = self._parent_locks[parent_id] = asyncio.Lock()
        return lock

    async def _add_child(self, parent_id: str, label: str, child_id: str) -> None:
        async with self._parent_lock(parent_id):
            parent = await self._service.get(parent_id)
            if parent is None:
                return
            parent.extra[CHILDREN] = [*(parent.extra.get(CHILDREN) or []), {"button": label, "jobid": child_id}]
            await self._service.repo.update(parent)

    async def _existing_child(self, parent: Task, label: str) -> Task | None:
        ids = [str(c["jobid"]) for c in parent.extra.get(CHILDREN) or [] if c.get("button") == label]
        for child in await self._service.get_many(ids):
            if child.status not in (TaskStatus.FAILURE, TaskStatus.CANCEL):
                return child
        return None

    async def seed(self, jobid: str, owner: str | None) -> dict[str, Any]:
        parent = await self.task(jobid, owner)
        queue = self._service.scheduler.queue_of(parent.account_id or "")
        if queue is not None:
            problem = self.capacity.health_error(queue)
            if problem is not None:
                raise problem
        async with self._parent_lock(parent.id):
            result = await self._actions.seed(parent.id)
        if result.code == SubmitCode.NOT_FOUND:
            raise JobRefused(404, result.description)
        if result.code == SubmitCode.VALIDATION_ERROR:
            raise JobRefused(400, result.description)
        if result.code != SubmitCode.SUCCESS:
            raise JobRefused(502, "Midjourney did not send the seed", errorDetails=result.description)
        seed = str(result.result)
        return {"verb": "seed", "status": "completed", "parentJobId": parent.id, "channel": parent.account_id,
                "seed": {"content": f"**Job ID**: {parent.message_hash}\n**seed** {seed}", "value": seed},
                "code": 200}

    async def cancel(self, jobid: str, owner: str | None) -> dict[str, Any]:
        task = await self.task(jobid, owner)
        if task.status.is_terminal:
            raise JobRefused(400, f"Job {jobid} has already finished ({render_job(task_json(task))['status']})")
        if task.status == TaskStatus.MODAL:  # holds no slot and is not tracked: just close it
            task.status, task.fail_reason = TaskStatus.CANCEL, "cancelled by the client"
            task.finish_time = now_ms(self._clock)
            await self._service.repo.update(task)
        elif not await self._tracker.cancel(task.id):
            raise JobRefused(400, f"Job {jobid} has already finished")
        return {"jobid": task.id, "status": "cancelled", "code": 200}

    # -- outcomes ----------------------------------------------------------------------------------------
    async def _moderated_locally(self, prompt: str, banned: str, reply: Reply, owner: str | None) -> Answer:
        """A banned word never reaches Discord, but the client still gets a job to look at."""
        task = self._service.new_task(TaskAction.IMAGINE, prompt=prompt, prompt_en=prompt,
                                      description=f"/imagine {prompt}",
                                      notify_hook=self._service.notify_hook(reply.url))
        task.extra.update(self._job_fields("imagine", None, None, reply))
        stamp_owner(task, owner)
        # Stored, then failed through the tracker: the failure is journalled with its callback (outbox).
        await self._tracker.insert(task)
        await self._tracker.fail_stored(task, f"[Banned prompt] the prompt contains the banned word `{banned}`")
        return self._outcome(task)

    @staticmethod
    def _check_placed(result: SubmitResult, queue: AccountQueue) -> None:
        if result.code in (SubmitCode.SUCCESS, SubmitCode.IN_QUEUE):
            return
        if result.code == SubmitCode.QUEUE_REJECTED:
            raise JobRefused(429, "Maximum of jobs executing in parallel reached",
                           executingJobs=[*queue.running, *(t.id for t in queue.waiting)])
        if result.code == SubmitCode.NOT_FOUND:
            raise JobRefused(503, "No account can run this job", errorDetails=result.description)
        if result.code == SubmitCode.BANNED_PROMPT:
            raise JobRefused(422, "Banned prompt", errorDetails=result.description, status="moderated")
        raise JobRefused(400, result.description)

    async def _answer_when_seen(self, task_id: str, *, until_done: bool = False) -> Answer:
        task = await self.wait_first_answer(task_id, self._submit_wait_seconds, until_done=until_done)
        if task.queued_by_midjourney and not task.status.is_terminal:
            # useapi's contract: a job Midjourney queued is out of the API's hands (504), and frees its slot.
            await self._tracker.fail(task.id, JOB_QUEUED_REASON, category="queued")
            task = await self._service.get(task_id) or task
        return self._outcome(task, await self.render(task))

    def _outcome(self, task: Task, job: dict[str, Any] | None = None) -> Answer:
        job = job if job is not None else render_job(task_json(task))
        if task.status != TaskStatus.FAILURE:
            return Answer(200, job)
        kind = failure_kind(task.fail_reason)
        status = {FailureKind.MODERATED: 422, FailureKind.PENDING_MOD: 596, FailureKind.SUBSCRIPTION: 402,
                  FailureKind.JOB_QUEUED: 504, FailureKind.DISCORD_RATE_LIMITED: 429}.get(kind, 200)
        if kind == FailureKind.DISCORD_RATE_LIMITED:
            job["errorDetails"] = job.get("error")
            job["error"] = "Discord /interactions failed with HTTP status 429"
        if kind == FailureKind.SUBSCRIPTION:
            job["errorDetails"] = job.get("errorDetails") or job.get("error")
            job["error"] = SUBSCRIPTION_ERROR
        if kind == FailureKind.JOB_QUEUED:
            job.pop("errorDetails", None)
        job["code"] = status
        return Answer(status, job)

    async def wait_first_answer(self, task_id: str, timeout: float, *, until_done: bool = False) -> Task:
        """The task once Midjourney has answered (started, finished, failed or queued it), or at the timeout;
        ``until_done``: once it has finished (or been queued), or at the timeout."""
        changed = self._waiters[task_id] = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                changed.clear()
                task = await self._service.get(task_id)
                if task is None:
                    raise job_not_found(task_id)
                answered = task.status.is_terminal if until_done else task.status in _ANSWERED
                if answered or task.queued_by_midjourney or loop.time() >= deadline:
                    return task
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), deadline - loop.time())
        finally:
            self._waiters.pop(task_id, None)

    def _on_change(self, event: TaskChanged) -> None:
        # One bus subscriber for every waiting submit: a dict lookup per task change, not one call per waiter.
        waiter = self._waiters.get(event.task_id)
        if waiter is not None:
            waiter.set()


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _as_data_url(mask: str | None) -> str | None:
    """useapi sends the mask as a PNG; accept it as a data URL or as bare base64."""
    if not mask:
        return None
    mask = mask.strip()
    return mask if mask[:5].lower() == "data:" else f"data:image/png;base64,{mask}"

