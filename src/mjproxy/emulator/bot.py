"""The Midjourney bot model (midjourney-bot.md §6.1, §7, §16, §17): answers interactions through `World`.

Handlers are looked up in registries (slash command name, button custom_id pattern, modal custom_id
pattern), so later issues add U/V/zoom/pan/settings/... by registering more handlers."""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import content as C
from . import prompts
from .cdn import Blob
from .config import EmulatorConfig
from .images import grid_dimensions, make_grid_png, preview_webp
from .state import JsonDict, StoredMessage
from .world import Interaction, World

Handler = Callable[[Interaction, "re.Match[str] | None"], None]


@dataclass
class Job:
    """One image job as the bot sees it; exposed as `Emulator.jobs` for tests."""

    job_id: str
    nonce: str | None
    interaction_id: str
    prompt: str  # as sent
    final_prompt: str  # MJ's echo (P')
    user_id: str
    channel_id: str
    mode: str
    seed: int
    aspect: tuple[int, int] | None = None
    command: str = "imagine"
    status: str = "created"  # created | queued | running | done | failed
    queued: bool = False
    response_message_id: str | None = None  # the nonce-bearing response (M1 or the "Job queued" notice)
    progress_message_id: str | None = None
    final_message_id: str | None = None
    created_at: float = field(default_factory=time.time)
    interaction: Interaction | None = field(default=None, repr=False)


