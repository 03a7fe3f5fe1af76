"""/describe (midjourney-bot.md §6.11, §11.4, §15.1): four prompts for an image, picks, retry, imagine all.

Input: `image` (attachment id naming `data.attachments[]`, resolved by REST from the upload slots or a multipart
`files[n]` part; unknown uploads are 400 50035 there) or `link` (emulator CDN links are resolved locally,
other http(s) links are described from the URL text; bad ones get the red `Invalid link` embed).
Lifecycle: placeholder (nonce, `interaction.name:"describe"`) -> SUCCESS -> MESSAGE_UPDATE with the embed."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import images
from .actions import prompt_modal
from .bot import option
from .cdn import Blob
from .commands import MJ_DESCRIBE_ID
from .state import JsonDict, StoredMessage
from .world import Interaction

if TYPE_CHECKING:
    from .bot import MidjourneyBot

KEYCAPS = [f"{n}\ufe0f\u20e3" for n in range(10)]
EMBED_COLOR = 3092790

SUBJECTS = ["a lone figure", "a quiet harbor town", "an ornate clockwork bird", "a misty mountain valley",
            "a neon-lit alleyway", "a cozy reading nook", "an ancient stone temple", "a field of wildflowers",
            "a retro-futuristic city", "a curious red fox", "a floating island", "a vintage sports car"]
STYLES = ["in the style of studio ghibli", "digital painting", "cinematic lighting", "watercolor illustration",
          "hyperrealistic photography", "art nouveau poster", "isometric 3d render", "oil on canvas",
          "soft pastel colors", "bold graphic design", "moody chiaroscuro", "dreamy bokeh"]
DETAILS = ["highly detailed", "intricate patterns", "volumetric fog", "golden hour", "symmetrical composition",
           "shallow depth of field", "rich textures", "muted palette", "dramatic shadows", "whimsical mood"]


def color_name(rgb: tuple[int, int, int]) -> str:
    r = rgb[0]
    if max(rgb) - min(rgb) < 24:
        return "monochrome gray" if 60 < r < 200 else ("dark" if r <= 60 else "bright white")
    names = {(255, 0, 0): "crimson", (255, 128, 0): "amber", (255, 255, 0): "golden", (0, 200, 0): "emerald",
             (0, 200, 200): "teal", (0, 0, 255): "cobalt blue", (128, 0, 255): "violet", (255, 0, 160): "magenta"}
    return min(names.items(), key=lambda kv: sum((a - c) ** 2 for a, c in zip(kv[0], rgb, strict=True)))[1]


def describe_prompts(data: bytes, width: int, height: int, salt: bytes = b"") -> list[str]:
    """Four deterministic, plausible prompts for an image, each ending with `--ar W:H`."""
    digest = hashlib.sha256(data + salt).digest()
    tone = color_name(images.average_color(data))
    g = math.gcd(width, height) or 1
    ar = f"--ar {width // g}:{height // g}"
    out = []
    for i in range(4):
        subject = SUBJECTS[(digest[i] + i) % len(SUBJECTS)]
        style = STYLES[(digest[4 + i] + 3 * i) % len(STYLES)]
        detail = DETAILS[(digest[8 + i] + 5 * i) % len(DETAILS)]
        out.append(f"{subject} bathed in {tone} tones, {style}, {detail} {ar}")
    return out


@dataclass
class DescribeResult:
    user_id: str
    prompts: list[str]
    blob: Blob


class Describe:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.results: dict[str, DescribeResult] = {}  # describe message id -> result
        bot.commands["describe"] = self.command
        bot.register_button(r"MJ::Job::PicReader::([1-4])", self.pick)
        bot.register_button(r"MJ::Picread::Retry", self.retry)
        bot.register_button(r"MJ::Job::PicReader::all", self.imagine_all)
        bot.register_modal(r"MJ::Picreader::Modal::([1-4])", self.submit)

    # --- input -------------------------------------------------------------------------------------
    def _input(self, inter: Interaction) -> Blob | None:
        image = option(inter.data, "image")
        if image is not None:
            blob = inter.attachments.get(str(image))
            return blob if blob is not None and _is_image(blob.data) else None
        link = str(option(inter.data, "link") or "").strip()
        if not re.match(r"https?://\S+$", link) or any(
                s and s in link for s in self.bot.config.describe_link_invalid_substrings):
            return None
        if self.bot.world.cdn.is_own_url(link):
            return self.bot.world.cdn.resolve_url(link)
        img = images.single_image(link, 512, 512)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", link.rsplit("/", 1)[-1].split("?")[0]) or "image.png"
        return Blob(images.encode_png(img), "image/png", name if name.endswith(".png") else name + ".png", 512, 512)

    def command(self, inter: Interaction) -> None:
        blob = self._input(inter)
        if blob is None:
            link = str(option(inter.data, "link") or "")
            self.bot.respond_notice(inter, "invalid_link", link, command="describe")
            return
        message = self.bot.defer(inter, ephemeral=self.bot.config.describe_ephemeral, name="describe")
        self._record(inter, message)
        self.bot.world.spawn(self._complete(inter, message, blob))

    def _record(self, inter: Interaction, message: StoredMessage) -> None:
        job = self.bot.new_job(inter, prompt="", final_prompt="", mode=self.bot.mode_of(inter.user_id, None),
                               command="describe", action="describe", images=0, buttons="none",
                               parent_message_id=inter.message_id)
        job.response_message_id = job.final_message_id = message.id
        job.status = "done"
        self.bot.jobs.append(job)

    async def _complete(self, inter: Interaction, message: StoredMessage, blob: Blob, salt: bytes = b"") -> None:
        delay = self.bot.config.job_duration_s / 4
        if delay:
            await asyncio.sleep(delay)
        width, height = blob.width or 512, blob.height or 512
        prompts = await asyncio.to_thread(describe_prompts, blob.data, width, height, salt)
        cmd_id = self.bot.world.commands.command_id(inter.application_id, "describe") or MJ_DESCRIBE_ID
        shown = Blob(blob.data, blob.content_type or "image/png", blob.filename, width, height)
        att = self.bot.world.cdn.store_ephemeral(cmd_id, self.bot.world.snowflakes.next(), shown)
        embed: JsonDict = {
            "type": "rich",
            "description": "\n\n".join(f"{KEYCAPS[i + 1]} {p}" for i, p in enumerate(prompts)),
            "image": {"url": att["url"], "proxy_url": att["proxy_url"], "width": width, "height": height},
            "color": EMBED_COLOR,
        }
        self.results[message.id] = DescribeResult(inter.user_id, prompts, blob)
        self.bot.finish_deferred(message, embeds=[embed], components=components())

    # --- buttons -----------------------------------------------------------------------------------
    def _result(self, inter: Interaction) -> DescribeResult | None:
        result = self.results.get(inter.message_id or "")
        if result is None:
            self.bot.world.fail(inter, 1)
        return result

    def pick(self, inter: Interaction, m: re.Match[str]) -> None:
        result = self._result(inter)
        if result is None:
            return
        n = int(m[1])
        self.bot.world.open_modal(inter, f"MJ::Picreader::Modal::{n}", "Imagine This!",
                                  prompt_modal("MJ::Picreader::Modal::PromptField", "Prompt", result.prompts[n - 1]))

    def retry(self, inter: Interaction, m: re.Match[str]) -> None:
        result = self._result(inter)
        if result is None:
            return
        message = self.bot.defer(inter, ephemeral=self.bot.config.describe_ephemeral, name="describe")
        self._record(inter, message)
        # A fresh result: the same image, described again with a different salt.
        self.bot.world.spawn(self._complete(inter, message, result.blob, salt=message.id.encode()))

    def imagine_all(self, inter: Interaction, m: re.Match[str]) -> None:
        """Four imagine lifecycles: the first start message carries the click's nonce, all carry the click's
        interaction_metadata."""
        result = self._result(inter)
        if result is None:
            return
        for i, prompt in enumerate(result.prompts):
            self.bot.start_imagine(inter, prompt, command="describe", action="imagine", index=i + 1,
                                   parent_message_id=inter.message_id, responds=i == 0,
                                   nonce=inter.nonce if i == 0 else None)

    def submit(self, inter: Interaction, m: re.Match[str]) -> None:
        opener = self.bot.world.interactions.get(inter.opener_id or "")
        self.bot.start_imagine(inter, inter.modal_value(), command="describe", action="imagine", index=int(m[1]),
                               parent_message_id=opener.message_id if opener else None)


def components() -> list[JsonDict]:
    row1: list[JsonDict] = [{"type": 2, "style": 2, "custom_id": f"MJ::Job::PicReader::{n}",
                             "emoji": {"name": KEYCAPS[n]}} for n in range(1, 5)]
    row2: list[JsonDict] = [
        {"type": 2, "style": 2, "custom_id": "MJ::Picread::Retry", "emoji": {"name": "🔄"}},
        {"type": 2, "style": 2, "custom_id": "MJ::Job::PicReader::all", "label": "Imagine all",
         "emoji": {"name": "🎉"}},
    ]
    return [{"type": 1, "components": row1}, {"type": 1, "components": row2}]


def _is_image(data: bytes) -> bool:
    try:
        images.decode(data)
        return True
    except Exception:
        return False
