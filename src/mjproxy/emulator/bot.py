"""The Midjourney bot model (midjourney-bot.md §6, §7, §16, §17): answers interactions through `World`.

Handlers are looked up in registries (slash command name, button custom_id pattern, modal custom_id
pattern); the feature modules (actions, modals, inpaint, describe, shorten, blend, account_commands, seed,
insightface) register theirs in `features.install`. Every image job, whatever started it, runs through one
lifecycle here: concurrency slot -> start message -> progress updates -> delete -> final message."""

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

from PIL import Image

from . import content as C
from . import prompts
from .cdn import Blob
from .config import EmulatorConfig
from .images import encode_png, grid_dimensions, preview_webp, render_grid
from .state import INSIGHTFACE_BOT_ID, MJ_BOT_ID, NIJI_BOT_ID, JsonDict, StoredMessage, User
from .world import Interaction, World

Handler = Callable[[Interaction, "re.Match[str]"], None]
LOADING = 128


@dataclass
class Job:
    """One job as the bot sees it; exposed as `Emulator.jobs` for tests (and read by the proxy's tests)."""

    job_id: str
    nonce: str | None  # the nonce the start (or only) message carries; None for Vary Region / follow-ups
    interaction_id: str
    prompt: str  # as sent
    final_prompt: str  # MJ's echo (P')
    user_id: str
    channel_id: str
    mode: str
    seed: int
    aspect: tuple[int, int] | None = None
    command: str = "imagine"  # slash command, or "button" / "modal" / "activity" for follow-up jobs
    action: str = "imagine"  # imagine reroll variation upscale upscale_subtle ... zoom_out pan_left blend ...
    label: str = ""  # content words before the mention on the final: "Variations (Strong) by "
    progress_label: str | None = None  # same on start/progress messages (None = label)
    index: int | None = None  # U/V index, describe pick
    parent_job_id: str | None = None
    parent_message_id: str | None = None
    application_id: str = MJ_BOT_ID
    status: str = "created"  # created | queued | running | done | failed
    queued: bool = False
    response_message_id: str | None = None  # the nonce-bearing response (M1 or the "Job queued" notice)
    progress_message_id: str | None = None
    final_message_id: str | None = None
    width: int = 0
    height: int = 0
    created_at: float = field(default_factory=time.time)
    interaction: Interaction | None = field(default=None, repr=False)
    reply_to: str | None = None  # message id that start and final messages reply to (type 19)
    responds: bool = True  # the start message is the interaction response (carries the nonce, acks)
    with_meta: bool = True  # messages carry interaction/interaction_metadata of `interaction`
    progress: bool = True  # False: no start/progress messages, only the final (v5+ U1–U4)
    steps: list[int] | None = None  # progress percentages (None = config.progress_steps)
    buttons: str = "grid"  # grid | solo | solo_reduced | none
    model: str = "v6r1"  # upsample_* family of the SOLO buttons
    start_text: str | None = None
    final_text: str | None = None
    images: int = 4  # for /info's lifetime usage
    cost_hours: float = 0.0
    render: Callable[[], Image.Image] | None = field(default=None, repr=False)
    image_png: bytes | None = field(default=None, repr=False)


