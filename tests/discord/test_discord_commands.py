"""ApplicationCommandCache: caching, invalidation, shared in-flight fetches, not-found, fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mjproxy.discord import (
    ApplicationCommandCache,
    CommandNotFound,
    RestClient,
    Unauthorized,
)
from mjproxy.midjourney.account import load_command_snapshot

from .discord_fakes import AutoClock

APP = "936929561302675456"


def index(version: str = "100") -> dict[str, Any]:
    return {
        "applications": [{"id": APP, "name": "Bot"}],
        "application_commands": [
            {"id": "938956540159881230", "type": 1, "application_id": APP, "version": version, "name": "imagine"},
            {"id": "555", "type": 3, "application_id": APP, "version": version, "name": "Cancel Job"},
        ],
        "version": "1",
    }


class IndexServer:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.paths: list[str] = []
        self.version = "100"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
        if self.status != 200:
            return httpx.Response(self.status, json={"message": "nope", "code": 0})
        return httpx.Response(200, json=index(self.version))


def make(server: IndexServer, clock: AutoClock, **kwargs: Any) -> tuple[RestClient, ApplicationCommandCache]:
    rest = RestClient(
        api_base="https://discord.test",
        token="tok-en-123456",
        clock=clock,
        transport=httpx.MockTransport(server),
        max_retries=0,
    )
    return rest, ApplicationCommandCache(rest, clock=clock, **kwargs)


async def test_get_caches_per_scope(auto_clock: AutoClock) -> None:
    server = IndexServer()
    rest, cache = make(server, auto_clock)
    command = await cache.get(APP, "imagine", guild_id="g1")
    assert command["id"] == "938956540159881230" and command["version"] == "100"
    await cache.get(APP, "imagine", guild_id="g1")
    assert (await cache.get(APP, "Cancel Job", guild_id="g1", command_type=3))["id"] == "555"
    assert server.paths == ["/api/v9/guilds/g1/application-command-index"]
    await cache.get(APP, "imagine", channel_id="dm1")
    assert server.paths[-1] == "/api/v9/channels/dm1/application-command-index"
    await rest.aclose()


async def test_invalidate_and_ttl(auto_clock: AutoClock) -> None:
    server = IndexServer()
    rest, cache = make(server, auto_clock, ttl_seconds=60)
    await cache.get(APP, "imagine", guild_id="g1")
    server.version = "200"
    cache.invalidate(guild_id="g1")
    assert (await cache.get(APP, "imagine", guild_id="g1"))["version"] == "200"
    server.version = "300"
    auto_clock.t += 61
    assert (await cache.get(APP, "imagine", guild_id="g1"))["version"] == "300"
    cache.invalidate()
    await cache.get(APP, "imagine", guild_id="g1")
    assert len(server.paths) == 4
    await rest.aclose()


async def test_concurrent_callers_share_one_fetch(auto_clock: AutoClock) -> None:
    server = IndexServer()
    rest, cache = make(server, auto_clock)
    results = await asyncio.gather(*(cache.get(APP, "imagine", guild_id="g1") for _ in range(10)))
    assert {r["id"] for r in results} == {"938956540159881230"}
    assert len(server.paths) == 1
    await rest.aclose()


async def test_missing_command_raises_after_one_refresh(auto_clock: AutoClock) -> None:
    server = IndexServer()
    rest, cache = make(server, auto_clock)
    await cache.get(APP, "imagine", guild_id="g1")
    with pytest.raises(CommandNotFound, match="describe"):
        await cache.get(APP, "describe", guild_id="g1")
    assert len(server.paths) == 2  # the stale cache was refreshed once before giving up
    await rest.aclose()


async def test_fallback_only_on_non_auth_failures(auto_clock: AutoClock) -> None:
    server = IndexServer(status=503)
    rest, cache = make(server, auto_clock, fallback=load_command_snapshot())
    command = await cache.get(APP, "imagine", guild_id="g1")
    assert command["name"] == "imagine" and command["version"]
    server.status = 401
    with pytest.raises(Unauthorized):
        await cache.get(APP, "imagine", guild_id="g1")  # the snapshot was not cached
    await rest.aclose()

    server = IndexServer(status=503)
    rest, cache = make(server, auto_clock)
    with pytest.raises(Exception, match="503"):
        await cache.get(APP, "imagine", guild_id="g1")
    await rest.aclose()
