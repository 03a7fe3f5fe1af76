"""One runtime per Discord account (DESIGN invariant 1): its gateway, its REST client, its commands.

It sends interactions for the engine and turns the bot's traffic on this account's channel into typed
events for the tracker. It filters out everything that is not ours: other channels, other authors, and
jobs of other users sharing a public channel.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from ..discord.commands import ApplicationCommandCache
from ..discord.errors import (
    DiscordError,
    HTTPException,
    RateLimited,
    Unauthorized,
    is_invalid_command_version,
)
from ..discord.gateway import GatewayClient, GatewayState
from ..discord.observer import RestObserver
from ..discord.rest import RestClient
from ..discord.sessions import SessionSnapshot
from ..domain.account import AccountDefinition, AccountState
from ..domain.buttons import modal_input_custom_id
from ..domain.clock import Clock, SystemClock
from ..domain.ids import SnowflakeGenerator, snowflake_time_ms
from ..domain.secrets import mask_secret
from . import payloads
from .constants import INSIGHTFACE_APP_ID, MIDJOURNEY_APP_ID, NIJI_APP_ID
from .errors import SubmitError
from .events import AccountEvent, JobFailed, MessageDeleted, SessionReplaced
from .insightface import parse_insightface_message
from .interactions import ButtonSpec, FaceSwapSpec, InteractionSpec, ModalSpec, SlashSpec, Upload
from .messages import (
    AccountInfo,
    extract_keys,
    parse_account_info,
    parse_interaction_event,
    parse_message,
    parse_remix_toggle,
    parse_seed_dm,
)
from .pacing import Pacer
from .settings import SettingsView, parse_settings_message
from .watch import WaitTimeout, Watch, Watchers

log = logging.getLogger(__name__)

EventSink = Callable[[str, AccountEvent], Awaitable[None]]
NonceAssigner = Callable[[str], Awaitable[None]]
StateListener = Callable[[str, AccountState, str | None], None]

_BOT_IDS = frozenset({MIDJOURNEY_APP_ID, NIJI_APP_ID, INSIGHTFACE_APP_ID})
_INTERACTION_EVENTS = frozenset({"INTERACTION_CREATE", "INTERACTION_SUCCESS", "INTERACTION_FAILURE",
                                 "INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE"})


@dataclass(frozen=True, slots=True)
class AccountSpec:
    name: str
    guild_id: str
    channel_id: str
    user_token: str
    user_agent: str
    core_size: int = 3
    queue_size: int = 10
    timeout_minutes: float = 5.0
    min_interval_seconds: float = 0.0
    jitter_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class DiscordEndpoints:
    api_base: str
    gateway_url: str
    api_version: int = 9
    compress: bool = True
    activity_base: str = "https://936929561302675456.discordsays.com"  # Vary (Region) editor backend


def load_command_snapshot() -> dict[str, Any]:
    """The bundled command catalogue: a cold-start fallback only, never trusted over the live index."""
    text = resources.files("mjproxy.data").joinpath("mj_application_commands.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class AccountRuntime:
    def __init__(self, spec: AccountSpec, endpoints: DiscordEndpoints, *, sink: EventSink,
                 clock: Clock | None = None, snowflakes: SnowflakeGenerator | None = None,
                 on_state: StateListener | None = None, ready_timeout: float = 30.0,
                 flow_timeout: float = 30.0, sync_on_ready: bool = True,
                 gateway_session: SessionSnapshot | None = None,
                 on_gateway_session: Callable[[SessionSnapshot | None], None] | None = None) -> None:
        self._spec = spec
        self._endpoints = endpoints
        self._sink = sink
        self._clock = clock or SystemClock()
        self._snowflakes = snowflakes or SnowflakeGenerator()
        self._on_state = on_state
        self._ready_timeout = ready_timeout
        self._flow_timeout = flow_timeout
        self._sync_on_ready = sync_on_ready
        self._watchers = Watchers()
        self._pacer = Pacer(spec.min_interval_seconds, spec.jitter_seconds, self._clock)
        self._dm_channel_id: str | None = None
        self._sync_job: asyncio.Task[None] | None = None
        # Account commands run one at a time: two overlapping /info reads could land out of order and
        # leave an older answer in place of a newer one.
        self._commands_lock = asyncio.Lock()
        self.info: AccountInfo | None = None
        self.settings: SettingsView | None = None
        self.definition: AccountDefinition | None = None  # set by the account manager
        self.fast_exhausted = False
        self._state = AccountState.STOPPED
        self._state_reason: str | None = None
        self._state_since = self._clock.now()
        # Known before READY when resuming a saved session (a RESUME brings no READY).
        self._user_id: str | None = gateway_session.user_id if gateway_session else None
        self._rest = RestClient(api_base=endpoints.api_base, token=spec.user_token,
                                user_agent=spec.user_agent, api_version=endpoints.api_version, clock=self._clock)
        self._commands = ApplicationCommandCache(self._rest, clock=self._clock, fallback=load_command_snapshot())
        self._gateway = GatewayClient(url=endpoints.gateway_url, token=spec.user_token,
                                      on_dispatch=self._on_dispatch, on_state=self._on_gateway_state,
                                      user_agent=spec.user_agent, compress=endpoints.compress, clock=self._clock,
                                      resume_from=gateway_session, on_session=on_gateway_session)

    # -- AccountPort ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._spec.channel_id

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def core_size(self) -> int:
        return self._spec.core_size

    @property
    def queue_size(self) -> int:
        return self._spec.queue_size

    @property
    def timeout_minutes(self) -> float:
        return self._spec.timeout_minutes

    @property
    def state(self) -> AccountState:
        return self._state

    @property
    def state_reason(self) -> str | None:
        return self._state_reason

    @property
    def state_since(self) -> float:
        return self._state_since

    @property
    def gateway_reconnects(self) -> int:
        return self._gateway.reconnects

    def observe_rest(self, observer: RestObserver) -> None:
        """Attach a watcher of this account's Discord REST calls (metrics)."""
        self._rest.observer = observer

    @property
    def guild_id(self) -> str:
        return self._spec.guild_id

    @property
    def user_id(self) -> str | None:
        return self._user_id

    @property
    def masked_token(self) -> str:
        return mask_secret(self._spec.user_token)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._set_state(AccountState.CONNECTING, "connecting to the Discord gateway")
        await self._gateway.start()

    async def stop(self) -> None:
        if self._sync_job is not None:
            self._sync_job.cancel()
            await asyncio.gather(self._sync_job, return_exceptions=True)
        await self._gateway.close()
        await self._rest.aclose()
        self._set_state(AccountState.STOPPED, "stopped")

    async def wait_ready(self, timeout: float | None = None) -> None:
        await self._gateway.wait_ready(timeout)

    def _set_state(self, state: AccountState, reason: str | None) -> None:
        if state == self._state and reason == self._state_reason:
            return
        self._state, self._state_reason, self._state_since = state, reason, self._clock.now()
        log.info("account %s: %s (%s)", self.name, state.value, reason or "")
        if self._on_state is not None:
            self._on_state(self.id, state, reason)

    def apply_limits(self, *, core_size: int, queue_size: int, timeout_minutes: float, name: str,
                     min_interval_seconds: float = 0.0, jitter_seconds: float = 0.0) -> None:
        """Limits that change without a new connection."""
        self._spec = replace(self._spec, core_size=core_size, queue_size=queue_size,
                             timeout_minutes=timeout_minutes, name=name or self._spec.name,
                             min_interval_seconds=min_interval_seconds, jitter_seconds=jitter_seconds)
        self._pacer.update(min_interval_seconds, jitter_seconds)

    def hold(self, state: AccountState, reason: str) -> None:
        """Take the account out of rotation until a human resets it (captcha, pending mod message…)."""
        self._set_state(state, reason)

    def reset(self) -> None:
        """End a held state: back into rotation if connected."""
        if self._gateway.state == GatewayState.READY:
            self._set_state(AccountState.READY, "reset by the operator")
        else:
            self._set_state(AccountState.CONNECTING, "reset by the operator; connecting")

    async def _on_gateway_state(self, state: GatewayState, reason: str | None) -> None:
        if self._state.is_held and state != GatewayState.FATAL:
            return  # reconnecting does not solve a captcha or a moderation hold
        if state == GatewayState.READY:
            self._set_state(AccountState.READY, "connected")
            if self._sync_on_ready and self.settings is None and self._sync_job is None:
                self._sync_job = asyncio.get_running_loop().create_task(self._initial_sync())
        elif state == GatewayState.FATAL:
            fatal = reason or "the gateway closed fatally"
            auth = "4004" in fatal or "uthentication" in fatal
            self._set_state(AccountState.AUTH_FAILED if auth else AccountState.DISABLED, fatal)
        elif state in (GatewayState.DISCONNECTED, GatewayState.RESUMING):
            if self._state == AccountState.READY:
                self._set_state(AccountState.DISCONNECTED, reason or "reconnecting")
        elif state == GatewayState.CLOSED:
            pass

    async def _initial_sync(self) -> None:
        try:
            async with self._commands_lock:
                if self.settings is not None:
                    return  # someone already synced while this waited
            await self.sync()
        except Exception as exc:  # the account still works; remix and /info are simply unknown
            log.warning("account %s: could not read /info and /settings: %s", self.name, exc)

    # -- inbound -------------------------------------------------------------------------------
    async def _on_dispatch(self, event_name: str, data: dict[str, Any]) -> None:
        self._watchers.feed(event_name, data)
        if event_name == "READY":
            if self._user_id is not None:  # not our first session: the gap between them is lost
                await self._sink(self.id, SessionReplaced(self.id))
            user = data.get("user") or {}
            self._user_id = str(user.get("id")) if user.get("id") else None
            for channel in data.get("private_channels") or []:
                if any(str(r.get("id")) == MIDJOURNEY_APP_ID for r in channel.get("recipients") or []):
                    self._dm_channel_id = str(channel.get("id"))
            return
        if event_name in _INTERACTION_EVENTS:
            interaction = parse_interaction_event(event_name, data)
            if interaction is not None:
                await self._sink(self.id, interaction)
            return
        if str(data.get("channel_id")) != self._spec.channel_id:
            return
        if event_name == "MESSAGE_DELETE":
            await self._sink(self.id, MessageDeleted(str(data.get("id")), self._spec.channel_id))
            return
        if event_name not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return
        event = self._bot_event(data, update=event_name == "MESSAGE_UPDATE")
        if event is not None:
            await self._sink(self.id, event)

    def _bot_event(self, data: dict[str, Any], *, update: bool) -> AccountEvent | None:
        """A bot message of ours as a typed event; None for anyone else's message."""
        author = data.get("author") or {}
        if str(author.get("id")) not in _BOT_IDS or not self._is_ours(data):
            return None
        if str(author.get("id")) == INSIGHTFACE_APP_ID:
            return parse_insightface_message(data, update=update)
        return parse_message(data, update=update)

    async def channel_history(self, *, since_ms: int, max_pages: int = 10) -> list[AccountEvent]:
        """The bot's messages in this account's channel since ``since_ms``, as events, oldest first.

        Pages back from the newest message with ``before`` (Discord answers newest first, at most 100 a
        page) until a message older than ``since_ms`` shows up. Used to settle tasks whose result the
        gateway never delivered (a restart, a lost event); ephemeral replies are not in the history.
        """
        messages: list[dict[str, Any]] = []
        before: str | None = None
        for _ in range(max_pages):
            page = await self._rest.get_messages(self._spec.channel_id, limit=100, before=before)
            messages.extend(m for m in page if snowflake_time_ms(str(m.get("id") or 0)) >= since_ms)
            if len(page) < 100 or snowflake_time_ms(str(page[-1].get("id") or 0)) < since_ms:
                break
            before = str(page[-1]["id"])
        events: list[AccountEvent] = []
        for message in sorted(messages, key=lambda m: int(m.get("id") or 0)):
            event = self._bot_event(message, update=False)
            if event is not None:
                events.append(event)
        return events

    def _is_ours(self, message: dict[str, Any]) -> bool:
        """Other users share public channels: drop jobs that are visibly someone else's."""
        if self._user_id is None:
            return True
        keys = extract_keys(message)
        owner = keys.interaction_user_id or keys.mentioned_user_id
        return owner is None or owner == self._user_id

    # -- outbound: primitives -----------------------------------------------------------------
    def _session_id(self) -> str:
        # The real session id routes INTERACTION_* events (modals) to this connection.
        return self._gateway.session_id or secrets.token_hex(16)

    async def _ensure_ready(self) -> None:
        if self._gateway.state == GatewayState.READY:
            return
        try:
            await self._gateway.wait_ready(self._ready_timeout)
        except Exception as exc:
            raise SubmitError(f"account {self.name} is not connected to Discord: {exc}",
                              retryable=True, account_problem=True) from None

    async def _post_interaction(self, payload: dict[str, Any]) -> None:
        await self._rest.create_interaction(payload)

    async def _fresh_nonce(self) -> str:
        """Every interaction starts here: paced like a person if the account asks for it (R7), then a
        nonce minted right before it is sent (a nonce is a timestamp)."""
        await self._pacer.wait()
        return self._snowflakes.next()

    async def _call(self, request: Awaitable[Any]) -> Any:
        """Run a REST call, turning Discord's errors into a SubmitError the task can show."""
        try:
            return await request
        except (DiscordError, httpx.HTTPError) as exc:
            raise self._submit_error(exc) from None

    async def _send_slash(self, name: str, options: list[dict[str, Any]], assign_nonce: NonceAssigner, *,
                          application_id: str = MIDJOURNEY_APP_ID, attachments: Sequence[dict[str, Any]] = (),
                          channel_id: str | None = None) -> str:
        """Send a slash command; on a stale command version refresh the index and retry once.

        Returns the nonce that was sent. In a DM (``channel_id`` given) the command index of that
        channel is used and no guild id is sent.
        """
        in_dm = channel_id is not None
        target = channel_id or self._spec.channel_id
        for attempt in (1, 2):
            command = await self._command(application_id, name, dm_channel_id=channel_id)
            nonce = await self._fresh_nonce()
            await assign_nonce(nonce)
            payload = payloads.slash_command(command, guild_id=None if in_dm else self._spec.guild_id,
                                             channel_id=target, session_id=self._session_id(), nonce=nonce,
                                             options=options, attachments=attachments)
            try:
                await self._post_interaction(payload)
                return nonce
            except HTTPException as exc:
                if attempt == 1 and is_invalid_command_version(exc):
                    log.warning("account %s: /%s version is stale; refreshing the command index", self.name, name)
                    if in_dm:
                        self._commands.invalidate(channel_id=channel_id)
                    else:
                        self._commands.invalidate(guild_id=self._spec.guild_id)
                    continue
                raise self._submit_error(exc) from None
            except (DiscordError, httpx.HTTPError) as exc:
                raise self._submit_error(exc) from None
        raise SubmitError(f"/{name} could not be sent")  # unreachable: the loop returns or raises

    async def _command(self, application_id: str, name: str, *, dm_channel_id: str | None = None) -> dict[str, Any]:
        try:
            if dm_channel_id is not None:
                return await self._commands.get(application_id, name, channel_id=dm_channel_id)
            return await self._commands.get(application_id, name, guild_id=self._spec.guild_id)
        except (DiscordError, httpx.HTTPError) as exc:
            self._set_state(AccountState.COMMANDS_UNAVAILABLE, f"cannot resolve /{name}: {exc}")
            raise SubmitError(f"cannot resolve the /{name} command on account {self.name}: {exc}",
                              account_problem=True) from None

    async def _click(self, message_id: str, custom_id: str, flags: int, application_id: str,
                     assign_nonce: NonceAssigner, *, channel_id: str | None = None) -> str:
        nonce = await self._fresh_nonce()
        await assign_nonce(nonce)
        in_dm = channel_id is not None
        payload = payloads.button(guild_id=None if in_dm else self._spec.guild_id,
                                  channel_id=channel_id or self._spec.channel_id, message_id=message_id,
                                  message_flags=flags, custom_id=custom_id, session_id=self._session_id(),
                                  nonce=nonce, application_id=application_id)
        await self._call(self._post_interaction(payload))
        return nonce

    async def _upload(self, files: Sequence[Upload], channel_id: str | None = None) -> list[tuple[str, str]]:
        """Upload files through attachment slots; returns (filename, uploaded_filename) per file."""
        if not files:
            return []
        contents = [await asyncio.to_thread(Path(f.path).read_bytes) for f in files]
        slots = await self._call(self._rest.create_attachment_slots(
            channel_id or self._spec.channel_id,
            [{"id": str(i), "filename": f.filename, "file_size": len(c)}
             for i, (f, c) in enumerate(zip(files, contents, strict=True))]))
        result = []
        for slot, upload, content in zip(slots, files, contents, strict=True):
            await self._call(self._rest.upload_to_slot(str(slot["upload_url"]), content, upload.content_type))
            result.append((upload.filename, str(slot["upload_filename"])))
        return result

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        """Post images to the account's channel and return their CDN URLs (image prompts, uploads API)."""
        await self._ensure_ready()
        uploaded = await self._upload(files)
        payload = {"content": "", "channel_id": self._spec.channel_id, "type": 0, "sticker_ids": [],
                   "attachments": [{"id": str(i), "filename": name, "uploaded_filename": remote}
                                   for i, (name, remote) in enumerate(uploaded)]}
        message = await self._call(self._rest.create_message(self._spec.channel_id, payload))
        urls = [str(a["url"]) for a in message.get("attachments") or []]
        if len(urls) != len(files):
            raise SubmitError("posting the images to Discord failed: the message has no attachments")
        return urls

    # -- outbound: what a task asks for -----------------------------------------------------------
    async def imagine(self, prompt: str, assign_nonce: NonceAssigner) -> None:
        await self.perform(SlashSpec("imagine", [payloads.string_option("prompt", prompt)]), assign_nonce)

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        """Send what the task asked for. Returns the prompt actually sent when it differs (image prompts)."""
        await self._ensure_ready()
        if isinstance(spec, SlashSpec):
            return await self._perform_slash(spec, assign_nonce)
        if isinstance(spec, ButtonSpec):
            await self._click(spec.message_id, spec.custom_id, spec.message_flags, spec.application_id, assign_nonce)
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
            urls = await self.upload_images(spec.reference_images)
            for option in options:
                if option.get("name") == "prompt":
                    option["value"] = sent_prompt = " ".join([*urls, str(option["value"])])
        attachments: list[dict[str, Any]] = []
        attachment_options: list[dict[str, Any]] = []
        uploaded = await self._upload(spec.uploads)
        for index, (upload, (filename, remote)) in enumerate(zip(spec.uploads, uploaded, strict=True)):
            attachments.append(payloads.attachment_ref(index, filename, remote))
            attachment_options.append(payloads.attachment_option(upload.option, index))
        options = attachment_options + options  # the catalogue lists image options first (blend, describe)
        await self._send_slash(spec.name, options, assign_nonce, application_id=spec.application_id,
                               attachments=attachments)
        return sent_prompt

    async def _perform_modal(self, spec: ModalSpec, assign_nonce: NonceAssigner) -> None:
        """Click, wait for the modal (or the Vary Region editor), then submit it."""
        click_nonce: list[str] = []

        async def remember(nonce: str) -> None:
            click_nonce.append(nonce)
            await assign_nonce(nonce)

        def is_modal(event: str, data: dict[str, Any]) -> bool:
            return event in _INTERACTION_EVENTS and bool(click_nonce) and data.get("nonce") == click_nonce[0]

        async with self._watchers.watch(is_modal) as watch:
            await self._click(spec.message_id, spec.custom_id, spec.message_flags, spec.application_id, remember)
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
        nonce = await self._fresh_nonce()
        await assign_nonce(nonce)
        payload = payloads.modal_submit(guild_id=self._spec.guild_id, channel_id=self._spec.channel_id,
                                        session_id=self._session_id(), nonce=nonce,
                                        interaction_id=opened.interaction_id, modal_custom_id=opened.custom_id or "",
                                        input_custom_id=input_id, value=spec.prompt,
                                        application_id=spec.application_id)
        await self._call(self._post_interaction(payload))

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

    async def _next(self, watch: Watch, what: str, timeout: float | None = None) -> tuple[str, dict[str, Any]]:
        try:
            return await watch.next(timeout or self._flow_timeout, what)
        except WaitTimeout as exc:
            raise SubmitError(str(exc), retryable=True) from None

    # -- account commands --------------------------------------------------------------------------
    async def run_command(self, name: str, options: list[dict[str, Any]] | None = None, *,
                          application_id: str = MIDJOURNEY_APP_ID, channel_id: str | None = None) -> dict[str, Any]:
        """Run a command whose answer is a (usually ephemeral) message and return that message."""
        await self._ensure_ready()
        sent: list[str] = []
        message_ids: set[str] = set()

        def answer(event: str, data: dict[str, Any]) -> bool:
            if not sent:
                return False
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                if data.get("nonce") == sent[0]:
                    # Learn the placeholder's id as it is dispatched: its update may follow in the same tick,
                    # before this flow has read the placeholder from its queue.
                    message_ids.add(str(data.get("id")))
                    return True
                return str(data.get("id")) in message_ids
            return event == "INTERACTION_FAILURE" and data.get("nonce") == sent[0]

        async def remember(nonce: str) -> None:
            sent[:] = [nonce]

        async with self._watchers.watch(answer) as watch:
            await self._send_slash(name, options or [], remember, application_id=application_id, channel_id=channel_id)
            while True:
                event, data = await self._next(watch, f"the answer to /{name}")
                if event == "INTERACTION_FAILURE":
                    raise SubmitError(f"/{name} failed (reason {data.get('reason_code')})")
                loading = int(data.get("flags") or 0) & 128
                if not loading and (data.get("content") or data.get("embeds") or data.get("components")):
                    return data

    async def sync(self) -> dict[str, Any]:
        """Read /info and /settings into ``self.info`` and ``self.settings``."""
        async with self._commands_lock:
            info_message = await self.run_command("info")
            embeds = info_message.get("embeds") or [{}]
            self.info = parse_account_info(str(embeds[0].get("description") or ""))
            self.settings = parse_settings_message(await self.run_command("settings"))
            return self.profile()

    def profile(self) -> dict[str, Any]:
        info = self.info
        return {
            "info": None if info is None else {
                "subscription": info.subscription, "jobMode": info.job_mode.value if info.job_mode else None,
                "visibility": info.visibility, "fastTimeRemainingHours": info.fast_time_remaining_hours,
                "queuedFast": info.queued_fast, "queuedRelax": info.queued_relax, "runningJobs": info.running_jobs,
            },
            "settings": None if self.settings is None else self.settings.to_json(),
            "remix": self.remix,
        }

    @property
    def remix(self) -> bool:
        return bool(self.settings and self.settings.remix)

    async def set_mode(self, mode: str) -> str:
        """/fast, /relax or /turbo; returns the bot's answer."""
        if mode not in ("fast", "relax", "turbo"):
            raise ValueError(f"unknown speed mode {mode!r}")
        async with self._commands_lock:
            message = await self.run_command(mode)
        return str(message.get("content") or "")

    async def toggle_remix(self) -> bool | None:
        """/prefer remix; returns the new remix state when the bot says it."""
        async with self._commands_lock:
            message = await self.run_command("prefer", [{"type": 1, "name": "remix", "options": []}])
            state = parse_remix_toggle(str(message.get("content") or ""))
            if state is not None and self.settings is not None:
                self.settings = await self._refresh_settings()
        return state

    async def _refresh_settings(self) -> SettingsView:
        return parse_settings_message(await self.run_command("settings"))

    async def click_setting(self, label_or_custom_id: str) -> dict[str, Any]:
        """Click a /settings toggle (by label or custom id); returns the settings as they are afterwards."""
        async with self._commands_lock:
            return await self._click_setting(label_or_custom_id)

    async def _click_setting(self, label_or_custom_id: str) -> dict[str, Any]:
        view = await self._refresh_settings()
        toggle = view.toggle(label_or_custom_id)
        if toggle is None:
            raise SubmitError(f"/settings has no button {label_or_custom_id!r}; "
                              f"it has: {', '.join(t.label for t in view.toggles)}")
        payload = payloads.button(guild_id=self._spec.guild_id, channel_id=self._spec.channel_id,
                                  message_id=view.message_id, message_flags=view.message_flags,
                                  custom_id=toggle.custom_id, session_id=self._session_id(),
                                  nonce=await self._fresh_nonce(), application_id=MIDJOURNEY_APP_ID)
        self.settings = await self._settings_after(view, payload)
        return self.settings.to_json()

    async def change_version(self, version: str) -> dict[str, Any]:
        """Choose a model version in /settings, by its label or its option value."""
        async with self._commands_lock:
            return await self._change_version(version)

    async def _change_version(self, version: str) -> dict[str, Any]:
        view = await self._refresh_settings()
        value = view.version_values.get(version) or next(
            (v for label, v in view.version_values.items() if v == version or version.lower() in label.lower()), None)
        if value is None or view.version_select_id is None:
            raise SubmitError(f"/settings offers no version {version!r}; it has: {', '.join(view.version_values)}")
        payload = payloads.select(guild_id=self._spec.guild_id, channel_id=self._spec.channel_id,
                                  message_id=view.message_id, message_flags=view.message_flags,
                                  custom_id=view.version_select_id, values=[value], session_id=self._session_id(),
                                  nonce=await self._fresh_nonce(), application_id=MIDJOURNEY_APP_ID)
        self.settings = await self._settings_after(view, payload)
        return self.settings.to_json()

    async def _settings_after(self, view: SettingsView, payload: dict[str, Any]) -> SettingsView:
        """Send a click on the settings message and read the message as the bot restyles it."""
        def updated(event: str, data: dict[str, Any]) -> bool:
            return (event == "MESSAGE_UPDATE" and str(data.get("id")) == view.message_id) or (
                event == "INTERACTION_FAILURE" and data.get("nonce") == payload["nonce"])

        async with self._watchers.watch(updated) as watch:
            await self._call(self._post_interaction(payload))
            event, data = await self._next(watch, "/settings to update")
        if event == "INTERACTION_FAILURE":
            raise SubmitError("Midjourney refused the /settings click")
        return parse_settings_message(data)

    # -- seed --------------------------------------------------------------------------------------
    async def dm_channel(self) -> str:
        """The DM channel with the Midjourney bot: from READY, else the DM list, else opened now."""
        if self._dm_channel_id:
            return self._dm_channel_id
        channels = await self._call(self._rest.get_dm_channels())
        for channel in channels:
            if any(str(r.get("id")) == MIDJOURNEY_APP_ID for r in channel.get("recipients") or []):
                self._dm_channel_id = str(channel["id"])
                return self._dm_channel_id
        channel = await self._call(self._rest.create_dm(MIDJOURNEY_APP_ID))
        self._dm_channel_id = str(channel["id"])
        return self._dm_channel_id

    async def fetch_seed(self, job_hash: str) -> str:
        """/show the job in the DM with the bot, react ✉️, and read the seed from the bot's DM."""
        await self._ensure_ready()
        dm = await self.dm_channel()

        def in_dm(event: str, data: dict[str, Any]) -> bool:
            return event == "MESSAGE_CREATE" and str(data.get("channel_id")) == dm

        async with self._watchers.watch(in_dm) as watch:
            await self.run_command("show", [payloads.string_option("job_id", job_hash)], channel_id=dm)
            shown: str | None = None
            while True:
                _, data = await self._next(watch, "the seed from the Midjourney bot")
                keys = extract_keys(data)
                if shown is None and keys.job_hash == job_hash:
                    shown = str(data["id"])
                    await self._call(self._rest.add_reaction(dm, shown, "✉️"))
                    continue
                seed = parse_seed_dm(str(data.get("content") or ""))
                if seed is not None and seed[0] == job_hash:
                    return seed[1]
                event = parse_message(data)
                if isinstance(event, JobFailed):
                    raise SubmitError(f"/show failed: {event.reason}")

    def _submit_error(self, exc: Exception) -> SubmitError:
        if isinstance(exc, Unauthorized):
            self._set_state(AccountState.AUTH_FAILED, "Discord rejected the token (401)")
            return SubmitError("Discord rejected the account token (401 Unauthorized)", account_problem=True)
        if isinstance(exc, RateLimited):
            return SubmitError(f"Discord rate limit persisted after retries: {exc}", retryable=True)
        if isinstance(exc, HTTPException):
            return SubmitError(f"Discord rejected the interaction: {exc}")
        return SubmitError(f"Discord could not be reached: {type(exc).__name__}: {exc}", retryable=True)
