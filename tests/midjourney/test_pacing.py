from __future__ import annotations

import asyncio
import random

import pytest

from mjproxy.midjourney.pacing import Pacer


class FakeClock:
    """Time stands still until someone sleeps; a sleep advances it (to the sleeper's wake-up time)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.reads = 0

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        self.reads += 1
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.t + seconds
        await asyncio.sleep(0)  # let other callers reserve their turn first
        self.t = max(self.t, wake)


async def test_zero_pacing_never_waits_nor_reads_the_clock() -> None:
    clock = FakeClock()
    pacer = Pacer(0, 0, clock)
    assert [await pacer.wait() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.reads == 0 and clock.sleeps == []


async def test_first_interaction_goes_at_once_then_the_minimum_gap() -> None:
    clock = FakeClock()
    pacer = Pacer(5, 0, clock)
    assert await pacer.wait() == 0
    assert await pacer.wait() == 5
    clock.t += 2  # the interaction itself took 2 s: it counts towards the gap
    assert await pacer.wait() == 3
    clock.t += 60  # a long pause: nothing to wait for
    assert await pacer.wait() == 0


async def test_jitter_adds_a_uniform_extra() -> None:
    clock = FakeClock()
    rng = random.Random(5)
    expected = random.Random(5)
    pacer = Pacer(2, 3, clock, rng)
    await pacer.wait()
    waits = [await pacer.wait() for _ in range(200)]
    assert waits == pytest.approx([2 + expected.uniform(0, 3) for _ in range(200)])
    assert all(2 <= w <= 5 for w in waits)


async def test_jitter_alone_paces() -> None:
    clock = FakeClock()
    pacer = Pacer(0, 1, clock, random.Random(1))
    await pacer.wait()
    assert 0 < await pacer.wait() <= 1


async def test_concurrent_callers_queue_in_order() -> None:
    clock = FakeClock()
    pacer = Pacer(10, 0, clock)
    order: list[tuple[int, float]] = []

    async def interact(n: int) -> None:
        await pacer.wait()
        order.append((n, clock.t))

    await asyncio.gather(*(interact(n) for n in range(4)))
    assert order == [(0, 1000.0), (1, 1010.0), (2, 1020.0), (3, 1030.0)]
    assert clock.sleeps == [10, 20, 30]


async def test_update_redraws_the_pending_gap() -> None:
    clock = FakeClock()
    pacer = Pacer(30, 0, clock)
    await pacer.wait()
    pacer.update(0, 0)
    assert await pacer.wait() == 0  # pacing off: the next one goes at once
    pacer.update(4, 0)
    clock.t += 1
    assert await pacer.wait() == 3  # 4 s after the latest start
    assert await pacer.wait() == 4


async def test_update_shortens_the_gap_after_the_latest_start() -> None:
    clock = FakeClock()
    pacer = Pacer(30, 0, clock)
    await pacer.wait()
    pacer.update(3, 0)
    assert await pacer.wait() == 3


def test_negative_values_are_refused() -> None:
    with pytest.raises(ValueError):
        Pacer(-1, 0, FakeClock())
    with pytest.raises(ValueError):
        Pacer(0, 0, FakeClock()).update(1, -0.5)
