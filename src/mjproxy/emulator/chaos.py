"""Random fault mode for soak tests: every fault type fires with its own probability, from one seeded RNG.

REST faults are drawn per request, lost results per final message, gateway faults (dropped socket, op 7,
op 9, a lost heartbeat ACK) per user every ``gateway_tick_s``. All probabilities default to 0: chaos is off until a
test (or ``POST /_emulator/config {"chaos": {...}}``) switches it on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from .event_loss import is_final_result
from .faults import Fault
from .state import JsonDict

if TYPE_CHECKING:
    from .gateway import Gateway

log = logging.getLogger(__name__)

Probability = Field(0.0, ge=0.0, le=1.0)


class ChaosConfig(BaseModel):
    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    seed: int = 0
    # REST, per request under /api
    rest_429: float = Probability
    rest_429_scopes: list[str] = Field(default_factory=lambda: ["user", "shared", "global"])
    rest_retry_after_s: float = Field(0.05, ge=0)
    rest_5xx: float = Probability
    rest_slow: float = Probability
    rest_slow_s: float = Field(0.2, ge=0)
    # gateway, per final result message / per user and tick
    lose_final: float = Probability
    gateway_tick_s: float = Field(1.0, gt=0)
    gateway_drop: float = Probability
    gateway_reconnect: float = Probability
    gateway_invalid_session: float = Probability  # resumable or not, half and half
    gateway_lose_ack: float = Probability  # the next heartbeat goes unacknowledged (a zombie connection)

    @property
    def enabled(self) -> bool:
        return any((self.rest_429, self.rest_5xx, self.rest_slow, self.lose_final, self.gateway_drop,
                    self.gateway_reconnect, self.gateway_invalid_session, self.gateway_lose_ack))


class Chaos:
    def __init__(self, config: Callable[[], ChaosConfig]) -> None:
        self._config = config
        self._seed: int | None = None
        self._rng = random.Random(0)
        self.counts: dict[str, int] = {}  # what actually fired, for tests and /_emulator/state

    def reset(self) -> None:
        """Start the random sequence again from the seed (called when the chaos settings change)."""
        self._seed = None
        self.counts.clear()

    def _rand(self) -> random.Random:
        seed = self._config().seed
        if seed != self._seed:  # a new seed restarts the sequence: a run is reproducible
            self._seed, self._rng = seed, random.Random(seed)
        return self._rng

    def _fired(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def rest_fault(self, method: str, route: str) -> Fault | None:
        cfg = self._config()
        if not cfg.enabled:
            return None
        rng = self._rand()
        roll = rng.random()
        if roll < cfg.rest_429 and cfg.rest_429_scopes:
            scope = rng.choice(cfg.rest_429_scopes)
            self._fired(f"rest_429_{scope}")
            return Fault(route, 429, 1, cfg.rest_retry_after_s, scope, None, method)
        roll -= cfg.rest_429
        if roll < cfg.rest_5xx:
            status = rng.choice((500, 502, 503, 504))
            self._fired("rest_5xx")
            return Fault(route, status, 1, 0.0, "user", None, method)
        roll -= cfg.rest_5xx
        if roll < cfg.rest_slow:
            self._fired("rest_slow")
            return Fault(route, 0, 1, 0.0, "user", None, method, latency=cfg.rest_slow_s)
        return None

    def lose(self, event: str, data: JsonDict) -> bool:
        cfg = self._config()
        if cfg.lose_final <= 0 or not is_final_result(event, data):
            return False
        if self._rand().random() < cfg.lose_final:
            self._fired("lose_final")
            return True
        return False

    async def run(self, gateway: Gateway, users: Callable[[], list[str]]) -> None:
        """The gateway half: socket drops, op 7 and op 9 at random, until cancelled."""
        while True:
            cfg = self._config()
            await asyncio.sleep(cfg.gateway_tick_s)
            if not (cfg.gateway_drop or cfg.gateway_reconnect or cfg.gateway_invalid_session or cfg.gateway_lose_ack):
                continue
            try:
                self._gateway_round(gateway, users(), cfg)
            except Exception:  # a bug here must not silently end chaos for the rest of the run
                log.exception("chaos: gateway fault round failed")

    def _gateway_round(self, gateway: Gateway, users: list[str], cfg: ChaosConfig) -> None:
        rng = self._rand()
        for user_id in users:
            roll = rng.random()
            if roll < cfg.gateway_drop:
                self._fired("gateway_drop")
                gateway.drop_sessions(user_id)
            elif roll < cfg.gateway_drop + cfg.gateway_reconnect:
                self._fired("gateway_reconnect")
                gateway.send_reconnect(user_id)
            elif roll < cfg.gateway_drop + cfg.gateway_reconnect + cfg.gateway_invalid_session:
                resumable = rng.random() < 0.5
                self._fired(f"gateway_invalid_session_{'resumable' if resumable else 'fresh'}")
                gateway.send_invalid_session(user_id, resumable)
            elif roll < (cfg.gateway_drop + cfg.gateway_reconnect + cfg.gateway_invalid_session
                         + cfg.gateway_lose_ack):
                self._fired("gateway_lose_ack")
                gateway.loss.lose_acks(user_id, 1)
