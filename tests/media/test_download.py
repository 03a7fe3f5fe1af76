"""The downloader against a real HTTP server on loopback: size limit, retries, backoff, final reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mjproxy.media.download import Downloader, DownloadError, TooLarge
from tests.e2e.harness import serve_in_loop
from tests.store.factories import FakeClock


class Flaky:
    """Fails the first ``failures`` requests with 503, then serves ``body``."""

    def __init__(self) -> None:
        self.failures = 0
        self.requests = 0
        self.body = b"x" * 1000

    async def image(self, request: Request) -> Response:
        self.requests += 1
        if self.failures > 0:
            self.failures -= 1
            return Response(b"busy", status_code=503)
        return Response(self.body, media_type="image/png")

    async def chunked(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        return StreamingResponse(chunks(), media_type="image/png")  # no Content-Length to trust


@pytest.fixture
async def server() -> AsyncIterator[tuple[Flaky, str]]:
    flaky = Flaky()
    app = Starlette(routes=[Route("/image.png", flaky.image), Route("/chunked.png", flaky.chunked)])
    uvicorn_server, job, port = await serve_in_loop(app)
    try:
        yield flaky, f"http://127.0.0.1:{port}"
    finally:
        uvicorn_server.should_exit = True
        await job


def downloader(clock: FakeClock, **overrides: float) -> Downloader:
    options = {"max_bytes": 5000, "timeout_seconds": 10.0, "attempts": 4, "backoff_seconds": 1.0, **overrides}
    return Downloader(clock, max_bytes=int(options["max_bytes"]), timeout_seconds=options["timeout_seconds"],
                      attempts=int(options["attempts"]), backoff_seconds=options["backoff_seconds"])


async def test_retries_with_doubling_backoff_then_succeeds(server: tuple[Flaky, str]) -> None:
    flaky, base = server
    flaky.failures = 3
    clock = FakeClock(0.0)
    fetcher = downloader(clock)
    assert await fetcher.fetch(base + "/image.png") == flaky.body
    assert flaky.requests == 4
    assert clock.value == 1.0 + 2.0 + 4.0, "waits 1 s, 2 s, 4 s between attempts"
    await fetcher.aclose()


async def test_gives_up_after_the_last_attempt_naming_the_problem(server: tuple[Flaky, str]) -> None:
    flaky, base = server
    flaky.failures = 100
    fetcher = downloader(FakeClock(0.0), attempts=3)
    with pytest.raises(DownloadError, match=r"failed after 3 attempt\(s\): HTTP 503"):
        await fetcher.fetch(base + "/image.png")
    assert flaky.requests == 3
    await fetcher.aclose()


async def test_an_unreachable_host_is_reported(server: tuple[Flaky, str]) -> None:
    fetcher = downloader(FakeClock(0.0), attempts=2)
    with pytest.raises(DownloadError, match="ConnectError"):
        await fetcher.fetch("http://127.0.0.1:9/image.png")
    await fetcher.aclose()


async def test_too_large_is_not_retried(server: tuple[Flaky, str]) -> None:
    flaky, base = server
    fetcher = downloader(FakeClock(0.0), max_bytes=999)
    with pytest.raises(TooLarge, match="over the limit of 999"):
        await fetcher.fetch(base + "/image.png")  # refused on its Content-Length
    with pytest.raises(TooLarge, match="over the limit of 999"):
        await fetcher.fetch(base + "/chunked.png")  # refused while streaming
    assert flaky.requests == 1
    await fetcher.aclose()
