"""The API's error type: an honest HTTP status, a clear message, and the body a dialect wants."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with an honest HTTP status and a clear message."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"detail": message}
