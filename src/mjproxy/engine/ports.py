"""What the engine needs from an account runtime. ``midjourney/account.py`` implements it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ..domain.account import AccountState

NonceAssigner = Callable[[str], Awaitable[None]]
"""Called with a fresh nonce before each interaction is sent, so it is stored first (DESIGN invariant 2)."""


class AccountPort(Protocol):
    @property
    def id(self) -> str:
        """The account id: its channel id (midjourney-proxy's ``discordInstanceId``)."""

    @property
    def name(self) -> str: ...

    @property
    def core_size(self) -> int: ...

    @property
    def queue_size(self) -> int: ...

    @property
    def timeout_minutes(self) -> float: ...

    @property
    def state(self) -> AccountState: ...

    @property
    def state_reason(self) -> str | None: ...

    @property
    def state_since(self) -> float: ...

    async def imagine(self, prompt: str, assign_nonce: NonceAssigner) -> None:
        """Send /imagine. Raises on a Discord error; success means Discord answered 204."""
