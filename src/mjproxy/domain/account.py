"""Account health as the rest of the system sees it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


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
    def is_held(self) -> bool:
        """States only a human (through ``reset``) ends: a reconnect must not put the account back."""
        return self in HELD_STATES

    @property
    def accepts_work(self) -> bool:
        """Whether new tasks may be queued on the account (a reconnecting account may catch up)."""
        return self in {AccountState.READY, AccountState.CONNECTING, AccountState.DISCONNECTED}


HELD_STATES = frozenset({AccountState.CAPTCHA_REQUIRED, AccountState.PENDING_MOD_MESSAGE, AccountState.BLOCKED,
                         AccountState.SUBSCRIPTION_REQUIRED, AccountState.FAST_EXHAUSTED, AccountState.AUTH_FAILED})


class SpeedMode(StrEnum):
    FAST = "fast"
    RELAX = "relax"
    TURBO = "turbo"


class SelectionRule(StrEnum):
    BEST_WAIT_IDLE = "best_wait_idle"
    ROUND_ROBIN = "round_robin"
    WEIGHTED_RANDOM = "weighted_random"
    FILL = "fill"


class FastExhaustedPolicy(StrEnum):
    SWITCH_TO_RELAX = "relax"  # run /relax and keep the account in rotation for relax-compatible work
    LEAVE_FAST_ROTATION = "remove"  # keep the account for relax requests only, without switching it


@dataclass(slots=True)
class AccountDefinition:
    """One Discord account as the operator configured it; persisted, editable at run time.

    ``id`` is the channel id (midjourney-proxy's instance id). Health is not stored here: it belongs to
    the running account and is rebuilt on every connection.
    """

    channel_id: str
    guild_id: str
    user_token: str
    name: str = ""
    user_agent: str = ""
    core_size: int = 3
    queue_size: int = 10
    timeout_minutes: float = 5.0
    enabled: bool = True
    weight: int = 1
    remark: str = ""
    modes: list[SpeedMode] = field(default_factory=lambda: [SpeedMode.FAST, SpeedMode.RELAX, SpeedMode.TURBO])
    daily_limit: int = 0  # jobs per UTC day; 0 = unlimited
    min_interval_seconds: float = 0.0  # humane pacing between interactions
    jitter_seconds: float = 0.0
    remix_auto_submit: bool = False
    fast_exhausted_policy: FastExhaustedPolicy = FastExhaustedPolicy.SWITCH_TO_RELAX
    fast_hours_threshold: float = 0.2  # /info below this many fast hours counts as exhausted
    created_at: int = 0
    updated_at: int = 0

    @property
    def id(self) -> str:
        return self.channel_id

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["modes"] = [m.value for m in self.modes]
        data["fast_exhausted_policy"] = self.fast_exhausted_policy.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountDefinition:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "modes" in values:
            values["modes"] = [SpeedMode(m) for m in values["modes"]]
        if "fast_exhausted_policy" in values:
            values["fast_exhausted_policy"] = FastExhaustedPolicy(values["fast_exhausted_policy"])
        return cls(**values)
