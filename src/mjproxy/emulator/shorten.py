"""/shorten (midjourney-bot.md §6.13, §11.5, §15.2): token analysis and five shortened prompts.

Placeholder (nonce, `interaction.name:"shorten"`) -> MESSAGE_UPDATE with the analysis embed and buttons
1️⃣..5️⃣ `MJ::Job::PromptAnalyzer::{n}` + `Show Details` (`MJ::Job::PromptAnalyzerExtended`, answered by updating
the embed with weighted tokens). A pick opens `MJ::ImagineModal::<message id>` (submit handled in modals.py)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import prompts
from .actions import prompt_modal
from .bot import option
from .describe import KEYCAPS
from .state import JsonDict, StoredMessage
from .world import Interaction

if TYPE_CHECKING:
    from .bot import MidjourneyBot

FOOTER = "Click on a button to imagine one of the shortened prompts"
STOPWORDS = {"a", "an", "the", "of", "in", "on", "at", "with", "and", "or", "to", "for", "by", "is", "are", "very",
             "some", "that", "this", "from", "into", "its", "it", "as", "be", "really", "beautiful"}


@dataclass
class Analysis:
    tokens: list[tuple[str, float]]  # (token, weight) in prompt order
    options: list[str]


def analyse(prompt: str) -> Analysis:
    parsed = prompts.parse(prompt)
    params = " ".join(f"--{n} {v}".strip() for n, v in parsed.params)
    words = [w for w in re.split(r"[\s,]+", parsed.text) if w]
    tokens: list[tuple[str, float]] = []
    for w in words:
        h = hashlib.sha256(w.lower().encode()).digest()[0] / 255
        important = w.lower() not in STOPWORDS and len(w) > 2
        tokens.append((w, round(0.35 + 0.65 * h, 2) if important else round(0.1 * h, 2)))
    ranked = [w for w, _ in sorted((t for t in tokens if t[1] >= 0.35), key=lambda t: -t[1])] or words[:1]
    options: list[str] = []
    for k in range(5):
        keep = max(1, round(len(ranked) * (1 - 0.15 * k)))
        chosen = set(ranked[:keep])
        text = " ".join(w for w, _ in tokens if w in chosen) or parsed.text or prompt
        options.append(f"{text} {params}".strip())
    return Analysis(tokens, options)


def description(analysis: Analysis, headings: str, details: bool = False) -> str:
    marked = " ".join(f"**{w}**" if weight >= 0.35 else f"~~{w}~~" for w, weight in analysis.tokens)
    head1, head2 = (("**IMPORTANT TOKENS**", "**SHORTENED OPTIONS**") if headings == "caps"
                    else ("## Important tokens", "## Shortened prompts"))
    lines = "\n".join(f"{KEYCAPS[i + 1]} {o}" for i, o in enumerate(analysis.options))
    text = f"{head1}\n{marked}\n\n{head2}\n{lines}"
    if details:
        bars = "\n".join(f"{w} {'█' * max(1, round(weight * 10))} {weight:.2f}"
                         for w, weight in sorted(analysis.tokens, key=lambda t: -t[1]))
        text += f"\n\n**DETAILS**\n```\n{bars}\n```"
    return text


class Shorten:
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.results: dict[str, Analysis] = {}  # shorten message id -> analysis
        bot.commands["shorten"] = self.command
        bot.register_button(r"MJ::Job::PromptAnalyzer::([1-5])", self.pick)
        bot.register_button(r"MJ::Job::PromptAnalyzerExtended.*", self.details)

    def command(self, inter: Interaction) -> None:
        prompt = str(option(inter.data, "prompt") or "")
        problem = self.bot.check_prompt(prompt)
        if problem is not None and problem[0] == "banned_prompt":
            self.bot.reject(inter, prompt, prompt, problem[0], problem[1], command="shorten", action="shorten")
            return
        message = self.bot.defer(inter, ephemeral=False, name="shorten")
        job = self.bot.new_job(inter, prompt=prompt, final_prompt=prompt, mode=self.bot.mode_of(inter.user_id, None),
                               command="shorten", action="shorten", images=0, buttons="none")
        job.response_message_id = job.final_message_id = message.id
        job.status = "done"
        self.bot.jobs.append(job)
        self.bot.world.spawn(self._complete(message, prompt))

    async def _complete(self, message: StoredMessage, prompt: str) -> None:
        delay = self.bot.config.job_duration_s / 4
        if delay:
            await asyncio.sleep(delay)
        analysis = analyse(prompt)
        self.results[message.id] = analysis
        self.bot.finish_deferred(message, embeds=[self._embed(analysis, False)], components=components())

    def _embed(self, analysis: Analysis, details: bool) -> JsonDict:
        return {"type": "rich", "color": 3092790, "footer": {"text": FOOTER},
                "description": description(analysis, self.bot.config.shorten_headings, details)}

    def pick(self, inter: Interaction, m: re.Match[str]) -> None:
        analysis = self.results.get(inter.message_id or "")
        if analysis is None:
            self.bot.world.fail(inter, 1)
            return
        self.bot.world.open_modal(inter, f"MJ::ImagineModal::{inter.message_id}", "Imagine",
                                  prompt_modal("MJ::ImagineModal::new_prompt", "Prompt",
                                               analysis.options[int(m[1]) - 1]))

    def details(self, inter: Interaction, m: re.Match[str]) -> None:
        analysis = self.results.get(inter.message_id or "")
        message = self.bot.world.state.find_message(inter.channel_id, inter.message_id or "")
        if analysis is None or message is None:
            self.bot.world.fail(inter, 1)
            return
        self.bot.world.ack(inter)
        self.bot.world.update_message(message, embeds=[self._embed(analysis, True)])


def components() -> list[JsonDict]:
    row1: list[JsonDict] = [{"type": 2, "style": 2, "custom_id": f"MJ::Job::PromptAnalyzer::{n}",
                             "emoji": {"name": KEYCAPS[n]}} for n in range(1, 6)]
    row2: list[JsonDict] = [{"type": 2, "style": 2, "custom_id": "MJ::Job::PromptAnalyzerExtended",
                             "label": "Show Details"}]
    return [{"type": 1, "components": row1}, {"type": 1, "components": row2}]
