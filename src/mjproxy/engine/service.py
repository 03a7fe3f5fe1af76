"""Use cases behind every HTTP face: submit, fetch, list, and taking tasks back after a restart."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from ..domain.account import SpeedMode
from ..domain.clock import Clock, now_ms
from ..domain.ids import TaskIdGenerator
from ..domain.media import ImageData, InvalidImage, decode_image_data_url
from ..domain.moderation import find_banned_word
from ..domain.prompt import extract_speed_flag, linked_urls
from ..domain.task import BotType, Task, TaskAction, TaskStatus
from ..midjourney import payloads
from ..midjourney.constants import APPLICATION_IDS
from ..midjourney.interactions import EXTRA_KEY, InteractionSpec, SlashSpec, Upload, spec_from_json, spec_to_json
from ..store.codec import OWNER_EXTRA_KEY, task_owner
from ..store.repository import TaskFilter, TaskRepository
from .ports import AccountDirectory, AccountPort, NoAccounts, UrlGuard
from .scheduler import NoAccountAvailable, QueueFull, Scheduler
from .selection import Criteria, resolve_modes
from .tracker import LEADER_KEY, Tracker
from .translation import EnglishPrompt, PromptTranslator, TranslationRefused

log = logging.getLogger(__name__)


class SubmitCode(IntEnum):
    """midjourney-proxy's SubmitResultVO codes."""

    SUCCESS = 1
    NOT_FOUND = 3
    VALIDATION_ERROR = 4
    FAILURE = 9
    MODAL = 21
    IN_QUEUE = 22
    QUEUE_REJECTED = 23
    BANNED_PROMPT = 24


@dataclass(slots=True)
class SubmitResult:
    code: SubmitCode
    description: str
    result: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """midjourney-proxy-plus's accountFilter."""

    instance_id: str | None = None  # = channel id
    modes: tuple[SpeedMode, ...] = ()
    remark: str | None = None
    remix: bool | None = None
    remix_auto_considered: bool = False


@dataclass(frozen=True, slots=True)
class ImagineRequest:
    prompt: str
    bot_type: BotType = BotType.MID_JOURNEY
    state: str | None = None
    notify_hook: str | None = None
    account_filter: AccountFilter | None = None
    mode: str | None = None  # "fast" | "relax" | "turbo" from a path prefix
    owner: str | None = None  # the API key that submits it; None for admin credentials
    images: tuple[str, ...] = ()  # image prompts (data URLs), put before the prompt when it is sent
    extra: dict[str, Any] = field(default_factory=dict)  # public properties a dialect stamps on the task


@dataclass(frozen=True, slots=True)
class EngineLimits:
    max_prompt_length: int = 4000
    banned_words: tuple[str, ...] = ()
    default_notify_hook: str | None = None


PINNED_KEY = "_pinned"
MAX_REFERENCE_IMAGES = 5

def stamp_owner(task: Task, owner: str | None) -> Task:
    if owner is not None:
        task.extra[OWNER_EXTRA_KEY] = owner
    return task


def visible_to(task: Task, owner: str | None) -> bool:
    """A caller bound to an owner sees only that owner's tasks; None (admin) sees all."""
    return owner_may_see(task_owner(task), owner)


def owner_may_see(task_owner: str | None, owner: str | None) -> bool:
    """The visibility rule on the owners alone (live streams know a change's owner, not its Task)."""
    return owner is None or task_owner == owner


def force_speed_mode(task: Task, mode: SpeedMode) -> None:
    """Run an imagine in ``mode`` whatever the account's own mode: Midjourney honours the prompt's flag."""
    if task.action != TaskAction.IMAGINE:
        return
    cleaned, _ = extract_speed_flag(task.prompt_en)
    task.prompt_en = f"{cleaned} --{mode.value}"
    data = task.extra.get(EXTRA_KEY)
    if isinstance(data, dict) and data.get("kind") == "slash":
        for option in data.get("options", []):
            if option.get("name") == "prompt":
                option["value"] = f"{extract_speed_flag(str(option['value']))[0]} --{mode.value}"


def interaction_of(task: Task) -> InteractionSpec:
    """What to send for a task; tasks stored before specs existed are plain imagines."""
    data = task.extra.get(EXTRA_KEY)
    if isinstance(data, dict):
        return spec_from_json(data)
    return SlashSpec("imagine", [{"type": 3, "name": "prompt", "value": task.prompt_en}])


def set_interaction(task: Task, spec: InteractionSpec) -> None:
    task.extra[EXTRA_KEY] = spec_to_json(spec)


