"""useapi's error answers: ``{"error": <text>, …, "code": <HTTP status>}``, and its fixed messages."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError

PENDING_MOD_ERROR = ("Your Discord account has received a pending moderation message from Midjourney. Please address "
                     "this issue and POST account/midjourney/{channel}/reset before making any new API calls.")
SUBSCRIPTION_ERROR = "Account has no subscription or subscription expired"


class JobError(ApiError):
    """An answer other than 200 in useapi's shape: ``{"error", ..., "code": <HTTP status>}``."""

    def __init__(self, code: int, error: str, /, **fields: Any) -> None:
        super().__init__(code, error, {"error": error, **fields, "code": code})


def not_found(jobid: str) -> JobError:
    return JobError(404, f"Unable to locate job {jobid}")
