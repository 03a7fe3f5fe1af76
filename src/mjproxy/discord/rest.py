"""REST client for one Discord user account.

Every call goes through one :class:`RateLimiter` and one retry loop:

* 429 → the limiter stalls the bucket (or the whole client when global) for ``retry_after``, then
  the same request is sent again;
* 5xx and transport errors → exponential backoff with jitter, up to ``max_retries``;
* other 4xx → the typed exception at once.

The request body is encoded once, before the loop, so a retried interaction carries byte-for-byte
the same payload (same nonce): Discord de-duplicates on it, a fresh nonce would run the job twice.
"""

from __future__ import annotations

import functools
import json as jsonlib
import logging
import random
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

import httpx

from mjproxy.discord import routes
from mjproxy.discord.backoff import equal_jitter
from mjproxy.discord.errors import (
    DiscordConnectionError,
    HTTPException,
    RateLimited,
    UnexpectedResponse,
)
from mjproxy.discord.identity import DEFAULT_USER_AGENT
from mjproxy.discord.observer import RestObserver
from mjproxy.discord.ratelimit import RateLimiter
from mjproxy.discord.routes import Route
from mjproxy.domain.clock import Clock, SystemClock
from mjproxy.domain.secrets import mask_secret

log = logging.getLogger(__name__)

#: A file for multipart requests: (filename, bytes, content type).
FileSpec = tuple[str, bytes, str]

#: First retry of a 5xx/transport failure waits 0.25–0.5 s, then doubles, capped.
RETRY_BASE_SECONDS: Final = 0.5
RETRY_CAP_SECONDS: Final = 10.0
#: Used when a 429 carries neither a body ``retry_after`` nor a ``Retry-After`` header.
DEFAULT_RETRY_AFTER: Final = 1.0


class _EncodedBody:
    """Body bytes and content type, built once and resent unchanged on every attempt."""

    __slots__ = ("content", "content_type")

    def __init__(self, content: bytes | None, content_type: str | None) -> None:
        self.content = content
        self.content_type = content_type


