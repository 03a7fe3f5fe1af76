"""The SSRF guard on real loopback servers: refusals, the allow-list, redirects re-checked, limits."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from mjproxy.net.guard import (
    FetchPolicy,
    FetchRefused,
    FetchTooLarge,
    GuardedClient,
    GuardedTransport,
    check_url,
    why_refused,
)
from tests.e2e.harness import serve_in_loop

LOOPBACK_ONLY = FetchPolicy.from_entries(["127.0.0.1/32"])
NOTHING_ALLOWED = FetchPolicy()


@pytest.mark.parametrize(("address", "kind"), [
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"), ("127.8.8.8", "loopback"), ("169.254.169.254", "link-local"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "non-public"),  # carrier-grade NAT
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
])
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    assert why_refused(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert why_refused(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://127.0.0.1/", "loopback"),
    ("http://localhost:8080/admin", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:9000/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.0.0.5/hook", "private"),
    ("https://192.168.0.1/", "private"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/", "loopback"),  # ... in hex
    ("http://127.1/", "loopback"),  # ... shortened
    ("ftp://example.org/file", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http:///nohost", "no host"),
])
async def test_check_url_refuses(url: str, fragment: str) -> None:
    with pytest.raises(FetchRefused, match=fragment):
        await check_url(url, NOTHING_ALLOWED)


async def test_the_allow_list_admits_networks_and_host_names() -> None:
    await check_url("http://127.0.0.1:1234/x", LOOPBACK_ONLY)
    with pytest.raises(FetchRefused):
        await check_url("http://127.0.0.2:1234/x", LOOPBACK_ONLY)  # only the /32 was allowed
    await check_url("http://intranet.example:80/", FetchPolicy.from_entries(["intranet.example"]))
    await check_url("http://[::1]/", FetchPolicy.from_entries(["::1"]))


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """A loopback server: /ok, a redirect to anywhere, a large body, a streamed (chunked) one."""

    async def ok(request: Request) -> Response:
        return Response(f"ok {request.method}", media_type="text/plain")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=int(request.query_params.get("code", 302)))

    async def big(request: Request) -> Response:
        return Response(b"x" * 5000)

    async def stream(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(50):
                yield b"y" * 100

        return StreamingResponse(chunks())

    app = Starlette(routes=[Route("/ok", ok, methods=["GET", "POST"]),
                            Route("/redirect", redirect, methods=["GET", "POST"]),
                            Route("/big", big), Route("/stream", stream)])
    uvicorn_server, job, port = await serve_in_loop(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uvicorn_server.should_exit = True
        await job


async def test_guarded_client_fetches_allowed_and_follows_allowed_redirects(server: str) -> None:
    client = GuardedClient(LOOPBACK_ONLY)
    try:
        assert (await client.get(f"{server}/ok")).text == "ok GET"
        followed = await client.get(f"{server}/redirect?to={server}/ok")
        assert followed.text == "ok GET"
        posted = await client.post(f"{server}/redirect?to={server}/ok&code=307", json={"a": 1})
        assert posted.text == "ok POST"  # 307 keeps the method
    finally:
        await client.aclose()


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                                    "http://[::1]/", "http://127.0.0.2:1/", "file:///etc/passwd"])
async def test_a_redirect_to_a_forbidden_address_is_refused(server: str, target: str) -> None:
    client = GuardedClient(LOOPBACK_ONLY)
    try:
        with pytest.raises(FetchRefused):
            await client.get(f"{server}/redirect?to={target}")
    finally:
        await client.aclose()


async def test_redirects_are_limited(server: str) -> None:
    client = GuardedClient(FetchPolicy.from_entries(["127.0.0.1/32"], max_redirects=1))
    one_hop = str(httpx.URL(f"{server}/redirect", params={"to": f"{server}/ok"}))
    two_hops = str(httpx.URL(f"{server}/redirect", params={"to": one_hop}))
    try:
        assert (await client.get(one_hop)).text == "ok GET"
        with pytest.raises(FetchRefused, match="redirects"):
            await client.get(two_hops)
    finally:
        await client.aclose()


async def test_bodies_are_capped_by_length_and_while_streaming(server: str) -> None:
    client = GuardedClient(FetchPolicy.from_entries(["127.0.0.1/32"], max_bytes=1000))
    try:
        with pytest.raises(FetchTooLarge):
            await client.get(f"{server}/big")
        with pytest.raises(FetchTooLarge):
            await client.get(f"{server}/stream")  # chunked: no Content-Length to refuse up front
    finally:
        await client.aclose()


async def test_the_connection_itself_is_refused_without_the_pre_check(server: str) -> None:
    """Even a caller that skips check_url (or a name re-resolved differently) cannot connect privately."""
    async with httpx.AsyncClient(transport=GuardedTransport(NOTHING_ALLOWED)) as raw:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            await raw.get(f"{server}/ok")
        port = server.rsplit(":", 1)[1]
        with pytest.raises(httpx.ConnectError, match="loopback"):
            await raw.get(f"http://localhost:{port}/ok")


async def test_guarded_client_refuses_loopback_without_the_allow_list(server: str) -> None:
    client = GuardedClient(NOTHING_ALLOWED)
    try:
        with pytest.raises(FetchRefused, match="loopback"):
            await client.get(f"{server}/ok")
    finally:
        await client.aclose()
