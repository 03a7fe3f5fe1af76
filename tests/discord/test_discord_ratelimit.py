"""RateLimiter buckets (hash sharing, major parameters, 429 stalls) and the gateway send window."""

from __future__ import annotations

from mjproxy.discord import routes
from mjproxy.discord.ratelimit import RateLimiter, WindowRateLimiter

from .discord_fakes import AutoClock


async def test_routes_sharing_a_bucket_hash_share_the_budget(auto_clock: AutoClock) -> None:
    limiter = RateLimiter(auto_clock)
    get = routes.GET_MESSAGES.compile(channel_id="1")
    post = routes.CREATE_MESSAGE.compile(channel_id="1")
    headers = {"x-ratelimit-bucket": "h1", "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "2"}
    limiter.update(get, headers)
    limiter.update(post, headers)
    assert limiter.bucket_id(get) == limiter.bucket_id(post) == "h1:1"
    await limiter.wait(post)
    assert auto_clock.sleeps == [2.0]
    # After the reset the budget is unknown again: calls flow until Discord says otherwise.
    await limiter.wait(get)
    assert auto_clock.sleeps == [2.0]


async def test_remaining_budget_is_reserved_per_call(auto_clock: AutoClock) -> None:
    limiter = RateLimiter(auto_clock)
    route = routes.GET_CHANNEL.compile(channel_id="9")
    limiter.update(route, {"x-ratelimit-remaining": "2", "x-ratelimit-reset-after": "1.5"})
    await limiter.wait(route)
    await limiter.wait(route)
    assert auto_clock.sleeps == []
    async with limiter.acquire(route):
        pass
    assert auto_clock.sleeps == [1.5]


async def test_route_429_stalls_only_its_bucket(auto_clock: AutoClock) -> None:
    limiter = RateLimiter(auto_clock)
    limited = routes.CREATE_INTERACTION.compile()
    other = routes.GET_CURRENT_USER.compile()
    limiter.on_rate_limited(limited, 3.0, is_global=False)
    await limiter.wait(other)
    assert auto_clock.sleeps == []
    await limiter.wait(limited)
    assert auto_clock.sleeps == [3.0]
    limiter.on_rate_limited(limited, 4.0, is_global=True)
    assert limiter.global_pause_remaining == 4.0
    await limiter.wait(other)
    assert auto_clock.sleeps == [3.0, 4.0]


async def test_window_rate_limiter(auto_clock: AutoClock) -> None:
    window = WindowRateLimiter(3, 60.0, auto_clock)
    window.record()  # a heartbeat: never waits, still counts
    await window.acquire()
    await window.acquire()
    assert auto_clock.sleeps == []
    await window.acquire()
    assert auto_clock.sleeps == [60.0]


async def test_major_parameters_split_a_route_into_independent_buckets(auto_clock: AutoClock) -> None:
    limiter = RateLimiter(auto_clock)
    first = routes.CREATE_MESSAGE.compile(channel_id="1")
    second = routes.CREATE_MESSAGE.compile(channel_id="2")
    limiter.on_rate_limited(first, 3.0, is_global=False)
    await limiter.wait(second)
    assert auto_clock.sleeps == []
    await limiter.wait(first)
    assert auto_clock.sleeps == [3.0]


async def test_a_stall_survives_learning_the_bucket_hash(auto_clock: AutoClock) -> None:
    """Regression: a 429 stalled the route under its template key; when a later answer (on another call in
    flight) revealed Discord's bucket hash, the stall was forgotten and the next call went out at once."""
    limiter = RateLimiter(auto_clock)
    route = routes.CREATE_MESSAGE.compile(channel_id="1")
    limiter.on_rate_limited(route, 3.0, is_global=False)
    limiter.update(route, {"x-ratelimit-bucket": "abc"})
    assert limiter.bucket_id(route) == "abc:1"
    await limiter.wait(route)
    assert auto_clock.sleeps == [3.0]
