"""useapi's error answers: ``{"error": <text>, …, "code": <HTTP status>}``."""

from __future__ import annotations

from typing import Any

from ...engine.jobs import JobRefused
from ..errors import ApiError


class JobError(ApiError):
    """An answer other than 200 in useapi's shape: ``{"error", ..., "code": <HTTP status>}``."""

    def __init__(self, code: int, error: str, /, **fields: Any) -> None:
        super().__init__(code, error, {"error": error, **fields, "code": code})

    @classmethod
    def of(cls, refused: JobRefused) -> JobError:
        """The engine's refusal of a job, answered in useapi's shape."""
        return cls(refused.status, refused.error, **refused.fields)