def _encode_body(
    json: Any, files: Sequence[FileSpec] | None, form_payload: dict[str, Any] | None
) -> _EncodedBody:
    if files or form_payload is not None:
        payload = form_payload if form_payload is not None else json
        # filename None makes payload_json a plain form field while still forcing multipart.
        parts: list[tuple[str, tuple[str | None, bytes, str]]] = []
        if payload is not None:
            parts.append(("payload_json", (None, jsonlib.dumps(payload).encode(), "application/json")))
        for index, (filename, data, content_type) in enumerate(files or ()):
            parts.append((f"files[{index}]", (filename, data, content_type)))
        request = httpx.Request("POST", "http://multipart.invalid/", files=parts)
        return _EncodedBody(request.read(), request.headers["Content-Type"])
    if json is not None:
        return _EncodedBody(jsonlib.dumps(json).encode(), "application/json")
    return _EncodedBody(None, None)


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every account: each context loads the CA bundle (~0.8 MB), and with hundreds of
    accounts per process that alone was most of the memory (bench/README.md)."""
    return httpx.create_ssl_context()


class RestClient:
    """Discord REST API v9 as one user account (``Authorization: <raw token>``, no prefix)."""

    def __init__(
        self,
        *,
        api_base: str,
        token: str,
        user_agent: str | None = None,
        api_version: int = 9,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        rate_limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
        observer: RestObserver | None = None,
    ) -> None:
        self.observer = observer  # may be attached later, by whoever builds the client
        self._base_url = f"{api_base.rstrip('/')}/api/v{api_version}"
        self._token = token
        self._user_agent = user_agent or DEFAULT_USER_AGENT
        self._clock = clock or SystemClock()
        self._max_retries = max_retries
        self._rng = rng or random.Random()
        self.rate_limiter = rate_limiter or RateLimiter(self._clock)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False,
                                       verify=_shared_ssl_context())

    def __repr__(self) -> str:
        return f"RestClient({self._base_url}, token={mask_secret(self._token)})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- core ----------------------------------------------------------------------------------------

    async def request(
        self,
        route: Route,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Sequence[FileSpec] | None = None,
        form_payload: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send ``route`` and return its parsed JSON (``None`` for 204 or an empty body)."""
        response = await self._send(
            route, json=json, params=params, files=files, form_payload=form_payload, auth=auth
        )
        return _parse_success(response)

    async def _send(
        self,
        route: Route,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Sequence[FileSpec] | None = None,
        form_payload: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        body = _encode_body(json, files, form_payload)
        headers = {"User-Agent": self._user_agent, "Accept": "*/*"}
        if auth:
            headers["Authorization"] = self._token
        if body.content_type:
            headers["Content-Type"] = body.content_type
        query = _clean_params(params)
        return await self._send_with_retries(
            route, f"{self._base_url}{route.url}", headers, body.content, query, use_limiter=True
        )

    async def _send_with_retries(
        self,
        route: Route,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        query: dict[str, str] | None,
        *,
        use_limiter: bool,
    ) -> httpx.Response:
        label = f"{route.method} {route.path}"
        failures = 0  # 5xx and transport errors
        rate_limits = 0
        while True:
            if use_limiter:
                await self.rate_limiter.wait(route)
            attempt = failures + rate_limits + 1
            log.debug("%s (token %s, attempt %d)", label, mask_secret(self._token), attempt)
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    route.method, url, content=content, headers=headers, params=query
                )
            except httpx.TransportError as exc:
                if self.observer is not None:
                    self.observer.on_transport_error(route.method, route.path)
                if failures >= self._max_retries:
                    raise DiscordConnectionError(
                        f"{label} failed after {failures + 1} attempts: {type(exc).__name__}: "
                        f"{self._scrub(str(exc))}"
                    ) from None
                failures += 1
                await self._backoff(label, failures, type(exc).__name__)
                continue

            await response.aread()
            if self.observer is not None:
                self.observer.on_response(route.method, route.path, response.status_code,
                                          time.perf_counter() - started)
            if use_limiter:
                self.rate_limiter.update(route, response.headers)
            status = response.status_code
            log.debug("%s → %d", label, status)

            if status == 429:
                exc429 = self._rate_limited(route, response)
                if self.observer is not None:
                    self.observer.on_rate_limited(route.path, "global" if exc429.is_global
                                                  else exc429.scope or "route")
                if use_limiter:
                    self.rate_limiter.on_rate_limited(route, exc429.retry_after, is_global=exc429.is_global)
                if rate_limits >= self._max_retries:
                    raise exc429
                rate_limits += 1
                log.info(
                    "%s rate limited (%s), retrying in %.2fs",
                    label,
                    "global" if exc429.is_global else exc429.scope or "route",
                    exc429.retry_after,
                )
                if not use_limiter:
                    await self._clock.sleep(exc429.retry_after)
                continue

            if status >= 500:
                if failures >= self._max_retries:
                    raise self._error(route, response)
                failures += 1
                await self._backoff(label, failures, f"HTTP {status}")
                continue

            if status >= 400:
                raise self._error(route, response)
            if status >= 300:
                raise self._error(route, response, UnexpectedResponse)
            return response

    async def _backoff(self, label: str, failures: int, why: str) -> None:
        delay = equal_jitter(failures - 1, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS, rng=self._rng)
        log.warning("%s failed (%s), retry %d/%d in %.2fs", label, why, failures, self._max_retries, delay)
        await self._clock.sleep(delay)

    # --- error shaping -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Belt and braces: a body that echoes the token must not carry it into an exception."""
        return text.replace(self._token, mask_secret(self._token)) if self._token else text

    def _body(self, response: httpx.Response) -> Any:
        text = self._scrub(response.text)
        try:
            return jsonlib.loads(text) if text else {}
        except ValueError:
            return {"message": text[:300]}

    def _error(
        self, route: Route, response: httpx.Response, exc_type: type[HTTPException] | None = None
    ) -> HTTPException:
        body = self._body(response)
        if exc_type is not None:
            message = f"unexpected status {response.status_code}"
            return exc_type(response.status_code, 0, message, body, method=route.method, path=route.path)
        return HTTPException.from_body(response.status_code, body, method=route.method, path=route.path)

    def _rate_limited(self, route: Route, response: httpx.Response) -> RateLimited:
        body = self._body(response)
        retry_after: float | None = None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            retry_after = float(body["retry_after"])
        if retry_after is None:
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except ValueError:
                retry_after = DEFAULT_RETRY_AFTER
        scope = (response.headers.get("x-ratelimit-scope") or "").lower() or None
        # Any one of the three signals makes it global: proxies in front of Discord have been seen
        # to strip X-RateLimit-Global while keeping the scope header (and the body may be HTML).
        is_global = (
            response.headers.get("x-ratelimit-global", "").lower() == "true"
            or scope == "global"
            or bool(isinstance(body, dict) and body.get("global"))
        )
        scope = scope or ("global" if is_global else None)
        return RateLimited.from_body(
            429,
            body,
            method=route.method,
            path=route.path,
            retry_after=retry_after,
            scope=scope,
            is_global=is_global,
        )

    # --- routes --------------------------------------------------------------------------------------

    async def get_current_user(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(routes.GET_CURRENT_USER.compile())
        return result

    async def create_interaction(
        self, payload: dict[str, Any], files: Sequence[FileSpec] | None = None
    ) -> None:
        """POST /interactions. Only 204 means accepted; everything else arrives on the gateway."""
        route = routes.CREATE_INTERACTION.compile()
        if files:
            response = await self._send(route, form_payload=payload, files=files)
        else:
            response = await self._send(route, json=payload)
        if response.status_code != 204:
            raise self._error(route, response, UnexpectedResponse)

    async def get_application_command_index(
        self, *, guild_id: str | None = None, channel_id: str | None = None
    ) -> dict[str, Any]:
        """The guild's index, else the channel's (DMs), else the user's (user-installed apps)."""
        if guild_id is not None:
            route = routes.GET_GUILD_COMMAND_INDEX.compile(guild_id=guild_id)
        elif channel_id is not None:
            route = routes.GET_CHANNEL_COMMAND_INDEX.compile(channel_id=channel_id)
        else:
            route = routes.GET_USER_COMMAND_INDEX.compile()
        result: dict[str, Any] = await self.request(route)
        return result

    async def get_channel(self, channel_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(routes.GET_CHANNEL.compile(channel_id=channel_id))
        return result

    async def get_messages(
        self,
        channel_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        after: str | None = None,
        around: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; Discord allows one of ``before``/``after``/``around`` and 1 ≤ limit ≤ 100."""
        params = {"limit": max(1, min(limit, 100)), "before": before, "after": after, "around": around}
        result: list[dict[str, Any]] = await self.request(
            routes.GET_MESSAGES.compile(channel_id=channel_id), params=params
        )
        return result

    async def create_message(self, channel_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            routes.CREATE_MESSAGE.compile(channel_id=channel_id), json=payload
        )
        return result

    async def create_attachment_slots(
        self, channel_id: str, files: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Ask for signed upload URLs: ``files`` items are ``{"id", "filename", "file_size"}``."""
        result = await self.request(
            routes.CREATE_ATTACHMENTS.compile(channel_id=channel_id), json={"files": list(files)}
        )
        attachments: list[dict[str, Any]] = result.get("attachments", []) if isinstance(result, dict) else []
        return attachments

    async def upload_to_slot(self, upload_url: str, data: bytes, content_type: str) -> None:
        """PUT the bytes to a signed cloud-storage URL: no Authorization (it is not Discord's host)."""
        # Label only: the signed query string is a credential of sorts, keep it out of logs.
        route = Route("PUT", "<upload_url>")
        headers = {"User-Agent": self._user_agent, "Content-Type": content_type}
        await self._send_with_retries(route, upload_url, headers, data, None, use_limiter=False)

    async def add_reaction(self, channel_id: str, message_id: str, emoji: str) -> None:
        await self.request(
            routes.ADD_REACTION.compile(channel_id=channel_id, message_id=message_id, emoji=emoji),
        )

    async def get_dm_channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request(routes.GET_DM_CHANNELS.compile())
        return result

    async def create_dm(self, recipient_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            routes.CREATE_DM.compile(), json={"recipients": [recipient_id]}
        )
        return result


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    cleaned: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        cleaned[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return cleaned or None


def _parse_success(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