class MidjourneyBot:
    def __init__(self, world: World) -> None:
        self.world = world
        self.jobs: list[Job] = []
        self.by_hash: dict[str, Job] = {}
        self.by_message: dict[str, Job] = {}  # final (and /show) message id -> job
        self._running: dict[str, int] = {}
        self._queues: dict[str, deque[Job]] = {}
        self.commands: dict[str, Callable[[Interaction], None]] = {"imagine": self._imagine}
        self.buttons: list[tuple[re.Pattern[str], Handler]] = []
        self.modals: list[tuple[re.Pattern[str], Handler]] = []
        self.other_bots: dict[str, Any] = {}  # application id -> handler with .handle(inter)
        from . import features

        self.features = features.install(self)

    @property
    def config(self) -> EmulatorConfig:
        return self.world.config

    def user(self, user_id: str) -> User:
        return self.world.state.users[user_id]

    # --- registry / dispatch -----------------------------------------------------------------------
    def register_button(self, pattern: str, handler: Handler) -> None:
        self.buttons.append((re.compile(pattern), handler))

    def register_modal(self, pattern: str, handler: Handler) -> None:
        self.modals.append((re.compile(pattern), handler))

    def handle(self, inter: Interaction) -> None:
        if self._ignored(inter):
            return  # never acks: the Discord layer emits INTERACTION_FAILURE reason 2 after the timeout
        other = self.other_bots.get(inter.application_id)
        if other is not None:
            other.handle(inter)
            return
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
        self.world.fail(inter, 1)  # unknown id: "This interaction failed"

    def _ignored(self, inter: Interaction) -> bool:
        haystack = " ".join([str(inter.data.get("custom_id", "")), *(str(v) for v in option_values(inter.data))])
        return any(t and t.lower() in haystack.lower() for t in self.config.never_ack_triggers)

    # --- responses ---------------------------------------------------------------------------------
    def bot_extra(self, inter: Interaction, with_interaction: bool = True, name: str | None = None) -> JsonDict:
        extra: JsonDict = {"webhook_id": inter.application_id, "application_id": inter.application_id}
        if with_interaction:
            extra.update(self.world.interaction_fields(inter, name))
        return extra

    def respond(self, inter: Interaction, **kwargs: Any) -> StoredMessage:
        """The interaction-response message (carries the nonce), ordered against INTERACTION_SUCCESS."""
        after = self.config.interaction_success_after_message
        if not after:
            self.world.ack(inter)
        extra = self.bot_extra(inter, name=kwargs.pop("name", None))
        extra.update(kwargs.pop("extra", None) or {})
        message = self.world.create_message(
            inter.channel_id, inter.application_id, nonce=inter.nonce, extra=extra,
            mentions=[inter.user_id], **kwargs,
        )
        if after:
            self.world.ack(inter)
        return message

    def defer(self, inter: Interaction, ephemeral: bool, name: str | None = None) -> StoredMessage:
        """Deferred placeholder: empty content, `flags` 192 when ephemeral (64 | LOADING), else 0."""
        return self.respond(inter, content="", flags=LOADING if ephemeral else 0,
                            ephemeral_for=inter.user_id if ephemeral else None, name=name)

    def finish_deferred(self, message: StoredMessage, **changes: Any) -> None:
        """The placeholder's MESSAGE_UPDATE (no nonce): LOADING cleared, the result filled in; sent
        `deferred_update_delay_s` later (real bots take a moment; clients learn the id from the CREATE)."""
        flags = int(message.data.get("flags") or 0) & ~LOADING

        async def later() -> None:
            if self.config.deferred_update_delay_s:
                await asyncio.sleep(self.config.deferred_update_delay_s)
            self.world.update_message(message, flags=flags, **changes)

        self.world.spawn(later())

    def ephemeral_reply(self, inter: Interaction, content: str, name: str | None = None,
                        two_step: bool = True) -> StoredMessage:
        """Ephemeral text answer: placeholder (flags 192, nonce) then an update (flags 64), or one message."""
        if not two_step:
            return self.respond(inter, content=content, ephemeral_for=inter.user_id, name=name)
        message = self.defer(inter, ephemeral=True, name=name)
        self.finish_deferred(message, content=content)
        return message

    def respond_notice(self, inter: Interaction, kind: str, prompt: str, description: str | None = None,
                       ephemeral: bool | None = None, command: str | None = None) -> StoredMessage:
        eph = self.config.error_embeds_ephemeral if ephemeral is None else ephemeral
        return self.respond(
            inter,
            embeds=[C.notice_embed(kind, command or (inter.name if inter.type == 2 else "imagine"), prompt,
                                   description)],
            components=C.notice_components(kind),
            ephemeral_for=inter.user_id if eph else None,
            msg_type=self.config.notice_message_type,
        )

    def restyle(self, inter: Interaction) -> None:
        """The clicked button turns style 1 on the message that carries it (MESSAGE_UPDATE, §11.1)."""
        if not self.config.restyle_clicked or inter.message_id is None:
            return
        message = self.world.state.find_message(inter.channel_id, inter.message_id)
        if message is None:
            return
        custom_id = str(inter.data.get("custom_id", ""))
        self.world.update_message(message, components=C.restyled(message.data.get("components") or [], custom_id))

    # --- prompts -----------------------------------------------------------------------------------
    def suffix_for(self, inter: Interaction) -> str:
        settings = self.user(inter.user_id).settings
        parts = [self.config.suffix, settings.suffix, settings.settings_suffix()]
        if inter.application_id == NIJI_BOT_ID:
            parts.append(self.config.niji_suffix)
        return " ".join(p.strip() for p in parts if p.strip())

    def echo(self, prompt: str, suffix: str) -> tuple[str, str | None]:
        """(P', speed flag) for a prompt: rewritten per §9 unless rewriting is off."""
        if self.config.rewrite_prompts:
            return prompts.rewrite(prompt, suffix)
        speed = next((f for f in prompts.SPEED_FLAGS if re.search(rf"--{f}\b", prompt)), None)
        return (prompt.strip() + (" " + suffix if suffix else "")).strip(), speed

    def check_prompt(self, prompt: str) -> tuple[str, str | None] | None:
        """The §17 notice (kind, description) a prompt triggers, or None."""
        cfg = self.config
        lowered = prompt.lower()
        for phrase, kind in cfg.trigger_embeds.items():
            if phrase.lower() in lowered and kind in C.EMBEDS:
                return kind, None
        if any(w and re.search(rf"\b{re.escape(w.lower())}\b", lowered) for w in cfg.banned_words):
            return "banned_prompt", None
        problem = prompts.validate_params(prompts.parse(prompt))
        if problem is not None:
            return "invalid_parameter", problem
        for m in prompts.URL_RE.finditer(prompt):
            if not self.link_ok(m.group(1)):
                return "invalid_link", None
        return None

    def link_ok(self, url: str) -> bool:
        """Image links MJ can fetch: emulator CDN links must resolve (and be validly signed); others must not
        match `unreachable_link_substrings`."""
        if any(s and s in url for s in self.config.unreachable_link_substrings):
            return False
        return self.world.cdn.resolve_url(url) is not None or not self.world.cdn.is_own_url(url)

    def mode_of(self, user_id: str, speed: str | None) -> str:
        return speed or self.user(user_id).settings.mode

    def fast_remaining(self, user_id: str) -> float:
        used = self.user(user_id).stats.fast_hours_used
        return self.config.fast_hours_total - (self.config.fast_hours_used_initial if used is None else used)

    def job_cost(self, mode: str, factor: float = 1.0) -> float:
        if mode == "relax":
            return 0.0
        return self.config.fast_hours_per_job * factor * (2 if mode == "turbo" else 1)

    # --- job construction --------------------------------------------------------------------------
    def new_job(self, inter: Interaction, *, prompt: str, final_prompt: str, mode: str, seed: int | None = None,
                **kwargs: Any) -> Job:
        job = Job(
            job_id=str(uuid.uuid4()),
            nonce=kwargs.pop("nonce", inter.nonce),
            interaction_id=inter.id,
            prompt=prompt,
            final_prompt=final_prompt,
            user_id=inter.user_id,
            channel_id=inter.channel_id,
            mode=mode,
            seed=seed if seed is not None else random.randrange(0, 4294967295),
            application_id=inter.application_id,
            interaction=inter,
            **kwargs,
        )
        job.model = self.upscale_model(final_prompt)
        if not job.cost_hours and job.images:
            job.cost_hours = self.job_cost(mode)
        return job

    def upscale_model(self, prompt: str) -> str:
        if self.config.upscale_model != "auto":
            return self.config.upscale_model
        version = prompts.parse(prompt).get("v", "version") or ""
        if version.startswith("5"):
            return "v5"
        if version in ("6", "6.0"):
            return "v6"
        if version.startswith("7"):
            return "v7"
        return "v6r1"

    def grid_render(self, job: Job, size: tuple[int, int] | None = None) -> Callable[[], Image.Image]:
        width, height = size or grid_dimensions(self.config.grid_size, job.aspect)

        def render() -> Image.Image:
            return render_grid(job.final_prompt, job.seed, width, height)

        return render

    def reject(self, inter: Interaction, prompt: str, final_prompt: str, kind: str, description: str | None,
               notify: bool = True, command: str = "imagine", action: str = "imagine") -> None:
        if notify:
            self.respond_notice(inter, kind, prompt, description, command=command)
        self.jobs.append(Job(
            job_id=str(uuid.uuid4()), nonce=inter.nonce if notify else None, interaction_id=inter.id,
            prompt=prompt, final_prompt=final_prompt, user_id=inter.user_id, channel_id=inter.channel_id,
            mode=self.user(inter.user_id).settings.mode, seed=0, status="failed", interaction=inter,
            command=command, action=action, application_id=inter.application_id,
        ))

    def start_imagine(self, inter: Interaction, prompt: str, *, apply_suffix: bool = True, command: str = "imagine",
                      action: str = "imagine", **kwargs: Any) -> Job | None:
        """The /imagine path (also reroll, remix'd reroll, describe/shorten picks): checks, then a grid job."""
        notify = kwargs.get("responds", True)
        final_prompt, speed = self.echo(prompt, self.suffix_for(inter) if apply_suffix else "")
        problem = self.check_prompt(prompt)
        if problem is not None:
            self.reject(inter, prompt, final_prompt, problem[0], problem[1], notify, command, action)
            return None
        mode = self.mode_of(inter.user_id, speed)
        if mode != "relax" and self.fast_remaining(inter.user_id) <= 0:
            self.reject(inter, prompt, final_prompt, "credits_exhausted", None, notify, command, action)
            return None
        parsed = prompts.parse(final_prompt)  # the suffix's --ar / --seed count too
        job = self.new_job(inter, prompt=prompt, final_prompt=final_prompt, mode=mode, seed=prompts.seed_of(parsed),
                           aspect=prompts.aspect_of(parsed), command=command, action=action, **kwargs)
        job.render = self.grid_render(job)
        self.launch(job)
        return job

    # --- /imagine ----------------------------------------------------------------------------------
    def _imagine(self, inter: Interaction) -> None:
        self.start_imagine(inter, str(option(inter.data, "prompt") or ""), command=inter.name)

    # --- concurrency -------------------------------------------------------------------------------
    def launch(self, job: Job) -> None:
        self.jobs.append(job)
        self.by_hash[job.job_id] = job
        self._submit(job)

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
            if job.responds:
                notice = self.respond_notice(inter, "job_queued", job.prompt,
                                             ephemeral=self.config.queued_notice_ephemeral, command="imagine")
                job.response_message_id = notice.id
        else:
            job.status = "failed"
            if job.responds:
                self.respond_notice(inter, "queue_full", job.prompt, command="imagine")

    def _release(self, user_id: str) -> None:
        self._running[user_id] = max(0, self._running.get(user_id, 0) - 1)
        queue = self._queues.get(user_id)
        while queue and self._running[user_id] < self.config.concurrency:
            job = queue.popleft()
            self._running[user_id] += 1
            job.status = "running"
            self._start(job, fresh=False)

    def _reply_extra(self, job: Job) -> JsonDict:
        """`message_reference` + full `referenced_message` when the job replies to a message."""
        if job.reply_to is None:
            return {}
        channel = self.world.state.channels[job.channel_id]
        ref: JsonDict = {"type": 0, "channel_id": job.channel_id, "message_id": job.reply_to}
        if channel.guild_id:
            ref["guild_id"] = channel.guild_id
        target = channel.messages.get(job.reply_to)
        referenced = None if target is None or target.deleted else dict(target.data)
        return {"message_reference": ref, "referenced_message": referenced}

    def _start(self, job: Job, fresh: bool) -> None:
        """Post the start message synchronously (the ack must happen now), run the rest as a task."""
        inter = job.interaction
        assert inter is not None
        if not job.progress:
            if fresh and job.responds:
                self.world.ack(inter)
            self.world.spawn(self._run(job, None))
            return
        label = job.label if job.progress_label is None else job.progress_label
        start_content = job.start_text or C.job_content(job.final_prompt, job.user_id, "Waiting to start", label=label)
        msg_type = 19 if job.reply_to else self.config.start_message_type
        if fresh and job.responds:
            m1 = self.respond(inter, content=start_content, msg_type=msg_type, extra=self._reply_extra(job))
            job.response_message_id = m1.id
        else:
            # A queued (or follow-up) job's start message: by default not the nonce-bearing response (the
            # "Job queued" notice was) but still naming the interaction.
            with_nonce = job.responds and self.config.queued_start_message_nonce
            extra = self.bot_extra(inter, with_interaction=job.with_meta) | self._reply_extra(job)
            m1 = self.world.create_message(
                job.channel_id, job.application_id, content=start_content, mentions=[job.user_id],
                nonce=job.nonce if with_nonce else None, extra=extra, msg_type=msg_type,
            )
        job.progress_message_id = m1.id
        self.world.spawn(self._run(job, m1))

    async def _run(self, job: Job, m1: StoredMessage | None) -> None:
        inter = job.interaction
        assert inter is not None and job.render is not None
        render_fn = job.render
        try:
            cfg = self.config
            render = asyncio.ensure_future(asyncio.to_thread(lambda: _encode(render_fn())))
            loop = asyncio.get_running_loop()
            started = loop.time()
            steps = list(cfg.progress_steps if job.steps is None else job.steps) if m1 is not None else []
            delay = cfg.job_duration_s / (len(steps) + 1) if steps else cfg.job_duration_s / 2
            mode = C.mode_word(job.mode, self.user(job.user_id).settings.stealth)
            label = job.label if job.progress_label is None else job.progress_label
            # Steps keep to a fixed timetable (start + k × step): the work of a step (preview encode,
            # fan-out) must not stretch the job, or a "1 s" job would take noticeably longer.
            for step, percent in enumerate(steps, 1):
                if delay:
                    await asyncio.sleep(max(0.0, started + step * delay - loop.time()))
                attachments: list[JsonDict] = []
                if percent >= cfg.preview_from_percent:
                    image, _ = await render
                    data, w, h = await asyncio.to_thread(preview_webp, image, cfg.preview_size, percent)
                    blob = Blob(data, "image/webp", f"{job.job_id}_grid_0.webp", w, h)
                    attachments = [self.world.cdn.store_ephemeral(job.application_id, self.world.snowflakes.next(),
                                                                  blob)]
                assert m1 is not None
                self.world.update_message(
                    m1, content=C.progress_content(job.final_prompt, job.user_id, percent, mode, label),
                    attachments=attachments,
                )
            if delay:
                await asyncio.sleep(max(0.0, started + (len(steps) + 1) * delay - loop.time()))
            image, png = await render
            if m1 is not None:
                self.world.delete_message(m1)
            job.width, job.height = image.size
            job.image_png = png
            self._finish(job, png, mode)
            job.status = "done"
            self._account(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            job.status = "failed"
            raise
        finally:
            self._release(job.user_id)

    def _account(self, job: Job) -> None:
        stats = self.user(job.user_id).stats
        stats.lifetime_images += job.images
        hours = job.cost_hours or self.config.fast_hours_per_job * (job.images / 4)
        stats.lifetime_hours += hours
        if job.mode == "relax":
            stats.relaxed_images += job.images
            stats.relaxed_hours += hours
        elif job.cost_hours:
            used = self.config.fast_hours_used_initial if stats.fast_hours_used is None else stats.fast_hours_used
            stats.fast_hours_used = used + job.cost_hours

    def components_for(self, job: Job) -> list[JsonDict]:
        if job.buttons == "grid":
            return C.grid_buttons(job.job_id)
        if job.buttons in ("solo", "solo_reduced"):
            return C.solo_buttons(job.job_id, job.model, web=self.config.web_button,
                                  with_upscales=job.buttons == "solo")
        return []

    def _finish(self, job: Job, png: bytes, mode: str) -> None:
        inter = job.interaction
        assert inter is not None
        cfg = self.config
        modern = cfg.profile == "modern"
        with_nonce = cfg.final_nonce if cfg.final_nonce is not None else modern
        with_meta = cfg.final_interaction_metadata if cfg.final_interaction_metadata is not None else modern
        website = cfg.website_suffix if cfg.website_suffix is not None else modern
        trailer = cfg.trailer if cfg.trailer is not None else modern
        filename = C.grid_filename(self.user(job.user_id).username, prompts.filename_slug(job.final_prompt),
                                   job.job_id)
        attachment = self.world.cdn.store_attachment(
            job.channel_id, self.world.snowflakes.next(), Blob(png, "image/png", filename, job.width, job.height)
        )
        text = job.final_text or C.job_content(job.final_prompt, job.user_id, mode, label=job.label,
                                               website_uuid=job.job_id if website else None, trailer=trailer)
        final = self.world.create_message(
            job.channel_id, job.application_id,
            content=text,
            attachments=[attachment],
            components=self.components_for(job),
            mentions=[job.user_id],
            nonce=job.nonce if with_nonce else None,
            extra=self.bot_extra(inter, with_interaction=with_meta and job.with_meta) | self._reply_extra(job),
            msg_type=19 if job.reply_to else cfg.final_message_type,
        )
        job.final_message_id = final.id
        self.by_message[final.id] = job

    # --- lookups for button handlers ---------------------------------------------------------------
    def source_job(self, inter: Interaction, job_hash: str) -> Job | None:
        """The finished job whose message carries the clicked button (message id first, then hash)."""
        job = self.by_message.get(inter.message_id or "")
        if job is not None and job.job_id == job_hash:
            return job
        job = self.by_hash.get(job_hash)
        return job if job is not None and job.image_png is not None else None


def _encode(image: Image.Image) -> tuple[Image.Image, bytes]:
    return image, encode_png(image)


def option(data: JsonDict, name: str) -> Any:
    """Value of a top-level option (or of the first subcommand's option) by name."""
    for opt in data.get("options") or []:
        if isinstance(opt, dict) and opt.get("name") == name:
            return opt.get("value")
    return None


def option_values(data: JsonDict) -> list[Any]:
    out: list[Any] = []
    stack = list(data.get("options") or [])
    while stack:
        opt = stack.pop()
        if isinstance(opt, dict):
            if "value" in opt:
                out.append(opt["value"])
            stack.extend(opt.get("options") or [])
    return out


__all__ = ["INSIGHTFACE_BOT_ID", "Job", "MidjourneyBot", "option", "option_values"]
