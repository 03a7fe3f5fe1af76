"""RestClient: headers, retries (429 / 5xx / transport), typed errors, interactions and uploads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mjproxy.discord import (
    INVALID_COMMAND_VERSION,
    BadRequest,
    DiscordConnectionError,
    DiscordServerError,
    Forbidden,
    HTTPException,
    NotFound,
    RateLimited,
    RestClient,
    Unauthorized,
    UnexpectedResponse,
    is_invalid_command_version,
)
from mjproxy.domain.clock import Clock

from .discord_fakes import AutoClock, ManualClock

TOKEN = "MTIzNDU2Nzg5.secret-user-token.XYZ"
Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, clock: Clock, **kwargs: Any) -> RestClient:
    return RestClient(
        api_base="https://discord.test/",
        token=TOKEN,
        clock=clock,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def interaction_payload() -> dict[str, Any]:
    return {"type": 2, "application_id": "1", "channel_id": "2", "nonce": "1234567890123456789", "data": {}}


async def test_headers_and_url(auto_clock: AutoClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "42"})

    async with make_client(handler, auto_clock, user_agent="UA/1") as client:
        assert await client.get_current_user() == {"id": "42"}
    request = seen[0]
    assert str(request.url) == "https://discord.test/api/v9/users/@me"
    assert request.headers["authorization"] == TOKEN  # raw token, no "Bot "/"Bearer " prefix
    assert request.headers["user-agent"] == "UA/1"
    assert TOKEN not in repr(client)


async def test_429_retry_reuses_the_same_body(auto_clock: AutoClock) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return httpx.Response(
                429,
                headers={"Retry-After": "1", "X-RateLimit-Scope": "user"},
                json={"message": "You are being rate limited.", "retry_after": 0.75, "global": False},
            )
        return httpx.Response(204)

    async with make_client(handler, auto_clock) as client:
        await client.create_interaction(interaction_payload())
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert json.loads(bodies[1])["nonce"] == "1234567890123456789"
    assert 0.75 in auto_clock.sleeps  # body retry_after wins over the rounded header


async def test_429_uses_retry_after_header_without_body(auto_clock: AutoClock) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, text="slow down")
        return httpx.Response(200, json=[])

    async with make_client(handler, auto_clock) as client:
        assert await client.get_messages("5") == []
    assert 2.0 in auto_clock.sleeps


async def test_429_exhausted_raises_rate_limited(auto_clock: AutoClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            headers={"X-RateLimit-Scope": "shared"},
            json={"message": "The resource is being rate limited.", "retry_after": 2.06, "global": False},
        )

    async with make_client(handler, auto_clock, max_retries=2) as client:
        with pytest.raises(RateLimited) as info:
            await client.get_channel("5")
    assert info.value.retry_after == pytest.approx(2.06)
    assert info.value.scope == "shared"
    assert not info.value.is_global
    assert info.value.status == 429


async def test_global_429_pauses_every_call(manual_clock: ManualClock) -> None:
    order: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        order.append(request.url.path)
        if request.url.path.endswith("/interactions") and order.count(request.url.path) == 1:
            return httpx.Response(
                429,
                headers={"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
                json={"message": "You are being rate limited.", "retry_after": 5, "global": True},
            )
        if request.url.path.endswith("/interactions"):
            return httpx.Response(204)
        return httpx.Response(200, json={"id": "42"})

    async with make_client(handler, manual_clock) as client:
        first = asyncio.create_task(client.create_interaction(interaction_payload()))
        for _ in range(100):
            if manual_clock.sleeping:
                break
            await asyncio.sleep(0)
        assert manual_clock.sleeping == 1
        other = asyncio.create_task(client.get_current_user())
        for _ in range(20):
            await asyncio.sleep(0)
        # The unrelated route must not have been sent while the global pause lasts.
        assert order == ["/api/v9/interactions"]
        assert manual_clock.sleeping == 2
        await manual_clock.advance(5)
        await asyncio.wait_for(asyncio.gather(first, other), 2)
    assert sorted(order[1:]) == ["/api/v9/interactions", "/api/v9/users/@me"]


async def test_bucket_headers_make_the_next_call_wait(auto_clock: AutoClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"id": "5"},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "3.5", "X-RateLimit-Bucket": "abc"},
        )

    async with make_client(handler, auto_clock) as client:
        await client.get_channel("5")
        assert auto_clock.sleeps == []
        await client.get_channel("6")  # another major parameter: its own bucket, no wait
        assert auto_clock.sleeps == []
        await client.get_channel("5")
        assert auto_clock.sleeps == [3.5]


async def test_5xx_backoff_then_success(auto_clock: AutoClock) -> None:
    statuses = [502, 503]

    def handler(request: httpx.Request) -> httpx.Response:
        if statuses:
            return httpx.Response(statuses.pop(0), text="<html>bad gateway</html>")
        return httpx.Response(200, json={"id": "5"})

    async with make_client(handler, auto_clock) as client:
        assert await client.get_channel("5") == {"id": "5"}
    assert len(auto_clock.sleeps) == 2
    assert 0 < auto_clock.sleeps[0] <= 0.5 < auto_clock.sleeps[1] <= 1.0  # doubling, jittered


async def test_5xx_exhaustion_raises_server_error(auto_clock: AutoClock) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"message": "500: Internal Server Error", "code": 0})

    async with make_client(handler, auto_clock, max_retries=2) as client:
        with pytest.raises(DiscordServerError) as info:
            await client.get_channel("5")
    assert calls == 3
    assert info.value.status == 500


async def test_transport_errors_retry_then_give_up(auto_clock: AutoClock) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused")

    async with make_client(handler, auto_clock, max_retries=1) as client:
        with pytest.raises(DiscordConnectionError):
            await client.get_current_user()
    assert calls == 2


async def test_invalid_form_body_is_parsed(auto_clock: AutoClock) -> None:
    body = {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "data": {
                "_errors": [
                    {"code": INVALID_COMMAND_VERSION, "message": "Cette commande est obsolète"},
                ],
                "options": {"0": {"value": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "req"}]}}},
            }
        },
    }
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(400, json=body)

    async with make_client(handler, auto_clock) as client:
        with pytest.raises(BadRequest) as info:
            await client.create_interaction(interaction_payload())
    exc = info.value
    assert calls == 1  # 4xx is never retried
    assert exc.code == 50035
    assert exc.message == "Invalid Form Body"
    assert ("data", INVALID_COMMAND_VERSION, "Cette commande est obsolète") in exc.errors
    assert ("data.options.0.value", "BASE_TYPE_REQUIRED", "req") in exc.errors
    assert exc.has_error_code("BASE_TYPE_REQUIRED")
    assert is_invalid_command_version(exc)
    assert not is_invalid_command_version(ValueError("x"))
    assert INVALID_COMMAND_VERSION in str(exc)


@pytest.mark.parametrize(
    ("status", "body", "exc_type"),
    [
        (401, {"message": "401: Unauthorized", "code": 0}, Unauthorized),
        (403, {"message": "Missing Access", "code": 50001}, Forbidden),
        (404, {"message": "Unknown Channel", "code": 10003}, NotFound),
    ],
)
async def test_status_maps_to_typed_exception_without_token(
    auto_clock: AutoClock, status: int, body: dict[str, Any], exc_type: type[HTTPException]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A hostile or buggy server echoing the token must not leak it through the exception.
        return httpx.Response(status, json={**body, "echo": TOKEN})

    async with make_client(handler, auto_clock) as client:
        with pytest.raises(exc_type) as info:
            await client.get_channel("5")
    assert info.value.status == status
    assert info.value.code == body["code"]
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value.body)


async def test_interaction_non_204_success_is_an_error(auto_clock: AutoClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async with make_client(handler, auto_clock) as client:
        with pytest.raises(UnexpectedResponse) as info:
            await client.create_interaction(interaction_payload())
    assert isinstance(info.value, HTTPException)
    assert info.value.status == 200
    assert "unexpected status" in str(info.value)


async def test_interaction_multipart_carries_payload_json(auto_clock: AutoClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with make_client(handler, auto_clock) as client:
        await client.create_interaction(interaction_payload(), files=[("cat.png", b"\x89PNG", "image/png")])
    request = seen[0]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    content = request.content
    assert b'name="payload_json"' in content
    assert b'"nonce": "1234567890123456789"' in content
    assert b'name="files[0]"; filename="cat.png"' in content


async def test_upload_to_slot_sends_no_authorization(auto_clock: AutoClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    url = "https://uploads.test/abc/cat.png?upload_id=xyz"
    async with make_client(handler, auto_clock) as client:
        await client.upload_to_slot(url, b"bytes", "image/png")
    request = seen[0]
    assert request.method == "PUT"
    assert str(request.url) == url
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "image/png"
    assert request.content == b"bytes"


async def test_route_helpers(auto_clock: AutoClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.endswith("/attachments"):
            files = json.loads(request.content)["files"]
            return httpx.Response(200, json={"attachments": [{"id": f["id"], "upload_url": "u"} for f in files]})
        if request.method == "PUT":
            return httpx.Response(204)
        if path.endswith("/users/@me/channels") and request.method == "POST":
            return httpx.Response(200, json={"id": "dm", "type": 1})
        return httpx.Response(200, json=[])

    async with make_client(handler, auto_clock) as client:
        slots = await client.create_attachment_slots("7", [{"id": "0", "filename": "a.png", "file_size": 3}])
        assert slots == [{"id": "0", "upload_url": "u"}]
        await client.add_reaction("7", "8", "✉️")
        assert await client.create_dm("99") == {"id": "dm", "type": 1}
        assert await client.get_messages("7", limit=500, around="123") == []
        assert await client.get_dm_channels() == []
    reaction = seen[1]
    assert reaction.url.raw_path == b"/api/v9/channels/7/messages/8/reactions/%E2%9C%89%EF%B8%8F/@me"
    assert json.loads(seen[2].content) == {"recipients": ["99"]}
    assert dict(seen[3].url.params) == {"limit": "100", "around": "123"}


async def test_429_with_only_the_global_scope_header_pauses_every_call(manual_clock: ManualClock) -> None:
    """Regression: the scope header alone ("global", no X-RateLimit-Global, no body flag) was taken as a
    per-route limit, so other routes kept hammering a token Discord had paused globally."""
    order: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        order.append(request.url.path)
        if request.url.path.endswith("/interactions") and order.count(request.url.path) == 1:
            return httpx.Response(429, headers={"X-RateLimit-Scope": "global", "Retry-After": "5"},
                                  json={"message": "You are being rate limited.", "retry_after": 5})
        if request.url.path.endswith("/interactions"):
            return httpx.Response(204)
        return httpx.Response(200, json={"id": "42"})

    async with make_client(handler, manual_clock) as client:
        first = asyncio.create_task(client.create_interaction(interaction_payload()))
        for _ in range(100):
            if manual_clock.sleeping:
                break
            await asyncio.sleep(0)
        other = asyncio.create_task(client.get_current_user())
        for _ in range(20):
            await asyncio.sleep(0)
        assert order == ["/api/v9/interactions"]
        await manual_clock.advance(5)
        await asyncio.wait_for(asyncio.gather(first, other), 2)
    assert sorted(order[1:]) == ["/api/v9/interactions", "/api/v9/users/@me"]


async def test_shared_429_stalls_only_its_bucket_and_is_retried(auto_clock: AutoClock) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"X-RateLimit-Scope": "shared", "Retry-After": "2.06"},
                                  json={"message": "The resource is being rate limited.", "retry_after": 2.06,
                                        "global": False})
        return httpx.Response(204)

    async with make_client(handler, auto_clock) as client:
        await client.create_interaction(interaction_payload())
        assert client.rate_limiter.global_pause_remaining == 0
    assert calls == ["/api/v9/interactions", "/api/v9/interactions"]
