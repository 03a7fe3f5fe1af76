"""Typed failures of the SDK, each carrying the dialect's ``code`` (when there is one) and the HTTP status.

The tree::

    MjproxyError
    ├── ConnectionFailed          the server could not be reached (no status)
    ├── WaitTimeout               wait() ran out of time; .task is the last state seen
    ├── TaskFailed                task.raise_for_outcome(): the task ended FAILURE (.task, .reason)
    │   └── TaskCancelled         … or CANCEL
    └── ApiError                  the server answered, and the answer is a refusal (.status, .code, .body)
        ├── AuthenticationError   401: missing or wrong credential
        ├── PermissionDenied      403
        ├── NotFoundError         404 (code 3 where the dialect gives one)
        ├── InvalidRequestError   code 4, or HTTP 400 / 422: the description names the field
        ├── PayloadTooLarge       413
        ├── NoAccountAvailable    code 3 on a submit: no account can take the job (the description says why)
        ├── SubmitFailed          code 9
        ├── QueueFull             code 23: the account's queue is full, try later
        ├── BannedPrompt          code 24: .banned_word
        └── ServerError           5xx

Codes 1 (submitted), 21 (a MODAL task to confirm) and 22 (queued) are not failures: they come back as a
``SubmitResult``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Task

ACCEPTED_CODES = frozenset({1, 21, 22})


class MjproxyError(Exception):
    """Every error the SDK raises."""


class ConnectionFailed(MjproxyError):
    """The server could not be reached, or the connection broke before an answer."""


class WaitTimeout(MjproxyError):
    def __init__(self, message: str, task: Task | None) -> None:
        super().__init__(message)
        self.task = task


class TaskFailed(MjproxyError):
    def __init__(self, task: Task) -> None:
        self.task = task
        self.reason = task.fail_reason or ""
        super().__init__(f"task {task.id} ended {task.status.value}" + (f": {self.reason}" if self.reason else ""))


class TaskCancelled(TaskFailed):
    pass


class ApiError(MjproxyError):
    """A refusal from the server: ``status`` is the HTTP status, ``code`` the SubmitResultVO code (or None)."""

    def __init__(self, message: str, *, status: int, code: int | None = None,
                 body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        code = f", code {self.code}" if self.code is not None else ""
        return f"{self.message} (HTTP {self.status}{code})"


class AuthenticationError(ApiError):
    pass


class PermissionDenied(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class InvalidRequestError(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class NoAccountAvailable(ApiError):
    pass


class SubmitFailed(ApiError):
    pass


class QueueFull(ApiError):
    pass


class BannedPrompt(ApiError):
    @property
    def banned_word(self) -> str | None:
        properties = self.body.get("properties") if isinstance(self.body, dict) else None
        word = properties.get("bannedWord") if isinstance(properties, dict) else None
        return str(word) if word is not None else None


class ServerError(ApiError):
    pass


_BY_CODE: dict[int, type[ApiError]] = {3: NoAccountAvailable, 4: InvalidRequestError, 9: SubmitFailed,
                                       23: QueueFull, 24: BannedPrompt}
_BY_STATUS: dict[int, type[ApiError]] = {400: InvalidRequestError, 401: AuthenticationError, 403: PermissionDenied,
                                         404: NotFoundError, 413: PayloadTooLarge, 422: InvalidRequestError}


def error_for(status: int, body: Any) -> ApiError:
    """The exception for an answer: by HTTP status first (honest statuses), then by the dialect's code."""
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
    message = _message_of(body) or f"HTTP {status}"
    if status in _BY_STATUS:
        return _BY_STATUS[status](message, status=status, code=code, body=body)
    if status >= 500:
        return ServerError(message, status=status, code=code, body=body)
    if status < 300 and code is not None:
        kind = _BY_CODE.get(code, SubmitFailed)
        return kind(message, status=status, code=code, body=body)
    return ApiError(message, status=status, code=code, body=body)


def _message_of(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("description", "detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if value:
                return str(value)
    if isinstance(body, str):
        return body.strip()[:500]
    return ""
