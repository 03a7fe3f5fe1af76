"""Vary (Region) (midjourney-bot.md §4.4, §6.10): the iframe modal and the activity backend's submit-job.

Click `MJ::Inpaint::1::H::SOLO` -> INTERACTION_IFRAME_MODAL_CREATE (`custom_id` `MJ::iframe::<token>`) ->
SUCCESS. The editor then posts `{customId, mask, prompt, userId, username}` to
`{activity_base}/inpaint/api/submit-job`; the job's messages carry no nonce, but (knobs) the click's
interaction_metadata and a message_reference to the upscale message. Tokens are single-use."""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from PIL import Image
from starlette.responses import JSONResponse

from . import images
from .actions import H
from .world import Interaction

if TYPE_CHECKING:
    from .bot import Job, MidjourneyBot


@dataclass
class InpaintSession:
    token: str
    click: Interaction
    parent: Job
    message_id: str | None
    used: bool = False


class Inpaint:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.sessions: dict[str, InpaintSession] = {}
        bot.register_button(rf"MJ::Inpaint::1::{H}::SOLO", self.click)

    def click(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self.bot.source_job(inter, m[1])
        if parent is None or not self.bot.config.inpaint_enabled:
            self.bot.world.fail(inter, 1)
            return
        token = secrets.token_hex(16)
        self.sessions[token] = InpaintSession(token, inter, parent, inter.message_id)
        path = (f"/inpaint/?custom_id=MJ%3A%3Aiframe%3A%3A{token}&job_id={parent.job_id}"
                f"&width={parent.width}&height={parent.height}&remix={int(self.bot.user(inter.user_id).settings.remix)}")
        self.bot.world.open_iframe_modal(inter, f"MJ::iframe::{token}", "Vary Region", path)

    # --- activity backend --------------------------------------------------------------------------
    def router(self) -> APIRouter:
        r = APIRouter()
        r.add_api_route("/inpaint/api/submit-job", self.submit_job, methods=["POST"])
        return r

    async def submit_job(self, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return _error("Invalid JSON body")
        if not isinstance(body, dict):
            return _error("Invalid JSON body")
        token = str(body.get("customId") or "").removeprefix("MJ::iframe::")
        session = self.sessions.get(token)
        if session is None or session.used:
            return _error("Invalid or expired customId")
        mask = _decode_png(str(body.get("mask") or ""))
        if mask is None:
            return _error("mask must be a base64-encoded PNG")
        parent = session.parent
        if self.bot.config.inpaint_require_same_size and mask != (parent.width, parent.height):
            return _error(f"mask must be {parent.width}x{parent.height}, got {mask[0]}x{mask[1]}")
        session.used = True
        prompt = str(body.get("prompt") or "").strip()
        self.run(session, prompt or parent.final_prompt, _mask_bytes(str(body["mask"])))
        return JSONResponse({"success": True})

    def run(self, session: InpaintSession, prompt: str, mask_png: bytes) -> None:
        bot, cfg, parent, click = self.bot, self.bot.config, session.parent, session.click
        remix = bot.user(click.user_id).settings.remix
        final, speed = bot.echo(prompt, "") if prompt != parent.final_prompt else (parent.final_prompt, None)
        reply_to = session.message_id if cfg.inpaint_message_reference else None
        job = bot.new_job(click, prompt=prompt, final_prompt=final, mode=bot.mode_of(click.user_id, speed),
                          nonce=None, command="activity", action="vary_region",
                          label="Remix (Region) by " if remix else "Variations (Region) by ",
                          parent_job_id=parent.job_id, parent_message_id=session.message_id, reply_to=reply_to,
                          responds=False, with_meta=cfg.inpaint_interaction_metadata)
        png = parent.image_png
        assert png is not None
        job.render = lambda: images.inpaint_grid(png, mask_png, job.final_prompt, job.seed)
        bot.launch(job)


def _error(message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, 400)


def _mask_bytes(text: str) -> bytes:
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    return base64.b64decode(text, validate=False)


def _decode_png(text: str) -> tuple[int, int] | None:
    try:
        data = _mask_bytes(text)
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                return None
            return int(img.width), int(img.height)
    except (binascii.Error, ValueError, OSError):
        return None
