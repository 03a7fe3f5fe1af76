"""Fetch a result image from Discord's CDN: bounded in size and time, retried with exponential backoff."""

from __future__ import annotations

import logging

import httpx

from ..domain.clock import Clock

log = logging.getLogger(__name__)


class DownloadError(Exception):
    """The image could not be fetched; the message says why, for the task's failReason."""


class TooLarge(DownloadError):
    """Retrying cannot help: the image is over the configured limit."""


class Downloader:
    def __init__(self, clock: Clock, *, max_bytes: int, timeout_seconds: float, attempts: int,
                 backoff_seconds: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clock = clock
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport, follow_redirects=True,
                                         headers={"User-Agent": "mjproxy-images/1"})
        self.attempts_made = 0  # for tests and metrics

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``; raises DownloadError naming the last problem after the final attempt."""
        delay = self._backoff
        problem = "no attempt made"
        for attempt in range(1, self._attempts + 1):
            self.attempts_made += 1
            try:
                return await self._fetch_once(url)
            except TooLarge:
                raise
            except DownloadError as exc:
                problem = str(exc)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self._attempts:
                log.info("image download attempt %d/%d failed (%s); retrying in %.1fs", attempt, self._attempts,
                         problem, delay)
                await self._clock.sleep(delay)
                delay *= 2
        raise DownloadError(f"image download failed after {self._attempts} attempt(s): {problem}")

    async def _fetch_once(self, url: str) -> bytes:
        async with self._client.stream("GET", url) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code} from the image host")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise TooLarge(f"image is {declared} bytes, over the limit of {self._max_bytes}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise TooLarge(f"image is over the limit of {self._max_bytes} bytes")
            return bytes(body)

    async def aclose(self) -> None:
        await self._client.aclose()
