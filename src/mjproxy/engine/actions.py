"""Buttons on finished tasks: ``action`` (any button), the two-step ``modal`` flow, the open edition's
``change``/``simple-change``, and the seed of a finished job.

A follow-up always runs on its parent's account (the message ids exist only there) and records its
parent. Buttons that open a modal create a MODAL task that holds no queue slot until confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..domain.buttons import ButtonKind, ParsedCustomId, parse_custom_id, requires_modal, task_action_for
from ..domain.media import InvalidImage, check_mask, decode_image_data_url
from ..domain.prompt import validate_custom_zoom_prompt, validate_prompt
from ..domain.state_machine import transition
from ..domain.task import Button, Task, TaskAction, TaskStatus
from ..midjourney.constants import APPLICATION_IDS
from ..midjourney.errors import SubmitError
from ..midjourney.interactions import ButtonSpec, ModalSpec
from ..midjourney.messages import split_options
from ..store.codec import task_owner
from .correlation import BUTTON_INDEX_KEY
from .service import SubmitCode, SubmitResult, TaskService, set_interaction, stamp_owner
from .tracker import COMPLETE_ON_ACK_KEY, IMAGE_SIZE_KEY, LEADER_KEY, SIBLINGS_KEY

CUSTOM_ID_KEY = "_customId"
SEED_KEY = "seed"

_UNSUPPORTED = {
    ButtonKind.ANIMATE: "video buttons are not supported",
    ButtonKind.VIDEO_UPSCALE: "video buttons are not supported",
    ButtonKind.SETTINGS: "settings buttons belong to accounts, not tasks",
}
_CHANGE_PARENTS = frozenset({TaskAction.IMAGINE, TaskAction.VARIATION, TaskAction.REROLL, TaskAction.BLEND,
                             TaskAction.ZOOM, TaskAction.PAN})
_SIMPLE_CHANGE = re.compile(r"^\s*(\S+)\s+([UuVv][1-4]|[Rr])\s*$")


@dataclass(frozen=True, slots=True)
class ActionRequest:
    task_id: str
    custom_id: str
    state: str | None = None
    notify_hook: str | None = None
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # public properties a dialect stamps on the child
    owner: str | None = None  # the API key pressing the button; None for admin credentials


def invalid(message: str) -> SubmitResult:
    return SubmitResult(SubmitCode.VALIDATION_ERROR, message)


def button_label(button: Button) -> str:
    return button.label or button.emoji or button.custom_id


class Actions:
    def __init__(self, service: TaskService) -> None:
        self._service = service

    async def action(self, request: ActionRequest) -> SubmitResult:
        if not request.task_id or not request.custom_id:
            return invalid("taskId and customId are required")
        problem = await self._service.check_url(request.notify_hook, "notifyHook")
        if problem is not None:
            return problem
        parent = await self._service.get(request.task_id, owner=request.owner)
        if parent is None:
            return SubmitResult(SubmitCode.NOT_FOUND, f"parent task {request.task_id} does not exist")
        if parent.status != TaskStatus.SUCCESS:
            return invalid(f"parent task {parent.id} is {parent.status.value}; buttons need a SUCCESS task")
        button = next((b for b in parent.buttons if b.custom_id == request.custom_id), None)
        if button is None or not parent.message_id:
            return invalid(f"customId {request.custom_id} is not one of the buttons of task {parent.id}")
        parsed = parse_custom_id(request.custom_id)
        if parsed is None:
            return invalid(f"customId {request.custom_id} is not a Midjourney button")
        if parsed.kind in _UNSUPPORTED:
            return invalid(_UNSUPPORTED[parsed.kind])
        action = TaskAction.BOOKMARK if parsed.kind == ButtonKind.BOOKMARK else task_action_for(parsed)
        if action is None:
            return invalid(f"customId {request.custom_id} starts no job mjproxy can follow")
        account = self._service.account(parent.account_id)
        if account is None:
            return SubmitResult(SubmitCode.NOT_FOUND,
                                f"the account of task {parent.id} ({parent.account_id}) is not available")
        if parsed.kind == ButtonKind.PIC_READER_ALL:
            return await self._imagine_all(parent, button, request)
        task = self._child(parent, action, button, request)
        if parsed.kind in (ButtonKind.UPSCALE, ButtonKind.VARIATION) and parsed.index is not None:
            task.extra[BUTTON_INDEX_KEY] = parsed.index
        task.extra[CUSTOM_ID_KEY] = request.custom_id
        if requires_modal(parsed, account.remix):
            return await self._open_modal(task, parent, parsed, remix=account.remix)
        if action == TaskAction.BOOKMARK:
            task.extra[COMPLETE_ON_ACK_KEY] = True
            task.image_url = parent.image_url
        set_interaction(task, ButtonSpec(parent.message_id, request.custom_id, parent.message_flags,
                                         APPLICATION_IDS[parent.bot_type]))
        return await self._service.place(task, account_id=parent.account_id)

    async def _imagine_all(self, parent: Task, button: Button, request: ActionRequest) -> SubmitResult:
        """Describe's 🎉: one click, four imagine jobs. The first task sends the click; the other three only
        listen. Their messages share the click's interaction and are told apart by their prompts."""
        options = split_options(parent.final_prompt or "")
        if not options:
            return invalid(f"task {parent.id} has no prompts to imagine")
        tasks = []
        for number, prompt in enumerate(options, 1):
            task = self._child(parent, TaskAction.IMAGINE, button, request)
            task.prompt = task.prompt_en = task.final_prompt = prompt
            task.description = f"/action {parent.id} Imagine all ({number}/{len(options)})"
            tasks.append(task)
        leader, followers = tasks[0], tasks[1:]
        ids = [t.id for t in tasks]
        for task in tasks:
            task.extra[SIBLINGS_KEY] = ids
        for follower in followers:
            follower.extra[LEADER_KEY] = leader.id
            await self._service.repo.insert(follower)
            self._service.follow(follower)
        set_interaction(leader, ButtonSpec(parent.message_id or "", request.custom_id, parent.message_flags,
                                           APPLICATION_IDS[parent.bot_type]))
        result = await self._service.place(leader, account_id=parent.account_id)
        if result.code not in (SubmitCode.SUCCESS, SubmitCode.IN_QUEUE):
            for follower in followers:
                await self._service.abandon(follower)
            return result
        result.properties["taskIds"] = ids
        return result

    def _child(self, parent: Task, action: TaskAction, button: Button, request: ActionRequest) -> Task:
        task = self._service.new_task(
            action, bot_type=parent.bot_type, prompt=parent.prompt, prompt_en=parent.prompt_en,
            final_prompt=parent.final_prompt, state=request.state,
            notify_hook=self._service.notify_hook(request.notify_hook), parent_id=parent.id,
            account_id=parent.account_id, referenced_message_id=parent.message_id,
            progress_message_id=None)
        # A button pressed by an admin on a user's task still belongs to that user.
        stamp_owner(task, request.owner if request.owner is not None else task_owner(parent))
        task.description = request.description or f"/action {parent.id} {button_label(button)}"
        task.extra.update(request.extra)
        return task

    async def _open_modal(self, task: Task, parent: Task, parsed: ParsedCustomId, *, remix: bool) -> SubmitResult:
        options = split_options(parent.final_prompt or "")
        prompt = parent.final_prompt or parent.prompt
        if parsed.kind in (ButtonKind.PIC_READER, ButtonKind.PROMPT_ANALYZER) and parsed.index is not None:
            if not 1 <= parsed.index <= len(options):
                return invalid(f"task {parent.id} has no option {parsed.index}")
            prompt = options[parsed.index - 1]
            task.prompt = task.prompt_en = prompt
        elif parsed.kind == ButtonKind.CUSTOM_ZOOM:
            # Midjourney pre-fills the custom zoom box the same way; confirming it unchanged works.
            prompt = f"{prompt} --zoom 2"
        task.final_prompt = prompt
        task.status = TaskStatus.MODAL
        await self._service.repo.insert(task)
        is_remix = remix and parsed.kind not in (ButtonKind.CUSTOM_ZOOM, ButtonKind.VARY_REGION,
                                                  ButtonKind.PIC_READER, ButtonKind.PROMPT_ANALYZER)
        return SubmitResult(SubmitCode.MODAL, "Waiting for window confirm", task.id,
                            {"finalPrompt": prompt, "remix": is_remix, "discordInstanceId": parent.account_id})

    async def modal(self, task_id: str, prompt: str | None, mask: str | None, *,
                    owner: str | None = None) -> SubmitResult:
        task = await self._service.get(task_id, owner=owner) if task_id else None
        if task is None:
            return SubmitResult(SubmitCode.NOT_FOUND, f"task {task_id} does not exist")
        if task.status != TaskStatus.MODAL:
            return invalid(f"task {task.id} is {task.status.value}, not waiting for a modal submit")
        parent = await self._service.repo.get(task.parent_id or "")
        custom_id = str(task.extra.get(CUSTOM_ID_KEY) or "")
        parsed = parse_custom_id(custom_id)
        if parent is None or parsed is None or not parent.message_id:
            return SubmitResult(SubmitCode.NOT_FOUND, f"the parent task of {task.id} is gone")
        text = (prompt or "").strip() or task.final_prompt or parent.prompt
        check = validate_custom_zoom_prompt if parsed.kind == ButtonKind.CUSTOM_ZOOM else validate_prompt
        error = check(text)
        if error:
            return invalid(error)
        mask_path: str | None = None
        if parsed.kind == ButtonKind.VARY_REGION:
            if not mask:
                return invalid("maskBase64 is required for Vary (Region)")
            try:
                mask_image = decode_image_data_url(mask, field="maskBase64")
                size = parent.extra.get(IMAGE_SIZE_KEY)
                check_mask(mask_image, (int(size[0]), int(size[1])) if isinstance(size, list) else None)
            except InvalidImage as exc:
                return invalid(str(exc))
            mask_path = (await self._service.store_upload(task.id, 0, mask_image)).path
        task.prompt = task.prompt_en = text
        task.final_prompt = text
        set_interaction(task, ModalSpec(parent.message_id, custom_id, text, parent.message_flags,
                                        APPLICATION_IDS[parent.bot_type], mask_path=mask_path))
        transition(task, TaskStatus.NOT_START)
        return await self._service.place(task, account_id=parent.account_id, stored=True)

    async def change(self, task_id: str, action: str, index: int | None, *, state: str | None,
                     notify_hook: str | None, owner: str | None = None) -> SubmitResult:
        """The open edition's U/V/R on a grid, as a button click."""
        if not task_id:
            return invalid("taskId is required")
        letter = {"UPSCALE": "U", "VARIATION": "V", "REROLL": "R"}.get(action or "")
        if letter is None:
            return invalid("action must be UPSCALE, VARIATION or REROLL")
        if letter != "R" and (index is None or not 1 <= index <= 4):
            return invalid("index must be between 1 and 4")
        parent = await self._service.get(task_id, owner=owner)
        if parent is None:
            return SubmitResult(SubmitCode.NOT_FOUND, f"parent task {task_id} does not exist")
        if parent.status != TaskStatus.SUCCESS:
            return invalid(f"parent task {parent.id} is {parent.status.value}; buttons need a SUCCESS task")
        if parent.action not in _CHANGE_PARENTS or not parent.message_hash:
            return invalid(f"a {parent.action.value} task cannot be upscaled or varied with change")
        prefix = {"U": "MJ::JOB::upsample::", "V": "MJ::JOB::variation::", "R": "MJ::JOB::reroll::0::"}[letter]
        custom_id = next((b.custom_id for b in parent.buttons if b.custom_id.startswith(prefix)
                          and (letter == "R" or b.custom_id.startswith(f"{prefix}{index}::"))), None)
        if custom_id is None:
            return invalid(f"task {parent.id} has no {letter}{index or ''} button")
        suffix = "R" if letter == "R" else f"{letter}{index}"
        return await self.action(ActionRequest(parent.id, custom_id, state=state, notify_hook=notify_hook,
                                               description=f"/up {parent.id} {suffix}", owner=owner))

    async def simple_change(self, content: str, *, state: str | None, notify_hook: str | None,
                            owner: str | None = None) -> SubmitResult:
        match = _SIMPLE_CHANGE.match(content or "")
        if match is None:
            return invalid("content must be '<taskId> U1..U4|V1..V4|R'")
        task_id, token = match.group(1), match.group(2).upper()
        action = {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}[token[0]]
        index = int(token[1]) if len(token) == 2 else None
        return await self.change(task_id, action, index, state=state, notify_hook=notify_hook, owner=owner)

    async def seed(self, task_id: str, *, owner: str | None = None) -> SubmitResult:
        task = await self._service.get(task_id, owner=owner)
        if task is None:
            return SubmitResult(SubmitCode.NOT_FOUND, f"task {task_id} does not exist")
        if task.status != TaskStatus.SUCCESS or not task.message_hash:
            return invalid(f"task {task.id} has no finished image to take the seed of")
        cached = task.extra.get(SEED_KEY)
        if cached:
            return SubmitResult(SubmitCode.SUCCESS, "Success", str(cached))
        account = self._service.account(task.account_id)
        if account is None:
            return SubmitResult(SubmitCode.NOT_FOUND, f"the account of task {task.id} is not available")
        try:
            seed = await account.fetch_seed(task.message_hash)
        except SubmitError as exc:
            return SubmitResult(SubmitCode.FAILURE, f"could not read the seed: {exc.reason}")
        # Reading the seed takes seconds; write it onto the task as stored now, not the copy read before,
        # or a change made meanwhile (a /v2 child recorded on the parent) would be lost.
        fresh = await self._service.repo.get(task.id) or task
        fresh.extra[SEED_KEY] = seed
        await self._service.repo.update(fresh)
        return SubmitResult(SubmitCode.SUCCESS, "Success", seed)
