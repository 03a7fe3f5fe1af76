"""Submissions other than imagine (``TaskService.submit_imagine``): describe, blend, shorten, uploads and
face swap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain.account import SpeedMode
from ..domain.media import ImageData, InvalidImage, decode_image_data_url, is_http_url
from ..domain.task import BotType, TaskAction
from ..midjourney import payloads
from ..midjourney.constants import APPLICATION_IDS
from ..midjourney.errors import SubmitError
from ..midjourney.interactions import FaceSwapSpec, SlashSpec
from .scheduler import NoAccountAvailable
from .service import AccountFilter, SubmitCode, SubmitResult, TaskService, set_interaction, stamp_owner

BLEND_DIMENSIONS = {"PORTRAIT": "--ar 2:3", "SQUARE": "--ar 1:1", "LANDSCAPE": "--ar 3:2"}


@dataclass(frozen=True, slots=True)
class Common:
    bot_type: BotType = BotType.MID_JOURNEY
    state: str | None = None
    notify_hook: str | None = None
    account_filter: AccountFilter | None = None
    mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # public properties a dialect stamps on the task
    owner: str | None = None  # the API key that submits it; None for admin credentials

    @property
    def path_mode(self) -> SpeedMode | None:
        return SpeedMode(self.mode) if self.mode else None


def invalid(message: str) -> SubmitResult:
    return SubmitResult(SubmitCode.VALIDATION_ERROR, message)


def decode_all(values: Sequence[str], field: str) -> list[ImageData]:
    return [decode_image_data_url(v, field=f"{field}[{i}]") for i, v in enumerate(values)]


class Submissions:
    def __init__(self, service: TaskService) -> None:
        self._service = service

    async def _hook_problem(self, common: Common) -> SubmitResult | None:
        return await self._service.check_url(common.notify_hook, "notifyHook")

    async def describe(self, image: str | None, link: str | None, common: Common) -> SubmitResult:
        if bool(image) == bool(link):
            return invalid("give either base64 (an image data URL) or link (an http(s) URL)")
        # The link itself is fetched by Midjourney, never by this server, so it needs no SSRF check here.
        problem = await self._hook_problem(common)
        if problem is not None:
            return problem
        task = self._service.new_task(TaskAction.DESCRIBE, bot_type=common.bot_type, state=common.state,
                                      notify_hook=self._service.notify_hook(common.notify_hook))
        task.extra.update(common.extra)
        stamp_owner(task, common.owner)
        application_id = APPLICATION_IDS[common.bot_type]
        if link:
            if not is_http_url(link) or len(link) > 2000:
                return invalid("link must be an http(s) URL")
            task.description = f"/describe {link}"
            set_interaction(task, SlashSpec("describe", [payloads.string_option("link", link.strip())],
                                            application_id=application_id))
        else:
            try:
                decoded = decode_image_data_url(image or "", field="base64")
            except InvalidImage as exc:
                return invalid(str(exc))
            task.description = f"/describe {task.id}.{decoded.extension}"
            upload = await self._service.store_upload(task.id, 0, decoded, option="image")
            set_interaction(task, SlashSpec("describe", application_id=application_id, uploads=[upload]))
        return await self._service.place(task, common.account_filter, path_mode=common.path_mode)

    async def blend(self, images: Sequence[str] | None, dimensions: str | None, common: Common) -> SubmitResult:
        if not images or not 2 <= len(images) <= 5:
            return invalid("base64Array must hold 2 to 5 images")
        if dimensions not in BLEND_DIMENSIONS:
            return invalid("dimensions must be PORTRAIT, SQUARE or LANDSCAPE")
        problem = await self._hook_problem(common)
        if problem is not None:
            return problem
        try:
            decoded = decode_all(images, "base64Array")
        except InvalidImage as exc:
            return invalid(str(exc))
        task = self._service.new_task(TaskAction.BLEND, bot_type=common.bot_type, state=common.state,
                                      notify_hook=self._service.notify_hook(common.notify_hook))
        task.extra.update(common.extra)
        stamp_owner(task, common.owner)
        task.description = f"/blend {task.id} {len(decoded)}"
        uploads = [await self._service.store_upload(task.id, n, image, option=f"image{n + 1}")
                   for n, image in enumerate(decoded)]
        set_interaction(task, SlashSpec("blend", [payloads.string_option("dimensions", BLEND_DIMENSIONS[dimensions])],
                                        application_id=APPLICATION_IDS[common.bot_type], uploads=uploads))
        return await self._service.place(task, common.account_filter, path_mode=common.path_mode)

    async def shorten(self, prompt: str, common: Common) -> SubmitResult:
        prompt = prompt.strip()
        problem = self._service.validate_prompt(prompt) or await self._hook_problem(common)
        if problem is not None:
            return problem
        english = await self._service.english(prompt)
        if isinstance(english, SubmitResult):
            return english
        task = self._service.new_task(TaskAction.SHORTEN, bot_type=common.bot_type, prompt=prompt,
                                      prompt_en=english.prompt_en, description=f"/shorten {prompt}",
                                      state=common.state, notify_hook=self._service.notify_hook(common.notify_hook))
        if english.detail is not None:
            task.extra["translation"] = english.detail
        stamp_owner(task, common.owner)
        set_interaction(task, SlashSpec("shorten", [payloads.string_option("prompt", english.prompt_en)],
                                        application_id=APPLICATION_IDS[common.bot_type]))
        return await self._service.place(task, common.account_filter, path_mode=common.path_mode)

    async def swap_face(self, source: str, target: str, common: Common) -> SubmitResult:
        problem = await self._hook_problem(common)
        if problem is not None:
            return problem
        try:
            source_image = decode_image_data_url(source, field="sourceBase64")
            target_image = decode_image_data_url(target, field="targetBase64")
        except InvalidImage as exc:
            return invalid(str(exc))
        task = self._service.new_task(TaskAction.SWAP_FACE, bot_type=BotType.INSIGHT_FACE, state=common.state,
                                      notify_hook=self._service.notify_hook(common.notify_hook),
                                      description="/swapid")
        stamp_owner(task, common.owner)
        source_upload = await self._service.store_upload(task.id, 0, source_image, option="image")
        target_upload = await self._service.store_upload(task.id, 1, target_image, option="image")
        set_interaction(task, FaceSwapSpec(source_upload, target_upload, face_id=f"mjp{task.id[-10:]}"))
        return await self._service.place(task, common.account_filter, path_mode=common.path_mode)

    async def upload_images(self, images: Sequence[str] | None,
                            account_filter: AccountFilter | None) -> tuple[SubmitResult, list[str]]:
        """Post images to Discord right away and return their attachment URLs (no task is created)."""
        if not images:
            return invalid("base64Array must hold at least one image"), []
        try:
            decoded = decode_all(images, "base64Array")
        except InvalidImage as exc:
            return invalid(str(exc)), []
        try:
            queue = self._service.scheduler.choose(
                account_id=account_filter.instance_id if account_filter else None)
            self._service.scheduler.unreserve(queue)  # an upload takes no queue place
        except NoAccountAvailable as exc:
            return SubmitResult(SubmitCode.NOT_FOUND, f"no available account: {exc}"), []
        except Exception as exc:
            return SubmitResult(SubmitCode.FAILURE, str(exc)), []
        folder = f"upload-{self._service.new_task(TaskAction.IMAGINE).id}"
        uploads = [await self._service.store_upload(folder, n, image) for n, image in enumerate(decoded)]
        try:
            urls = await queue.account.upload_images(uploads)
        except SubmitError as exc:
            return SubmitResult(SubmitCode.FAILURE, f"uploading to Discord failed: {exc.reason}"), []
        finally:
            await self._service.discard_uploads(folder)
        return SubmitResult(SubmitCode.SUCCESS, "Uploaded successfully"), urls