class MidjourneyBot:
    def __init__(self, world: World) -> None:
        self.world = world
        self.jobs: list[Job] = []
        self._running: dict[str, int] = {}
        self._queues: dict[str, deque[Job]] = {}
        self.commands: dict[str, Callable[[Interaction], None]] = {"imagine": self._imagine}
        self.buttons: list[tuple[re.Pattern[str], Handler]] = []
        self.modals: list[tuple[re.Pattern[str], Handler]] = []

    @property
    def config(self) -> EmulatorConfig:
        return self.world.config

    # --- registry / dispatch -----------------------------------------------------------------------
    def register_button(self, pattern: str, handler: Handler) -> None:
        self.buttons.append((re.compile(pattern), handler))

    def register_modal(self, pattern: str, handler: Handler) -> None:
        self.modals.append((re.compile(pattern), handler))

    def handle(self, inter: Interaction) -> None:
        if self._ignored(inter):
            return  # never acks: the Discord layer emits INTERACTION_FAILURE reason 2 after the timeout
        if inter.type == 2:
            command = self.commands.get(inter.name)
            if command is None:
                self.world.fail(inter, 1)
                return
            command(inter)
            return
        registry = self.buttons if inter.type == 3 else self.modals if inter.type == 5 else []
        custom_id = str(inter.data.get("custom_id", ""))
        for pattern, handler in registry:
            match = pattern.fullmatch(custom_id)
            if match:
                handler(inter, match)
                return
        self.world.fail(inter, 1)  # not implemented yet: "This interaction failed"

    def _ignored(self, inter: Interaction) -> bool:
        haystack = " ".join([str(inter.data.get("custom_id", "")), *(str(v) for v in _option_values(inter.data))])
        return any(t and t.lower() in haystack.lower() for t in self.config.never_ack_triggers)

    # --- responses ---------------------------------------------------------------------------------
    def _bot_extra(self, inter: Interaction, with_interaction: bool = True) -> JsonDict:
        extra: JsonDict = {"webhook_id": inter.application_id, "application_id": inter.application_id}
        if with_interaction:
            extra.update(self.world.interaction_fields(inter))
        return extra

    def respond(self, inter: Interaction, **kwargs: Any) -> StoredMessage:
        """The interaction-response message (carries the nonce), ordered against INTERACTION_SUCCESS."""
        after = self.config.interaction_success_after_message
        if not after:
            self.world.ack(inter)
        extra = self._bot_extra(inter)
        extra.update(kwargs.pop("extra", {}))
        message = self.world.create_message(
            inter.channel_id, inter.application_id, nonce=inter.nonce, extra=extra,
            mentions=[inter.user_id], **kwargs,
        )
        if after:
            self.world.ack(inter)
        return message

    def respond_notice(self, inter: Interaction, kind: str, prompt: str, description: str | None = None,
                       ephemeral: bool | None = None) -> StoredMessage:
        eph = self.config.error_embeds_ephemeral if ephemeral is None else ephemeral
        return self.respond(
            inter,
            embeds=[C.notice_embed(kind, inter.name or "imagine", prompt, description)],
            components=C.notice_components(kind),
            ephemeral_for=inter.user_id if eph else None,
            msg_type=self.config.notice_message_type,
        )

    # --- /imagine ----------------------------------------------------------------------------------
    def _imagine(self, inter: Interaction) -> None:
        prompt = str(_option(inter.data, "prompt") or "")
        cfg = self.config
        user = self.world.state.users[inter.user_id]
        suffix = (cfg.suffix + " " + user.settings.suffix).strip()
        if cfg.rewrite_prompts:
            final_prompt, speed = prompts.rewrite(prompt, suffix)
        else:
            final_prompt = prompt.strip()
            speed = next((f for f in prompts.SPEED_FLAGS if re.search(rf"--{f}\b", prompt)), None)
        lowered = prompt.lower()
        for phrase, kind in cfg.trigger_embeds.items():
            if phrase.lower() in lowered and kind in C.EMBEDS:
                self.respond_notice(inter, kind, prompt)
                self._record_rejected(inter, prompt, final_prompt)
                return
        if any(w and re.search(rf"\b{re.escape(w.lower())}\b", lowered) for w in cfg.banned_words):
            self.respond_notice(inter, "banned_prompt", prompt)
            self._record_rejected(inter, prompt, final_prompt)
            return
        parsed = prompts.parse(prompt)
        problem = prompts.validate_params(parsed)
        if problem is not None:
            self.respond_notice(inter, "invalid_parameter", prompt, problem)
            self._record_rejected(inter, prompt, final_prompt)
            return
        seed = prompts.seed_of(parsed)
        job = Job(
            job_id=str(uuid.uuid4()),
            nonce=inter.nonce,
            interaction_id=inter.id,
            prompt=prompt,
            final_prompt=final_prompt,
            user_id=inter.user_id,
            channel_id=inter.channel_id,
            mode=speed or user.settings.mode,
            seed=seed if seed is not None else random.randrange(0, 4294967295),
            aspect=prompts.aspect_of(parsed),
            interaction=inter,
        )
        self.jobs.append(job)
        self._submit(job)

    def _record_rejected(self, inter: Interaction, prompt: str, final_prompt: str) -> None:
        self.jobs.append(Job(
            job_id=str(uuid.uuid4()), nonce=inter.nonce, interaction_id=inter.id, prompt=prompt,
            final_prompt=final_prompt, user_id=inter.user_id, channel_id=inter.channel_id,
            mode=self.world.state.users[inter.user_id].settings.mode, seed=0, status="failed", interaction=inter,
        ))

    # --- concurrency -------------------------------------------------------------------------------
    def _submit(self, job: Job) -> None:
        inter = job.interaction
        assert inter is not None
        queue = self._queues.setdefault(job.user_id, deque())
        if self._running.get(job.user_id, 0) < self.config.concurrency:
            self._running[job.user_id] = self._running.get(job.user_id, 0) + 1
            job.status = "running"
            self._start(job, fresh=True)
        elif len(queue) < self.config.queue_size:
            job.status = "queued"
            job.queued = True
            queue.append(job)
            notice = self.respond_notice(inter, "job_queued", job.prompt,
                                         ephemeral=self.config.queued_notice_ephemeral)
            job.response_message_id = notice.id
        else:
            job.status = "failed"
            self.respond_notice(inter, "queue_full", job.prompt)

    def _release(self, user_id: str) -> None:
        self._running[user_id] = max(0, self._running.get(user_id, 0) - 1)
        queue = self._queues.get(user_id)
        while queue and self._running[user_id] < self.config.concurrency:
            job = queue.popleft()
            self._running[user_id] += 1
            job.status = "running"
            self._start(job, fresh=False)

    def _start(self, job: Job, fresh: bool) -> None:
        """Post the start message synchronously (the ack must happen now), run the rest as a task."""
        inter = job.interaction
        assert inter is not None
        start_content = C.job_content(job.final_prompt, job.user_id, "Waiting to start")
        if fresh:
            m1 = self.respond(inter, content=start_content, msg_type=self.config.start_message_type)
            job.response_message_id = m1.id
        else:
            # A queued job's start message: real behaviour unverified; by default it is not the
            # nonce-bearing response (the "Job queued" notice was) but still names the interaction.
            m1 = self.world.create_message(
                job.channel_id, inter.application_id, content=start_content, mentions=[job.user_id],
                nonce=inter.nonce if self.config.queued_start_message_nonce else None,
                extra=self._bot_extra(inter), msg_type=self.config.start_message_type,
            )
        job.progress_message_id = m1.id
        self.world.spawn(self._run(job, m1))

    async def _run(self, job: Job, m1: StoredMessage) -> None:
        inter = job.interaction
        assert inter is not None
        try:
            cfg = self.config
            width, height = grid_dimensions(cfg.grid_size, job.aspect)
            render = asyncio.ensure_future(asyncio.to_thread(make_grid_png, job.final_prompt, job.seed, width, height))
            steps = list(cfg.progress_steps)
            delay = cfg.job_duration_s / (len(steps) + 1) if steps else cfg.job_duration_s
            mode = C.mode_word(job.mode, self.world.state.users[job.user_id].settings.stealth)
            for percent in steps:
                if delay:
                    await asyncio.sleep(delay)
                attachments: list[JsonDict] = []
                if percent >= cfg.preview_from_percent:
                    image, _ = await render
                    data, w, h = await asyncio.to_thread(preview_webp, image, cfg.preview_size, percent)
                    blob = Blob(data, "image/webp", f"{job.job_id}_grid_0.webp", w, h)
                    attachments = [self.world.cdn.store_ephemeral(inter.application_id, self.world.snowflakes.next(),
                                                                  blob)]
                self.world.update_message(
                    m1, content=C.progress_content(job.final_prompt, job.user_id, percent, mode),
                    attachments=attachments,
                )
            if delay:
                await asyncio.sleep(delay)
            _, png = await render
            self.world.delete_message(m1)
            self._finish(job, png, width, height, mode)
            job.status = "done"
        except asyncio.CancelledError:
            raise
        except Exception:
            job.status = "failed"
            raise
        finally:
            self._release(job.user_id)

    def _finish(self, job: Job, png: bytes, width: int, height: int, mode: str) -> None:
        inter = job.interaction
        assert inter is not None
        cfg = self.config
        modern = cfg.profile == "modern"
        with_nonce = cfg.final_nonce if cfg.final_nonce is not None else modern
        with_meta = cfg.final_interaction_metadata if cfg.final_interaction_metadata is not None else modern
        website = cfg.website_suffix if cfg.website_suffix is not None else modern
        trailer = cfg.trailer if cfg.trailer is not None else modern
        filename = C.grid_filename(self.world.state.users[job.user_id].username,
                                   prompts.filename_slug(job.final_prompt), job.job_id)
        attachment = self.world.cdn.store_attachment(
            job.channel_id, self.world.snowflakes.next(), Blob(png, "image/png", filename, width, height)
        )
        final = self.world.create_message(
            job.channel_id, inter.application_id,
            content=C.job_content(job.final_prompt, job.user_id, mode,
                                  website_uuid=job.job_id if website else None, trailer=trailer),
            attachments=[attachment],
            components=C.grid_buttons(job.job_id),
            mentions=[job.user_id],
            nonce=inter.nonce if with_nonce else None,
            extra=self._bot_extra(inter, with_interaction=with_meta),
            msg_type=cfg.final_message_type,
        )
        job.final_message_id = final.id


def _option(data: JsonDict, name: str) -> Any:
    for opt in data.get("options") or []:
        if isinstance(opt, dict) and opt.get("name") == name:
            return opt.get("value")
    return None


def _option_values(data: JsonDict) -> list[Any]:
    out: list[Any] = []
    stack = list(data.get("options") or [])
    while stack:
        opt = stack.pop()
        if isinstance(opt, dict):
            if "value" in opt:
                out.append(opt["value"])
            stack.extend(opt.get("options") or [])
    return out
