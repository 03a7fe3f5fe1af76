"""One runtime per Discord account (DESIGN invariant 1): its gateway, its REST client, its commands.

It sends interactions for the engine and turns the bot's traffic on this account's channel into typed
events for the tracker. It filters out everything that is not ours: other channels, other authors, and
jobs of other users sharing a public channel.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
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
from ..discord.rest import RestClient
from ..domain.account import AccountState
from ..domain.clock import Clock, SystemClock
from ..domain.ids import SnowflakeGenerator
from ..domain.secrets import mask_secret
from . import payloads
from .constants import MIDJOURNEY_APP_ID, NIJI_APP_ID
from .errors import SubmitError
from .events import AccountEvent, MessageDeleted
from .messages import extract_keys, parse_interaction_event, parse_message

log = logging.getLogger(__name__)

EventSink = Callable[[str, AccountEvent], Awaitable[None]]
StateListener = Callable[[str, AccountState, str | None], None]

_BOT_IDS = frozenset({MIDJOURNEY_APP_ID, NIJI_APP_ID})
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


@dataclass(frozen=True, slots=True)
class DiscordEndpoints:
    api_base: str
    gateway_url: str
    api_version: int = 9
    compress: bool = True


def load_command_snapshot() -> dict[str, Any]:
    """The bundled command catalogue: a cold-start fallback only, never trusted over the live index."""
    text = resources.files("mjproxy.data").joinpath("mj_application_commands.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class AccountRuntime:
    def __init__(self, spec: AccountSpec, endpoints: DiscordEndpoints, *, sink: EventSink,
                 clock: Clock | None = None, snowflakes: SnowflakeGenerator | None = None,
                 on_state: StateListener | None = None, ready_timeout: float = 30.0) -> None:
        self._spec = spec
        self._endpoints = endpoints
        self._sink = sink
        self._clock = clock or SystemClock()
        self._snowflakes = snowflakes or SnowflakeGenerator()
        self._on_state = on_state
        self._ready_timeout = ready_timeout
        self._state = AccountState.STOPPED
        self._state_reason: str | None = None
        self._state_since = self._clock.now()
        self._user_id: str | None = None
        self._rest = RestClient(api_base=endpoints.api_base, token=spec.user_token,
                                user_agent=spec.user_agent, api_version=endpoints.api_version, clock=self._clock)
        self._commands = ApplicationCommandCache(self._rest, clock=self._clock, fallback=load_command_snapshot())
        self._gateway = GatewayClient(url=endpoints.gateway_url, token=spec.user_token,
                                      on_dispatch=self._on_dispatch, on_state=self._on_gateway_state,
                                      user_agent=spec.user_agent, compress=endpoints.compress, clock=self._clock)

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

    async def _on_gateway_state(self, state: GatewayState, reason: str | None) -> None:
        if state == GatewayState.READY:
            self._set_state(AccountState.READY, "connected")
        elif state == GatewayState.FATAL:
            fatal = reason or "the gateway closed fatally"
            auth = "4004" in fatal or "uthentication" in fatal
            self._set_state(AccountState.AUTH_FAILED if auth else AccountState.DISABLED, fatal)
        elif state in (GatewayState.DISCONNECTED, GatewayState.RESUMING):
            if self._state == AccountState.READY:
                self._set_state(AccountState.DISCONNECTED, reason or "reconnecting")
        elif state == GatewayState.CLOSED:
            pass

    # -- inbound -------------------------------------------------------------------------------
    async def _on_dispatch(self, event_name: str, data: dict[str, Any]) -> None:
        if event_name == "READY":
            user = data.get("user") or {}
            self._user_id = str(user.get("id")) if user.get("id") else None
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
        author = data.get("author") or {}
        if str(author.get("id")) not in _BOT_IDS:
            return
        if not self._is_ours(data):
            return
        event = parse_message(data, update=event_name == "MESSAGE_UPDATE")
        if event is not None:
            await self._sink(self.id, event)

    def _is_ours(self, message: dict[str, Any]) -> bool:
        """Other users share public channels: drop jobs that are visibly someone else's."""
        if self._user_id is None:
            return True
        keys = extract_keys(message)
        owner = keys.interaction_user_id or keys.mentioned_user_id
        return owner is None or owner == self._user_id

    # -- outbound ------------------------------------------------------------------------------
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

    async def imagine(self, prompt: str, assign_nonce: Callable[[str], Awaitable[None]]) -> None:
        await self._ensure_ready()
        await self._send_slash("imagine", [{"type": 3, "name": "prompt", "value": prompt}], assign_nonce)

    async def _send_slash(self, name: str, options: list[dict[str, Any]],
                          assign_nonce: Callable[[str], Awaitable[None]],
                          application_id: str = MIDJOURNEY_APP_ID) -> None:
        """Send a slash command; on a stale command version refresh the index and retry once."""
        for attempt in (1, 2):
            command = await self._command(application_id, name)
            nonce = self._snowflakes.next()
            await assign_nonce(nonce)
            payload = payloads.slash_command(command, guild_id=self._spec.guild_id,
                                             channel_id=self._spec.channel_id, session_id=self._session_id(),
                                             nonce=nonce, options=options)
            try:
                await self._rest.create_interaction(payload)
                return
            except HTTPException as exc:
                if attempt == 1 and is_invalid_command_version(exc):
                    log.warning("account %s: /%s version is stale; refreshing the command index", self.name,
                                name)
                    self._commands.invalidate(guild_id=self._spec.guild_id)
                    continue
                raise self._submit_error(exc) from None
            except (DiscordError, httpx.HTTPError) as exc:
                raise self._submit_error(exc) from None

    async def _command(self, application_id: str, name: str) -> dict[str, Any]:
        try:
            return await self._commands.get(application_id, name, guild_id=self._spec.guild_id)
        except (DiscordError, httpx.HTTPError) as exc:
            self._set_state(AccountState.COMMANDS_UNAVAILABLE, f"cannot resolve /{name}: {exc}")
            raise SubmitError(f"cannot resolve the /{name} command on account {self.name}: {exc}",
                              account_problem=True) from None

    def _submit_error(self, exc: Exception) -> SubmitError:
        if isinstance(exc, Unauthorized):
            self._set_state(AccountState.AUTH_FAILED, "Discord rejected the token (401)")
            return SubmitError("Discord rejected the account token (401 Unauthorized)", account_problem=True)
        if isinstance(exc, RateLimited):
            return SubmitError(f"Discord rate limit persisted after retries: {exc}", retryable=True)
        if isinstance(exc, HTTPException):
            return SubmitError(f"Discord rejected the interaction: {exc}")
        return SubmitError(f"Discord could not be reached: {type(exc).__name__}: {exc}", retryable=True)
