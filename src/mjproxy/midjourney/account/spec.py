"""What one account runtime is built from, and what it hands its events, sessions and nonces to."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from ...discord.sessions import SessionSnapshot
from ...domain.account import AccountState
from ..events import AccountEvent


class EventSink(Protocol):
    async def deliver(self, account_id: str, event: AccountEvent) -> None:
        """Hear one event of ours on this account, in the order the gateway delivered them."""


class GatewaySessions(Protocol):
    """Where gateway sessions are kept across restarts, by account (``discord.sessions.SessionFile``)."""

    def get(self, key: str) -> SessionSnapshot | None: ...

    def update(self, key: str, snapshot: SessionSnapshot | None) -> None: ...


NonceAssigner = Callable[[str], Awaitable[None]]
"""Stores a fresh nonce on its task before the interaction carrying it is sent (DESIGN invariant 2)."""
StateListener = Callable[[str, AccountState, str | None], None]


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
