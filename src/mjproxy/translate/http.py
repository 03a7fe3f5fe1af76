"""The HTTP plumbing the providers share: one client, errors phrased without secrets."""

from __future__ import annotations

from typing import Any

import httpx

from ..engine.translation import TranslationError


class ProviderClient:
    def __init__(self, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_seconds, transport=transport, follow_redirects=False)

    async def post(self, url: str, **kwargs: Any) -> Any:
        """POST and return the JSON body; any transport problem, non-2xx or non-JSON → TranslationError."""
        try:
            response = await self._http.post(url, **kwargs)
        except httpx.TimeoutException:
            raise TranslationError("the provider did not answer in time") from None
        except httpx.TransportError as exc:
            raise TranslationError(f"cannot reach the provider: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise TranslationError(f"the provider answered HTTP {response.status_code}: "
                                   f"{response.text[:200].strip()}")
        try:
            return response.json()
        except ValueError:
            raise TranslationError("the provider answered something that is not JSON") from None

    async def aclose(self) -> None:
        await self._http.aclose()
