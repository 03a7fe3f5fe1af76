"""Modal submits (type 5, midjourney-bot.md §4.3, §12): remix (V/Vary), pan, imagine (🔄 with remix, shorten
pick), custom zoom. The describe pick modal lives in describe.py.

The submit's `data.id` names the click that opened the modal (REST checks it belongs to the user); the
custom_id may have been built by the client itself, so the job's source is found by the hash / message id
inside the custom_id. Jobs run keyed by the submit's nonce and reply to the message that carried the button."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import prompts
from .actions import Actions, H
from .world import Interaction

if TYPE_CHECKING:
    from .bot import Job, MidjourneyBot


class Modals:
    def __init__(self, bot: MidjourneyBot, actions: Actions) -> None:
        self.bot = bot
        self.actions = actions
        bot.register_modal(rf"MJ::RemixModal::{H}::(\d)::([01])", self.remix)
        bot.register_modal(rf"MJ::PanModal::(left|right|up|down)::{H}::(\d)", self.pan)
        bot.register_modal(r"MJ::ImagineModal::(\d+)", self.imagine)
        bot.register_modal(rf"MJ::OutpaintCustomZoomModal::{H}", self.custom_zoom)

    def _opener(self, inter: Interaction) -> Interaction | None:
        return self.bot.world.interactions.get(inter.opener_id or "")

    def _source(self, inter: Interaction, job_hash: str) -> Job | None:
        job = self.bot.by_hash.get(job_hash)
        if job is None or job.image_png is None:
            self.bot.world.fail(inter, 1)
            return None
        return job

    def _reply_to(self, inter: Interaction, parent: Job) -> str | None:
        opener = self._opener(inter)
        return (opener.message_id if opener is not None else None) or parent.final_message_id

    def _restyle(self, inter: Interaction) -> None:
        opener = self._opener(inter)
        if opener is not None and opener.type == 3:
            self.bot.restyle(opener)

    def remix(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self._source(inter, m[1])
        if parent is None:
            return
        index, strong = int(m[2]), m[3] == "1"
        kind = "strong" if strong else "subtle"
        if self.bot.config.variation_label == "plain" and self.bot.user(inter.user_id).settings.variation is None \
                and parent.buttons == "grid":
            kind = "plain"
        self._restyle(inter)
        self.actions.variation_job(inter, parent, index if parent.buttons == "grid" else 1, kind,
                                   prompt=inter.modal_value(), remix=True, reply_to=self._reply_to(inter, parent))

    def pan(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self._source(inter, m[2])
        if parent is None:
            return
        self._restyle(inter)
        self.actions.pan_job(inter, parent, m[1], prompt=inter.modal_value(), reply_to=self._reply_to(inter, parent))

    def imagine(self, inter: Interaction, m: re.Match[str]) -> None:
        """`MJ::ImagineModal::<message id>`: a grid's 🔄 with remix on, or a /shorten pick."""
        parent = self.bot.by_message.get(m[1])
        if parent is not None:
            self.actions.reroll_job(inter, parent, prompt=inter.modal_value())
            return
        self.bot.start_imagine(inter, inter.modal_value(), command="shorten", action="imagine",
                               parent_message_id=m[1])

    def custom_zoom(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self._source(inter, m[1])
        if parent is None:
            return
        value = inter.modal_value()
        parsed = prompts.parse(value)
        zoom = parsed.get("zoom")
        try:
            factor = float(zoom) if zoom is not None else None
        except ValueError:
            factor = None
        if factor is None or not 1 <= factor <= 2:
            problem = "Invalid value for --zoom, must be between 1 and 2" if zoom is not None else \
                "Custom Zoom needs a --zoom parameter between 1 and 2"
            self.bot.reject(inter, value, value, "invalid_parameter", problem, action="custom_zoom")
            return
        self._restyle(inter)
        self.actions.zoom_job(inter, parent, factor, prompt=value, aspect=prompts.aspect_of(parsed),
                              reply_to=self._reply_to(inter, parent))
