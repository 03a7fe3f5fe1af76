"""Exponential backoff delays shared by REST retries and gateway reconnects."""

from __future__ import annotations

import random

_RNG = random.Random()


def full_jitter(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Uniform in ``[0, min(cap, base·2^attempt))``: spreads a herd of reconnecting clients best."""
    ceiling = min(cap, base * 2.0 ** max(attempt, 0))
    return (rng or _RNG).random() * ceiling


def equal_jitter(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Half fixed, half random: a retry never fires immediately after a failure."""
    ceiling = min(cap, base * 2.0 ** max(attempt, 0))
    return ceiling / 2 + (rng or _RNG).random() * ceiling / 2
