"""Errors the Midjourney layer reports upward, phrased for the task's failReason."""

from __future__ import annotations


class SubmitError(Exception):
    """Discord refused or never acknowledged an interaction; ``str(exc)`` is safe to show a client."""

    def __init__(self, reason: str, *, retryable: bool = False, account_problem: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.account_problem = account_problem
