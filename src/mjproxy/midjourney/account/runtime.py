"""One runtime per Discord account (DESIGN invariant 1): its gateway, its REST client, its commands.

It ties the account's parts together: :mod:`.inbound` decides which gateway traffic is ours and turns it
into typed events for the engine's sink, :mod:`.sender` sends nonce first, :mod:`.flows` performs what a
task asks for, and :mod:`.commands` runs the operator's commands. This class owns the connection and the
account's state (ready, held, failed) and is what the engine sees (``engine.ports.AccountPort``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...discord.commands import ApplicationCommandCache
from ...discord.gateway import GatewayClient, GatewayState
from ...discord.observer import RestObserver
from ...discord.rest import RestClient
from ...domain.account import AccountDefinition, AccountState
from ...domain.clock import Clock, SystemClock
from ...domain.ids import SnowflakeGenerator
from ...domain.secrets import mask_secret
from .. import payloads
from ..constants import MIDJOURNEY_APP_ID
from ..events import AccountEvent, SessionReplaced
from ..interactions import InteractionSpec, SlashSpec, Upload
from ..messages import AccountInfo
from ..pacing import Pacer
from ..settings import SettingsView
from ..watch import Watchers
from .commands import OperatorCommands
from .flows import TaskFlows
from .inbound import Inbound
from .sender import Sender
from .spec import (
    AccountSpec,
    DiscordEndpoints,
    EventSink,
    GatewaySessions,
    NonceAssigner,
    StateListener,
    load_command_snapshot,
)

log = logging.getLogger(__name__)


class AccountRuntime:
    def __init__(self, spec: AccountSpec, endpoints: DiscordEndpoints, *, sink: EventSink,
                 clock: Clock | None = None, snowflakes: SnowflakeGenerator | None = None,
                 on_state: StateListener | None = None, ready_timeout: float = 30.0,
                 flow_timeout: float = 30.0, sync_on_ready: bool = True,
                 sessions: GatewaySessions | None = None) -> None:
        self._spec = spec
        self._sink = sink
        self._clock = clock or SystemClock()
        self._on_state = on_state
        self._sync_on_ready = sync_on_ready
        self._watchers = Watchers()
        self._pacer = Pacer(spec.min_interval_seconds, spec.jitter_seconds, self._clock)
        self._sync_job: asyncio.Task[None] | None = None
        self.definition: AccountDefinition | None = None  # set by the account manager
        self.fast_exhausted = False
        self._state = AccountState.STOPPED
        self._state_reason: str | None = None
        self._state_since = self._clock.now()
        self._rest = RestClient(api_base=endpoints.api_base, token=spec.user_token,
                                user_agent=spec.user_agent, api_version=endpoints.api_version, clock=self._clock)
        # A saved session is resumed (no new IDENTIFY after a restart); each new one is saved for the next.
        gateway_session = sessions.get(spec.channel_id) if sessions is not None else None
        on_gateway_session = functools.partial(sessions.update, spec.channel_id) if sessions is not None else None
        self._gateway = GatewayClient(url=endpoints.gateway_url, token=spec.user_token,
                                      on_dispatch=self._on_dispatch, on_state=self._on_gateway_state,
                                      user_agent=spec.user_agent, compress=endpoints.compress, clock=self._clock,
                                      resume_from=gateway_session, on_session=on_gateway_session)
        commands = ApplicationCommandCache(self._rest, clock=self._clock, fallback=load_command_snapshot())
        self._inbound = Inbound(spec.channel_id, self._rest,
                                user_id=gateway_session.user_id if gateway_session else None)
        self._sender = Sender(spec, self._rest, self._gateway, commands, self._pacer,
                              snowflakes or SnowflakeGenerator(), on_trouble=self._set_state,
                              ready_timeout=ready_timeout)
        self._flows = TaskFlows(self._sender, self._watchers, endpoints, flow_timeout=flow_timeout)
        self._commands = OperatorCommands(self._sender, self._watchers, self._inbound, flow_timeout=flow_timeout)

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
        return self._inbound.user_id

    @property
    def masked_token(self) -> str:
        return mask_secret(self._spec.user_token)

    @property
    def info(self) -> AccountInfo | None:
        return self._commands.info

    @property
    def settings(self) -> SettingsView | None:
        return self._commands.settings

    @property
    def remix(self) -> bool:
        return self._commands.remix

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
        self._sender.spec = self._spec
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
            async with self._commands.lock:
                if self.settings is not None:
                    return  # someone already synced while this waited
            await self.sync()
        except Exception as exc:  # the account still works; remix and /info are simply unknown
            log.warning("account %s: could not read /info and /settings: %s", self.name, exc)

    # -- inbound -------------------------------------------------------------------------------
    async def _on_dispatch(self, event_name: str, data: dict[str, Any]) -> None:
        self._watchers.feed(event_name, data)
        if event_name == "READY":
            if self._inbound.user_id is not None:  # not our first session: the gap between them is lost
                await self._sink.deliver(self.id, SessionReplaced(self.id))
            self._inbound.on_ready(data)
            return
        event = self._inbound.event_of(event_name, data)
        if event is not None:
            await self._sink.deliver(self.id, event)

    async def channel_history(self, *, since_ms: int, max_pages: int = 10) -> list[AccountEvent]:
        """The bot's messages in this account's channel since ``since_ms``, as events, oldest first.

        Used to settle tasks whose result the gateway never delivered (a restart, a lost event).
        """
        return await self._inbound.channel_history(since_ms=since_ms, max_pages=max_pages)

    # -- outbound: what a task asks for -----------------------------------------------------------
    async def imagine(self, prompt: str, assign_nonce: NonceAssigner) -> None:
        await self.perform(SlashSpec("imagine", [payloads.string_option("prompt", prompt)]), assign_nonce)

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        """Send what the task asked for. Returns the prompt actually sent when it differs (image prompts)."""
        return await self._flows.perform(spec, assign_nonce)

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        """Post images to the account's channel and return their CDN URLs (image prompts, uploads API)."""
        return await self._sender.upload_images(files)

    # -- account commands --------------------------------------------------------------------------
    async def run_command(self, name: str, options: list[dict[str, Any]] | None = None, *,
                          application_id: str = MIDJOURNEY_APP_ID, channel_id: str | None = None) -> dict[str, Any]:
        """Run a command whose answer is a (usually ephemeral) message and return that message."""
        return await self._commands.run_command(name, options, application_id=application_id, channel_id=channel_id)

    async def sync(self) -> dict[str, Any]:
        """Read /info and /settings into ``info`` and ``settings``."""
        return await self._commands.sync()

    def profile(self) -> dict[str, Any]:
        return self._commands.profile()

    async def set_mode(self, mode: str) -> str:
        """/fast, /relax or /turbo; returns the bot's answer."""
        return await self._commands.set_mode(mode)

    async def toggle_remix(self) -> bool | None:
        """/prefer remix; returns the new remix state when the bot says it."""
        return await self._commands.toggle_remix()

    async def click_setting(self, label_or_custom_id: str) -> dict[str, Any]:
        """Click a /settings toggle (by label or custom id); returns the settings as they are afterwards."""
        return await self._commands.click_setting(label_or_custom_id)

    async def change_version(self, version: str) -> dict[str, Any]:
        """Choose a model version in /settings, by its label or its option value."""
        return await self._commands.change_version(version)

    async def dm_channel(self) -> str:
        """The DM channel with the Midjourney bot: from READY, else the DM list, else opened now."""
        return await self._commands.dm_channel()

    async def fetch_seed(self, job_hash: str) -> str:
        """/show the job in the DM with the bot, react ✉️, and read the seed from the bot's DM."""
        return await self._commands.fetch_seed(job_hash)
