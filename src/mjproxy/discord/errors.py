"""Typed exception tree for the Discord layer, keyed by HTTP status (discord.py style).

Messages are written for humans and never contain the account token: the REST client scrubs
response bodies before they reach an exception, and nothing here ever looks at request headers.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

#: Error code Discord puts in a 50035 tree when ``data.id``/``data.version`` names a stale command.
INVALID_COMMAND_VERSION: Final = "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION"

#: Discord's JSON code for "Invalid Form Body" (the tree of per-field errors).
INVALID_FORM_BODY: Final = 50035


class ErrorDetail(NamedTuple):
    """One leaf of a 50035 error tree: ``("data.options.0.value", "BASE_TYPE_REQUIRED", "…")``."""

    path: str
    code: str
    message: str


def flatten_error_tree(tree: Any, prefix: str = "") -> list[ErrorDetail]:
    """Turn ``{"data": {"_errors": [{"code", "message"}]}}`` into a flat list of :class:`ErrorDetail`.

    Discord nests field errors by path (list indices appear as string keys) with the actual errors
    under ``_errors``; a flat list is what callers match on (by code: messages are localised).
    """
    details: list[ErrorDetail] = []
    if not isinstance(tree, dict):
        return details
    for key, value in tree.items():
        if key == "_errors" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    details.append(
                        ErrorDetail(prefix, str(item.get("code", "")), str(item.get("message", "")))
                    )
            continue
        child = f"{prefix}.{key}" if prefix else str(key)
        details.extend(flatten_error_tree(value, child))
    return details


class DiscordError(Exception):
    """Base of every error raised by :mod:`mjproxy.discord`."""


# --- REST --------------------------------------------------------------------------------------------


class HTTPException(DiscordError):
    """Discord answered with an error status.

    ``code`` is Discord's JSON error code (0 when absent), ``message`` its text, ``body`` the parsed
    body (dict, or ``{"message": <text>}`` for non-JSON bodies) and ``errors`` the flattened 50035 tree.
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        body: Any,
        errors: list[ErrorDetail] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.errors: list[ErrorDetail] = list(errors or [])
        self.method = method
        self.path = path
        super().__init__(self._describe())

    @classmethod
    def from_body(
        cls, status: int, body: Any, *, method: str | None = None, path: str | None = None
    ) -> HTTPException:
        """Build the subclass matching ``status`` from a parsed Discord error body."""
        payload = body if isinstance(body, dict) else {"message": str(body or "")}
        raw_code = payload.get("code", 0)
        code = raw_code if isinstance(raw_code, int) else 0
        message = str(payload.get("message") or "")
        errors = flatten_error_tree(payload.get("errors"))
        exc_type = exception_type_for_status(status)
        if exc_type is RateLimited:
            return RateLimited.from_body(status, payload, method=method, path=path)
        return exc_type(status, code, message, payload, errors, method=method, path=path)

    def has_error_code(self, code: str) -> bool:
        """Whether any leaf of the 50035 tree carries ``code`` (match codes, never localised text)."""
        return any(detail.code == code for detail in self.errors)

    def _describe(self) -> str:
        where = f" on {self.method} {self.path}" if self.method and self.path else ""
        text = f"Discord answered {self.status}{where}: {self.message or 'no message'}"
        if self.code:
            text += f" (code {self.code})"
        for detail in self.errors:
            text += f"; {detail.path or '<body>'}: {detail.code} {detail.message}".rstrip()
        return text


class BadRequest(HTTPException):
    """400: validation failed (50035 trees live here)."""


class Unauthorized(HTTPException):
    """401: the token is missing, invalid or revoked."""


class Forbidden(HTTPException):
    """403: no access to the resource (50001, 50013) or a bot-only route (20002)."""


class NotFound(HTTPException):
    """404: unknown route, channel, guild or message."""


class RateLimited(HTTPException):
    """429 that outlived every retry; ``retry_after`` is in seconds."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        body: Any,
        errors: list[ErrorDetail] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float = 0.0,
        scope: str | None = None,
        is_global: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.scope = scope
        self.is_global = is_global
        super().__init__(status, code, message, body, errors, method=method, path=path)

    @classmethod
    def from_body(
        cls,
        status: int,
        body: Any,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        scope: str | None = None,
        is_global: bool | None = None,
    ) -> RateLimited:
        payload = body if isinstance(body, dict) else {"message": str(body or "")}
        raw_code = payload.get("code", 0)
        if retry_after is None:
            try:
                retry_after = float(payload.get("retry_after", 0.0))
            except (TypeError, ValueError):
                retry_after = 0.0
        return cls(
            status,
            raw_code if isinstance(raw_code, int) else 0,
            str(payload.get("message") or "rate limited"),
            payload,
            method=method,
            path=path,
            retry_after=retry_after,
            scope=scope,
            is_global=bool(payload.get("global")) if is_global is None else is_global,
        )

    def _describe(self) -> str:
        scope = "global" if self.is_global else (self.scope or "route")
        return f"{super()._describe()} [{scope} rate limit, retry after {self.retry_after:.2f}s]"


class DiscordServerError(HTTPException):
    """5xx that outlived every retry."""


class UnexpectedResponse(HTTPException):
    """A success status other than the one the route promises (e.g. POST /interactions must be 204)."""


class DiscordConnectionError(DiscordError):
    """The request never got an HTTP answer (DNS, connect, read timeout) after every retry."""


def exception_type_for_status(status: int) -> type[HTTPException]:
    if status == 400:
        return BadRequest
    if status == 401:
        return Unauthorized
    if status == 403:
        return Forbidden
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if status >= 500:
        return DiscordServerError
    return HTTPException


def is_invalid_command_version(exc: BaseException) -> bool:
    """True when Discord rejected an interaction because the command id/version is stale."""
    return isinstance(exc, HTTPException) and exc.has_error_code(INVALID_COMMAND_VERSION)


# --- application commands ----------------------------------------------------------------------------


class CommandNotFound(DiscordError):
    """The application-command index has no command with that application, name and type."""

    def __init__(self, application_id: str, name: str, scope: str, command_type: int = 1) -> None:
        self.application_id = application_id
        self.name = name
        self.scope = scope
        self.command_type = command_type
        super().__init__(
            f"application {application_id} has no command {name!r} (type {command_type}) in {scope}"
        )


# --- gateway -----------------------------------------------------------------------------------------


class GatewayError(DiscordError):
    """Base of gateway failures."""


class GatewayClosed(GatewayError):
    """The gateway closed the socket; ``fatal`` means reconnecting cannot help."""

    def __init__(self, code: int | None, reason: str, fatal: bool) -> None:
        self.code = code
        self.reason = reason
        self.fatal = fatal
        label = "fatal" if fatal else "recoverable"
        super().__init__(f"gateway closed with code {code} ({label}): {reason or 'no reason given'}")


class AuthenticationFailed(GatewayClosed):
    """4004: the token is invalid or revoked. Mark the account, stop, alert a human."""

    def __init__(self, reason: str = "Authentication failed") -> None:
        super().__init__(4004, reason, fatal=True)
