"""The SSRF check of a client-supplied URL that the server will request later (a callback URL), as the
engine asks for it (``engine.ports.UrlGuard``)."""

from __future__ import annotations

from .guard import FetchPolicy, check_forwarded_url, check_url


class PolicyUrlGuard:
    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy

    async def check(self, url: str) -> None:
        """Raise ``FetchRefused`` (a ValueError) unless ``url`` is http(s) and resolves to allowed addresses."""
        await check_url(url, self.policy)


class PolicyForwardGuard:
    """The same public-address rule for URLs handed to Discord for Midjourney to fetch (describe links)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy

    async def check(self, url: str) -> None:
        await check_forwarded_url(url, self.policy)
