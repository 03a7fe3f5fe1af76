"""What the engine needs from an account runtime. ``midjourney/account/`` (``AccountRuntime``) implements it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ..domain.account import AccountState
from ..midjourney.interactions import InteractionSpec, Upload

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

    @property
    def remix(self) -> bool:
        """Whether Midjourney's remix mode is on for this account (variations then open a modal)."""

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        """Send what a task asks for; raises SubmitError. Returns the prompt sent when it differs."""

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        """Post images to the account's channel; their CDN URLs."""

    async def fetch_seed(self, job_hash: str) -> str:
        """The seed of a finished job, through /show and the ✉️ reaction."""