class TaskService:
    def __init__(self, repo: TaskRepository, tracker: Tracker, scheduler: Scheduler, clock: Clock,
                 limits: EngineLimits, ids: TaskIdGenerator | None = None, *,
                 accounts: AccountDirectory | None = None,
                 uploads_dir: Path | None = None, url_guard: UrlGuard | None = None,
                 forward_guard: UrlGuard | None = None, translator: PromptTranslator | None = None) -> None:
        self._repo = repo
        self._tracker = tracker
        self._scheduler = scheduler
        self._clock = clock
        self._limits = limits
        self._ids = ids or TaskIdGenerator()
        self._accounts: AccountDirectory = accounts or NoAccounts()
        self.uploads_dir = uploads_dir or Path("data") / "uploads"
        self._url_guard = url_guard
        self._translator = translator
        self._forward_guard = forward_guard  # URLs we hand to Discord: Midjourney fetches them, not us

    # -- shared helpers for the use cases --------------------------------------------------------
    @property
    def repo(self) -> TaskRepository:
        return self._repo

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    def account(self, account_id: str | None) -> AccountPort | None:
        return self._accounts.get(account_id or "")

    def new_task(self, action: TaskAction, **fields: Any) -> Task:
        return Task(id=self._ids.next(), action=action, submit_time=now_ms(self._clock), **fields)

    def notify_hook(self, requested: str | None) -> str | None:
        return requested or self._limits.default_notify_hook

    async def check_url(self, url: str | None, field: str) -> SubmitResult | None:
        """Code 4 when the server must not request ``url`` (private address, bad scheme…); None if fine."""
        if not url or self._url_guard is None or url == self._limits.default_notify_hook:
            return None  # the operator's own default hook is trusted
        try:
            await self._url_guard.check(url)
        except ValueError as exc:
            return SubmitResult(SubmitCode.VALIDATION_ERROR, f"{field} refused: {exc}")
        return None

    async def check_forwarded_urls(self, task: Task) -> SubmitResult | None:
        """Code 4 when the task would hand Midjourney a URL of our own network (a prompt's image link, a
        /describe link): Midjourney fetches what we send, so it passes the same guard as our own fetches."""
        if self._forward_guard is None:
            return None
        field = "link" if task.action == TaskAction.DESCRIBE else "prompt"
        for url in linked_urls(f"{task.prompt or ''} {task.description or ''}"):
            try:
                await self._forward_guard.check(url)
            except ValueError as exc:
                return SubmitResult(SubmitCode.VALIDATION_ERROR, f"{field} refused: {url}: {exc}")
        return None

    async def fail_task(self, task_id: str, reason: str) -> None:
        await self._tracker.fail(task_id, reason, category="account")

    async def move_task(self, task: Task) -> None:
        """A waiting task of an account that left rotation goes to another account, or fails saying why."""
        self._tracker.untrack(task)
        old_queue = self._scheduler.queue_of(task.account_id or "")
        if old_queue is not None and task in old_queue.waiting:
            old_queue.waiting.remove(task)
        previous = task.account_id
        task.account_id = None
        try:
            queue = self._scheduler.choose()
            self._scheduler.unreserve(queue)  # enqueue_recovered below does not consume a reservation
        except (NoAccountAvailable, QueueFull) as exc:
            task.account_id = previous
            self._tracker.track(task, timeout_minutes=5)
            await self._tracker.fail(task.id, f"its account left rotation and no other account can take it: {exc}",
                                     category="account")
            return
        task.account_id = queue.account.id
        self._tracker.track(task, timeout_minutes=queue.account.timeout_minutes)
        try:
            self._scheduler.enqueue_recovered(queue, task)
        finally:
            await self._repo.update(task)

    def follow(self, task: Task) -> None:
        """Track a task that sends nothing itself: another task's click starts its job."""
        account = self.account(task.account_id)
        self._tracker.track(task, timeout_minutes=account.timeout_minutes if account else 5.0)

    async def abandon(self, task: Task) -> None:
        self._tracker.untrack(task)
        await self._repo.delete(task.id)

    async def store_upload(self, task_id: str, number: int, image: ImageData, *, option: str = "") -> Upload:
        """Keep a client's image on disk until the task has sent it (a restart must not lose it)."""
        folder = self.uploads_dir / task_id
        path = folder / image.filename(str(number))

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(image.content)

        await asyncio.to_thread(write)
        return Upload(path=str(path), filename=image.filename(f"{task_id}_{number}"),
                      content_type=image.content_type, option=option)

    async def discard_uploads(self, task_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.uploads_dir / task_id, True)

    # -- submit ------------------------------------------------------------------------------
    def validate_prompt(self, prompt: str) -> SubmitResult | None:
        if not prompt:
            return SubmitResult(SubmitCode.VALIDATION_ERROR, "prompt is required")
        if len(prompt) > self._limits.max_prompt_length:
            return SubmitResult(SubmitCode.VALIDATION_ERROR,
                                f"prompt is too long: {len(prompt)} characters, at most "
                                f"{self._limits.max_prompt_length} allowed")
        banned = find_banned_word(prompt, self._limits.banned_words)
        if banned is not None:
            return SubmitResult(SubmitCode.BANNED_PROMPT, "prompt may contain a banned word",
                                properties={"promptEn": prompt, "bannedWord": banned})
        return None

    async def english(self, prompt: str) -> EnglishPrompt | SubmitResult:
        """The prompt Midjourney gets: translated when translation is configured (engine/translation.py),
        then checked for banned words in English, as midjourney-proxy checks them."""
        if self._translator is None or not self._translator.enabled:
            return EnglishPrompt(prompt)
        try:
            english = await self._translator.english(prompt)
        except TranslationRefused as exc:
            return SubmitResult(SubmitCode.FAILURE, str(exc))
        if english.prompt_en != prompt:
            problem = self.validate_prompt(english.prompt_en)
            if problem is not None:
                return problem
        return english

    async def submit_imagine(self, request: ImagineRequest) -> SubmitResult:
        """Imagine's one entry point, for every face: check it, build the task, place it on an account.

        Image prompts are kept on disk until sent: uploaded to the account's channel at run time, their
        URLs put before the prompt.
        """
        prompt = request.prompt.strip()
        problem = self.validate_prompt(prompt) or await self.check_url(request.notify_hook, "notifyHook")
        if problem is not None:
            return problem
        images: list[ImageData] = []
        if request.images:
            if len(request.images) > MAX_REFERENCE_IMAGES:
                return SubmitResult(SubmitCode.VALIDATION_ERROR,
                                    f"at most {MAX_REFERENCE_IMAGES} reference images are allowed")
            try:
                images = [decode_image_data_url(v, field=f"base64Array[{i}]") for i, v in enumerate(request.images)]
            except InvalidImage as exc:
                return SubmitResult(SubmitCode.VALIDATION_ERROR, str(exc))
        english = await self.english(prompt)
        if isinstance(english, SubmitResult):
            return english
        task = self.new_task(TaskAction.IMAGINE, bot_type=request.bot_type, prompt=prompt,
                             prompt_en=english.prompt_en, description=f"/imagine {prompt}", state=request.state,
                             notify_hook=self.notify_hook(request.notify_hook))
        task.extra.update(request.extra)
        if english.detail is not None:
            task.extra["translation"] = english.detail
        stamp_owner(task, request.owner)
        if images:
            uploads = [await self.store_upload(task.id, n, image) for n, image in enumerate(images)]
            set_interaction(task, SlashSpec("imagine", [payloads.string_option("prompt", task.prompt_en)],
                                            application_id=APPLICATION_IDS[request.bot_type],
                                            reference_images=uploads))
        return await self.place(task, request.account_filter,
                                path_mode=SpeedMode(request.mode) if request.mode else None)

    async def place(self, task: Task, account_filter: AccountFilter | None = None, *,
                    account_id: str | None = None, stored: bool = False,
                    path_mode: SpeedMode | None = None) -> SubmitResult:
        """Queue a task on an account (``account_id`` pins it: follow-ups run where their parent ran).

        ``stored`` tasks already exist (a MODAL task being confirmed) and are updated, not inserted.
        ``path_mode`` comes from a /mj-fast|relax|turbo prefix and beats a speed flag in the prompt.
        """
        refused = await self.check_forwarded_urls(task)
        if refused is not None:
            return refused
        instance = account_id or (account_filter.instance_id if account_filter else None)
        if instance is not None:
            task.extra[PINNED_KEY] = True  # the client (or the parent) chose the account: never move it
        _, prompt_mode = extract_speed_flag(task.prompt_en)
        f = account_filter or AccountFilter()
        criteria = Criteria(account_id=instance, bot_type=task.bot_type, remark=f.remark, remix=f.remix,
                            remix_auto_considered=f.remix_auto_considered,
                            modes=resolve_modes(path_mode, prompt_mode, f.modes))
        try:
            queue, mode = self._scheduler.select(criteria)
        except NoAccountAvailable as exc:
            return SubmitResult(SubmitCode.NOT_FOUND, f"no available account: {exc}")
        except QueueFull as exc:
            return SubmitResult(SubmitCode.QUEUE_REJECTED, "queue is full, please try again later",
                                properties={"discordInstanceId": exc.account_id})
        if mode is not None:
            force_speed_mode(task, mode)
        task.account_id = queue.account.id
        try:
            if stored:
                await self._repo.update(task)
            else:
                await self._tracker.insert(task)
        except BaseException:
            self._scheduler.unreserve(queue)
            raise
        self._tracker.track(task, timeout_minutes=queue.account.timeout_minutes)
        try:
            # The queue may have filled while the insert awaited; enqueue re-checks capacity.
            placement = self._scheduler.enqueue(queue, task)
        except QueueFull:
            self._tracker.untrack(task)
            if stored:
                task.status = TaskStatus.MODAL  # still waiting for a modal submit; the client may retry
                await self._repo.update(task)
            else:
                await self._repo.delete(task.id)  # like midjourney-proxy, a rejected task is not kept
            return SubmitResult(SubmitCode.QUEUE_REJECTED, "queue is full, please try again later",
                                properties={"discordInstanceId": queue.account.id})
        properties: dict[str, Any] = {"discordInstanceId": placement.account_id}
        if placement.waiting_ahead == 0:
            return SubmitResult(SubmitCode.SUCCESS, "Submitted successfully", task.id, properties)
        properties["numberOfQueues"] = placement.waiting_ahead
        return SubmitResult(SubmitCode.IN_QUEUE, f"In queue, {placement.waiting_ahead} task(s) ahead",
                            task.id, properties)

    # -- queries -----------------------------------------------------------------------------
    # Reads come from the store, never from the live objects: a client sees only what is persisted
    # (DESIGN invariant 5), so nothing it saw can be lost by a crash.
    # ``owner`` (a user key's id) hides other owners' tasks exactly as if they did not exist.
    async def get(self, task_id: str, *, owner: str | None = None) -> Task | None:
        task = await self._repo.get(task_id)
        return task if task is not None and visible_to(task, owner) else None

    async def get_many(self, ids: Sequence[str], *, owner: str | None = None) -> list[Task]:
        return [t for t in await self._repo.get_many(ids) if visible_to(t, owner)]

    async def list_page(self, *, offset: int, limit: int, owner: str | None = None,
                        statuses: Collection[TaskStatus] | None = None,
                        narrow: TaskFilter | None = None) -> tuple[list[Task], int]:
        tasks = await self._repo.list_page(offset=offset, limit=limit, owner=owner, statuses=statuses, narrow=narrow)
        return tasks, await self._repo.count(owner=owner, statuses=statuses, narrow=narrow)

    async def queue(self, *, owner: str | None = None) -> list[Task]:
        return await self.get_many([t.id for t in self._scheduler.snapshot()], owner=owner)

    # -- restart -----------------------------------------------------------------------------
    async def recover(self) -> int:
        """Take back every unfinished task after a restart: requeue or resume tracking, never drop."""
        recovered = 0
        for task in await self._repo.list_unfinished():
            account = self.account(task.account_id)
            if account is None:
                await self._fail_stored(task, "the account that ran this task is no longer configured")
                continue
            queue = self._scheduler.queue_of(account.id)
            if queue is None:
                continue
            if task.status == TaskStatus.MODAL:
                continue  # waits for the client's modal submit; holds no slot
            if task.status == TaskStatus.NOT_START and task.extra.get(LEADER_KEY):
                await self._fail_stored(task, "the click that was to start this job was interrupted by a restart")
                continue
            self._tracker.track(task, timeout_minutes=account.timeout_minutes)
            if task.status == TaskStatus.NOT_START and task.nonce is None:
                self._scheduler.enqueue_recovered(queue, task)
            else:
                # It may have reached Discord: never send it twice. Keep watching it; the gateway
                # replay or the timeout settles it.
                if task.deadline_ms is None:
                    task.deadline_ms = now_ms(self._clock) + int(account.timeout_minutes * 60_000)
                self._scheduler.adopt(queue, task)
            recovered += 1
        return recovered

    async def _fail_stored(self, task: Task, reason: str) -> None:
        # Through the tracker, so the failure is announced and its callback queued like any other change.
        await self._tracker.fail_stored(task, reason)
