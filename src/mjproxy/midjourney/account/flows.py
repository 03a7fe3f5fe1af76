"""What a task asks an account to send: a slash command (with image prompts and uploads), a button click,
a modal (click, wait for it to open, submit it; or the Vary (Region) editor), and InsightFace's face swap.

Each flow sends through :class:`~.sender.Sender`, so every interaction it makes is nonce first.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx

from ...domain.buttons import modal_input_custom_id
from .. import payloads
from ..constants import INSIGHTFACE_APP_ID
from ..errors import SubmitError
from ..interactions import ButtonSpec, FaceSwapSpec, InteractionSpec, ModalSpec, SlashSpec
from ..messages import parse_interaction_event
from ..watch import Watch, Watchers
from .inbound import INTERACTION_EVENTS
from .sender import Sender, next_event
from .spec import DiscordEndpoints, NonceAssigner


class TaskFlows:
    def __init__(self, sender: Sender, watchers: Watchers, endpoints: DiscordEndpoints, *,
                 flow_timeout: float) -> None:
        self._sender = sender
        self._watchers = watchers
        self._endpoints = endpoints
        self._flow_timeout = flow_timeout

    async def _next(self, watch: Watch, what: str) -> tuple[str, dict[str, Any]]:
        return await next_event(watch, what, self._flow_timeout)

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        """Send what the task asked for. Returns the prompt actually sent when it differs (image prompts)."""
        await self._sender.ensure_ready()
        if isinstance(spec, SlashSpec):
            return await self._perform_slash(spec, assign_nonce)
        if isinstance(spec, ButtonSpec):
            await self._sender.click(spec.message_id, spec.custom_id, spec.message_flags, spec.application_id,
                                     assign_nonce)
            return None
        if isinstance(spec, ModalSpec):
            await self._perform_modal(spec, assign_nonce)
            return None
        await self._perform_face_swap(spec, assign_nonce)
        return None

    async def _perform_slash(self, spec: SlashSpec, assign_nonce: NonceAssigner) -> str | None:
        options = [dict(o) for o in spec.options]
        sent_prompt: str | None = None
        if spec.reference_images:
            urls = await self._sender.upload_images(spec.reference_images)
            for option in options:
                if option.get("name") == "prompt":
                    option["value"] = sent_prompt = " ".join([*urls, str(option["value"])])
        attachments: list[dict[str, Any]] = []
        attachment_options: list[dict[str, Any]] = []
        uploaded = await self._sender.upload(spec.uploads)
        for index, (upload, (filename, remote)) in enumerate(zip(spec.uploads, uploaded, strict=True)):
            attachments.append(payloads.attachment_ref(index, filename, remote))
            attachment_options.append(payloads.attachment_option(upload.option, index))
        options = attachment_options + options  # the catalogue lists image options first (blend, describe)
        await self._sender.send_slash(spec.name, options, assign_nonce, application_id=spec.application_id,
                                      attachments=attachments)
        return sent_prompt

    async def _perform_modal(self, spec: ModalSpec, assign_nonce: NonceAssigner) -> None:
        """Click, wait for the modal (or the Vary Region editor), then submit it."""
        click_nonce: list[str] = []

        async def remember(nonce: str) -> None:
            click_nonce.append(nonce)
            await assign_nonce(nonce)

        def is_modal(event: str, data: dict[str, Any]) -> bool:
            return event in INTERACTION_EVENTS and bool(click_nonce) and data.get("nonce") == click_nonce[0]

        async with self._watchers.watch(is_modal) as watch:
            await self._sender.click(spec.message_id, spec.custom_id, spec.message_flags, spec.application_id,
                                     remember)
            while True:
                event, data = await self._next(watch, "the modal to open")
                if event == "INTERACTION_FAILURE":
                    raise SubmitError("Discord reported the button click failed before the modal opened")
                if event in ("INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE"):
                    break
        opened = parse_interaction_event(event, data)
        assert opened is not None
        if event == "INTERACTION_IFRAME_MODAL_CREATE":
            await self._submit_inpaint(opened.custom_id or "", spec)
            return
        input_id = str(opened.extra.get("input_custom_id") or "") or modal_input_custom_id(opened.custom_id or "")
        if not input_id:
            raise SubmitError(f"the modal {opened.custom_id} has no text field to fill")
        nonce = await self._sender.fresh_nonce()
        await assign_nonce(nonce)
        account = self._sender.spec
        payload = payloads.modal_submit(guild_id=account.guild_id, channel_id=account.channel_id,
                                        session_id=self._sender.session_id(), nonce=nonce,
                                        interaction_id=opened.interaction_id, modal_custom_id=opened.custom_id or "",
                                        input_custom_id=input_id, value=spec.prompt,
                                        application_id=spec.application_id)
        await self._sender.call(self._sender.post_interaction(payload))

    async def _submit_inpaint(self, iframe_custom_id: str, spec: ModalSpec) -> None:
        """Vary (Region): the editor posts the mask to Midjourney's activity backend, not to /interactions."""
        token = iframe_custom_id.removeprefix("MJ::iframe::")
        if not spec.mask_path:
            raise SubmitError("Vary (Region) needs a mask")
        mask = await asyncio.to_thread(Path(spec.mask_path).read_bytes)
        body = {"customId": token, "mask": base64.b64encode(mask).decode(), "prompt": spec.prompt,
                "userId": "0", "username": "0"}
        url = f"{self._endpoints.activity_base}/inpaint/api/submit-job"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise SubmitError(f"the Vary (Region) editor could not be reached: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise SubmitError(f"the Vary (Region) editor refused the job: {response.status_code} {response.text[:200]}")

    async def _perform_face_swap(self, spec: FaceSwapSpec, assign_nonce: NonceAssigner) -> None:
        """/saveid the source face, wait for the bot to confirm, then /swapid onto the target."""
        nonce: list[str] = []

        async def remember(value: str) -> None:
            nonce.append(value)
            await assign_nonce(value)

        def reply(event: str, data: dict[str, Any]) -> bool:
            return bool(nonce) and data.get("nonce") == nonce[-1] and event in (
                "MESSAGE_CREATE", "INTERACTION_FAILURE")

        async with self._watchers.watch(reply) as watch:
            await self._perform_slash(SlashSpec("saveid", [payloads.string_option("idname", spec.face_id)],
                                                application_id=INSIGHTFACE_APP_ID,
                                                uploads=[spec.source]), remember)
            event, data = await self._next(watch, "InsightFace to save the source face")
        content = str(data.get("content") or "")
        if event == "INTERACTION_FAILURE" or ("not" in content.lower() and "created" not in content.lower()):
            raise SubmitError(f"InsightFace did not save the source face: {content or event}")
        await self._perform_slash(SlashSpec("swapid", [payloads.string_option("idname", spec.face_id)],
                                            application_id=INSIGHTFACE_APP_ID, uploads=[spec.target]), assign_nonce)
