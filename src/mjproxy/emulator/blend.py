"""/blend (midjourney-bot.md §6.12): 2–5 uploaded images (+ optional `dimensions`) -> an imagine-like grid job.

Content forms (knob `blend_prompt_form`): "links" `**<https://s.mj.run/a> <https://s.mj.run/b> --ar 1:1** - <@U>
(fast)` (2023), "empty" `**** - <@U> (fast)`, "params" `**--v 7.0 --ar 1:1** - <@U> (fast)` (newer). Identical
image bytes -> the red `Duplicate images detected` embed on the response message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import images, prompts
from .bot import option
from .cdn import Blob
from .world import Interaction

if TYPE_CHECKING:
    from .bot import MidjourneyBot

DIMENSIONS = {"--ar 2:3": (2, 3), "--ar 1:1": (1, 1), "--ar 3:2": (3, 2)}


class Blend:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        bot.commands["blend"] = self.command

    def command(self, inter: Interaction) -> None:
        bot = self.bot
        blobs: list[Blob] = []
        for n in range(1, 6):
            value = option(inter.data, f"image{n}")
            if value is not None and str(value) in inter.attachments:
                blobs.append(inter.attachments[str(value)])
        dims = str(option(inter.data, "dimensions") or "--ar 1:1")
        if dims not in DIMENSIONS:
            bot.respond_notice(inter, "invalid_parameter", dims, f"Invalid value for dimensions `{dims}`",
                               command="blend")
            return
        if len(blobs) < 2:
            bot.respond_notice(inter, "invalid_parameter", "", "Please provide 2 to 5 images", command="blend")
            return
        if len({b.data for b in blobs}) < len(blobs):
            bot.reject(inter, "", "", "duplicate_images", None, command="blend", action="blend")
            return
        try:
            for b in blobs:
                images.decode(b.data)
        except Exception:
            bot.reject(inter, "", "", "invalid_link", None, command="blend", action="blend")
            return
        links = []
        for b in blobs:
            att = bot.world.cdn.store_ephemeral(inter.application_id, bot.world.snowflakes.next(), b)
            links.append(f"<{prompts.short_link(att['url'].split('?')[0])}>")
        form = bot.config.blend_prompt_form
        sent = " ".join(links) + " " + dims
        if form == "links":
            final, _ = bot.echo(sent, bot.suffix_for(inter))
        elif form == "params":
            final = f"--v 7.0 {dims}"
        else:
            final = ""
        mode = bot.mode_of(inter.user_id, None)
        job = bot.new_job(inter, prompt=sent, final_prompt=final, mode=mode, aspect=DIMENSIONS[dims],
                          command="blend", action="blend")
        width, height = images.grid_dimensions(bot.config.grid_size, DIMENSIONS[dims])
        datas = [b.data for b in blobs]
        job.render = lambda: images.blend_grid(datas, job.seed, width, height)
        bot.launch(job)
