"""Grid and SOLO buttons (midjourney-bot.md §6.2–6.9, §11): U1–U4, V1–V4, 🔄, Upscale (Subtle/Creative/2x/4x),
Vary (Strong/Subtle), Zoom Out, Pan, ❤️, and the Custom Zoom modal opener.

Each action is split in a click handler and a `*_job` builder; the remix modal submits (modals.py) call the
same builders with the edited prompt and the remix label."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import images
from .images import grid_dimensions
from .world import Interaction

if TYPE_CHECKING:
    from .bot import Job, MidjourneyBot

H = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
UPSCALE_TOKENS = r"(upsample_(?:v5_2x|v5_4x|v6_2x_subtle|v6_2x_creative|v6r1_2x_subtle|v6r1_2x_creative|" \
                 r"v7_2x_subtle|v7_2x_creative))"
PAN_BOXES: dict[str, images.Box] = {
    "left": (1 / 3, 0, 1, 1), "right": (0, 0, 2 / 3, 1), "up": (0, 1 / 3, 1, 1), "down": (0, 0, 1, 2 / 3),
}


def prompt_modal(input_id: str, label: str, value: str) -> list[dict[str, object]]:
    """The single paragraph text input every MJ prompt modal has (§12)."""
    return [{"type": 1, "components": [{
        "type": 4, "custom_id": input_id, "label": label, "style": 2, "value": value, "required": True,
        "min_length": 1, "max_length": 4000, "placeholder": None,
    }]}]


def variation_label(kind: str, remix: bool) -> str:
    word = "Remix" if remix else "Variations"
    return {"strong": f"{word} (Strong) by ", "subtle": f"{word} (Subtle) by "}.get(kind, f"{word} by ")


class Actions:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        reg = bot.register_button
        reg(rf"MJ::JOB::upsample::([1-4])::{H}", self.upscale_pick)
        reg(rf"MJ::JOB::variation::([1-4])::{H}(?:::SOLO)?", self.variation)
        reg(rf"MJ::JOB::reroll::0::{H}::SOLO", self.reroll)
        reg(rf"MJ::JOB::{UPSCALE_TOKENS}::1::{H}::SOLO", self.upscale_solo)
        reg(rf"MJ::JOB::(high|low)_variation::1::{H}::SOLO", self.vary)
        reg(rf"MJ::Outpaint::(50|75)::1::{H}::SOLO", self.zoom_out)
        reg(rf"MJ::JOB::pan_(left|right|up|down)::1::{H}::SOLO", self.pan)
        reg(rf"MJ::BOOKMARK::{H}", self.bookmark)
        reg(rf"MJ::CustomZoom::{H}", self.custom_zoom)

    # --- helpers -----------------------------------------------------------------------------------
    def _source(self, inter: Interaction, job_hash: str) -> Job | None:
        job = self.bot.source_job(inter, job_hash)
        if job is None:
            self.bot.world.fail(inter, 1)
        return job

    def _prelude(self, inter: Interaction, restyle_of: Interaction | None = None) -> None:
        """SUCCESS, then the clicked button restyled on its message (§6.3 step 1)."""
        if not self.bot.config.interaction_success_after_message and inter.type == 3:
            self.bot.world.ack(inter)
        self.bot.restyle(restyle_of or inter)

    def remix_on(self, inter: Interaction) -> bool:
        return self.bot.user(inter.user_id).settings.remix

    def variation_kind(self, user_id: str) -> str:
        return self.bot.user(user_id).settings.variation or self.bot.config.variation_label

    def _edited(self, inter: Interaction, parent: Job, prompt: str | None) -> tuple[str, str, str] | None:
        """(prompt as sent, P', mode) for a follow-up job; an edited (remix) prompt is checked like /imagine."""
        if prompt is None:
            return parent.prompt, parent.final_prompt, self.bot.mode_of(inter.user_id, None)
        final, speed = self.bot.echo(prompt, "")
        problem = self.bot.check_prompt(prompt)
        if problem is not None:
            self.bot.reject(inter, prompt, final, problem[0], problem[1], command="imagine", action="remix")
            return None
        return prompt, final, self.bot.mode_of(inter.user_id, speed)

    def _follow_up(self, inter: Interaction, parent: Job, *, action: str, label: str, prompt: str | None = None,
                   reply_to: str | None = None, **kwargs: Any) -> Job | None:
        edited = self._edited(inter, parent, prompt)
        if edited is None:
            return None
        sent, final, mode = edited
        job = self.bot.new_job(inter, prompt=sent, final_prompt=final, mode=mode, command=_command(inter),
                               action=action, label=label, parent_job_id=parent.job_id,
                               parent_message_id=reply_to or inter.message_id, reply_to=reply_to or inter.message_id,
                               aspect=(parent.width, parent.height), **kwargs)
        return job

    def _grid_size(self, aspect: tuple[int, int]) -> tuple[int, int]:
        return grid_dimensions(self.bot.config.grid_size, aspect)

    # --- U1–U4 -------------------------------------------------------------------------------------
    def upscale_pick(self, inter: Interaction, m: re.Match[str]) -> None:
        index, parent = int(m[1]), self._source(inter, m[2])
        if parent is None or parent.image_png is None:
            return
        self._prelude(inter)
        png, style = parent.image_png, self.bot.config.upscale_style
        job = self._follow_up(inter, parent, action="upscale", label="Upscaled by ", index=index, buttons="solo",
                              images=1)
        if job is None:
            return
        job.seed, job.cost_hours = parent.seed, 0.0
        if style == "image":
            job.progress = False
            job.final_text = f"**{job.final_prompt}** - Image #{index} <@{job.user_id}>"
        else:
            job.steps = []
            job.start_text = (f"Upscaling image #{index} with **{job.final_prompt}** - <@{job.user_id}> "
                              "(Waiting to start)")
        job.render = lambda: images.crop_quadrant(png, index)
        self.bot.launch(job)

    # --- V1–V4 -------------------------------------------------------------------------------------
    def variation(self, inter: Interaction, m: re.Match[str]) -> None:
        index, parent = int(m[1]), self._source(inter, m[2])
        if parent is None:
            return
        kind = self.variation_kind(inter.user_id)
        if self.remix_on(inter):
            self.bot.world.open_modal(inter, f"MJ::RemixModal::{parent.job_id}::{index}::{int(kind != 'subtle')}",
                                      f"Remix Prompt for image #{index}",
                                      prompt_modal("MJ::RemixModal::new_prompt", "New prompt for image",
                                                   parent.final_prompt))
            return
        self._prelude(inter)
        self.variation_job(inter, parent, index, kind)

    def variation_job(self, inter: Interaction, parent: Job, index: int, kind: str, prompt: str | None = None,
                      remix: bool = False, reply_to: str | None = None) -> None:
        """V{index} on a grid, or Vary (Strong/Subtle) on a single image (index 1)."""
        from_grid = parent.buttons == "grid"
        action = ("variation" if from_grid else f"vary_{'subtle' if kind == 'subtle' else 'strong'}")
        job = self._follow_up(inter, parent, action=action, label=variation_label(kind, remix), prompt=prompt,
                              index=index, reply_to=reply_to)
        if job is None or parent.image_png is None:
            return
        png, strength = parent.image_png, 0.35 if kind == "subtle" else 0.65
        width, height = (parent.width, parent.height) if from_grid else self._grid_size((parent.width, parent.height))
        quadrant = index if from_grid else None
        job.render = lambda: images.derived_grid(png, job.final_prompt, job.seed, width, height, strength, quadrant)
        self.bot.launch(job)

    # --- 🔄 ----------------------------------------------------------------------------------------
    def reroll(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self._source(inter, m[1])
        if parent is None:
            return
        if self.remix_on(inter):
            self.bot.world.open_modal(inter, f"MJ::ImagineModal::{inter.message_id}", "Imagine",
                                      prompt_modal("MJ::ImagineModal::new_prompt", "Prompt", parent.final_prompt))
            return
        self.reroll_job(inter, parent)

    def reroll_job(self, inter: Interaction, parent: Job, prompt: str | None = None) -> None:
        """Imagine-identical contents, new uuid (§6.2); no message_reference."""
        self.bot.start_imagine(inter, prompt if prompt is not None else parent.final_prompt, apply_suffix=False,
                               command=_command(inter), action="reroll", parent_job_id=parent.job_id,
                               parent_message_id=parent.final_message_id)

    # --- SOLO: upscales ----------------------------------------------------------------------------
    def upscale_solo(self, inter: Interaction, m: re.Match[str]) -> None:
        token, parent = m[1], self._source(inter, m[2])
        if parent is None or parent.image_png is None:
            return
        self._prelude(inter)
        variant = token.rsplit("_", 1)[1]  # subtle | creative | 2x | 4x
        word = {"subtle": "Subtle", "creative": "Creative"}.get(variant, variant)
        job = self._follow_up(inter, parent, action=f"upscale_{variant}", label=f"Upscaled ({word}) by ",
                              progress_label="Upscaling by ", buttons="solo_reduced", images=1)
        if job is None:
            return
        png, factor = parent.image_png, 4 if variant == "4x" else 2
        job.seed = parent.seed
        job.render = lambda: images.upscale(png, factor)
        self.bot.launch(job)

    # --- SOLO: Vary (Strong/Subtle) -----------------------------------------------------------------
    def vary(self, inter: Interaction, m: re.Match[str]) -> None:
        strong, parent = m[1] == "high", self._source(inter, m[2])
        if parent is None:
            return
        if self.remix_on(inter):
            self.bot.world.open_modal(inter, f"MJ::RemixModal::{parent.job_id}::1::{int(strong)}", "Remix Prompt",
                                      prompt_modal("MJ::RemixModal::new_prompt", "New prompt for image",
                                                   parent.final_prompt))
            return
        self._prelude(inter)
        self.variation_job(inter, parent, 1, "strong" if strong else "subtle")

    # --- SOLO: Zoom Out / Custom Zoom ---------------------------------------------------------------
    def zoom_out(self, inter: Interaction, m: re.Match[str]) -> None:
        factor, parent = (2.0 if m[1] == "50" else 1.5), self._source(inter, m[2])
        if parent is None:
            return
        self._prelude(inter)
        self.zoom_job(inter, parent, factor)

    def zoom_job(self, inter: Interaction, parent: Job, factor: float, prompt: str | None = None,
                 aspect: tuple[int, int] | None = None, reply_to: str | None = None) -> None:
        job = self._follow_up(inter, parent, action="zoom_out" if prompt is None else "custom_zoom",
                              label="Zoom Out by ", prompt=prompt, reply_to=reply_to)
        if job is None or parent.image_png is None:
            return
        png, s = parent.image_png, 1 / max(1.0, factor)
        width, height = self._grid_size(aspect or (parent.width, parent.height))
        box = ((1 - s) / 2, (1 - s) / 2, (1 + s) / 2, (1 + s) / 2)
        job.render = lambda: images.outpaint_grid(png, job.final_prompt, job.seed, width, height, box)
        self.bot.launch(job)

    def custom_zoom(self, inter: Interaction, m: re.Match[str]) -> None:
        parent = self._source(inter, m[1])
        if parent is None:
            return
        self.bot.world.open_modal(
            inter, f"MJ::OutpaintCustomZoomModal::{parent.job_id}", "Zoom Out",
            prompt_modal("MJ::OutpaintCustomZoomModal::prompt", "Zoom out prompt",
                         parent.final_prompt + self.bot.config.custom_zoom_prefill))

    # --- SOLO: Pan ---------------------------------------------------------------------------------
    def pan(self, inter: Interaction, m: re.Match[str]) -> None:
        direction, parent = m[1], self._source(inter, m[2])
        if parent is None:
            return
        if self.remix_on(inter):
            self.bot.world.open_modal(inter, f"MJ::PanModal::{direction}::{parent.job_id}::1", "Pan",
                                      prompt_modal("MJ::PanModal::prompt", "Pan prompt", parent.final_prompt))
            return
        self._prelude(inter)
        self.pan_job(inter, parent, direction)

    def pan_job(self, inter: Interaction, parent: Job, direction: str, prompt: str | None = None,
                reply_to: str | None = None) -> None:
        job = self._follow_up(inter, parent, action=f"pan_{direction}", label=f"Pan {direction.capitalize()} by ",
                              prompt=prompt, reply_to=reply_to)
        if job is None or parent.image_png is None:
            return
        w, h = parent.width, parent.height
        aspect = (3 * w, 2 * h) if direction in ("left", "right") else (2 * w, 3 * h)
        width, height = self._grid_size(aspect)
        png, box = parent.image_png, PAN_BOXES[direction]
        job.render = lambda: images.outpaint_grid(png, job.final_prompt, job.seed, width, height, box)
        self.bot.launch(job)

    # --- ❤️ ----------------------------------------------------------------------------------------
    def bookmark(self, inter: Interaction, m: re.Match[str]) -> None:
        if self._source(inter, m[1]) is None:
            return
        self.bot.world.ack(inter)
        self.bot.restyle(inter)


def _command(inter: Interaction) -> str:
    return {3: "button", 5: "modal"}.get(inter.type, inter.name)
