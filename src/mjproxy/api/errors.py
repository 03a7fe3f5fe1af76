"""The API's error type, and the one place that knows each face's error shape.

Every face answers bad input in its own dialect: the midjourney-proxy submit routes with a SubmitResultVO of
code 4, useapi's ``/v2`` with ``{"error", "code"}``, everything else with ``{"detail"}``. Request validation,
the input guard (api/input_guard.py) and the framework's own errors all go through ``error_body`` so that a
client of one face never meets another face's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

# The midjourney-proxy routes whose answers are SubmitResultVOs (their validation errors are code 4).
SUBMIT_MARKERS = ("/submit/",)
USEAPI_PREFIX = "/v2/"


class ApiError(Exception):
    """An error with an honest HTTP status and a clear message."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"detail": message}


def is_submit_route(path: str) -> bool:
    return any(marker in path for marker in SUBMIT_MARKERS)


def is_useapi_route(path: str) -> bool:
    return path.startswith(USEAPI_PREFIX) or path == USEAPI_PREFIX.rstrip("/")


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    """The body a face answers an error with (``path`` names the face)."""
    if is_useapi_route(path):
        return {"error": message, "code": status}
    if is_submit_route(path):
        return {"code": 4, "description": message, "result": None, "properties": {}}
    return {"detail": message}


def error_response(path: str, status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(path, status, message), status_code=status, headers=headers)
