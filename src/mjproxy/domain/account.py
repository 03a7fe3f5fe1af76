"""Account health as the rest of the system sees it."""

from __future__ import annotations

from enum import StrEnum


class AccountState(StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    DISCONNECTED = "disconnected"  # retrying on its own
    AUTH_FAILED = "auth_failed"  # gateway 4004 / REST 401: the token is bad or revoked
    CAPTCHA_REQUIRED = "captcha_required"
    PENDING_MOD_MESSAGE = "pending_mod_message"
    BLOCKED = "blocked"
    SUBSCRIPTION_REQUIRED = "subscription_required"
    FAST_EXHAUSTED = "fast_exhausted"
    COMMANDS_UNAVAILABLE = "commands_unavailable"
    DISABLED = "disabled"
    STOPPED = "stopped"

    @property
    def accepts_work(self) -> bool:
        """Whether new tasks may be queued on the account (a reconnecting account may catch up)."""
        return self in {AccountState.READY, AccountState.CONNECTING, AccountState.DISCONNECTED}
