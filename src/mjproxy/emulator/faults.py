"""Injected REST faults for reliability tests: the next `count` matching calls fail (429 with a chosen
scope and retry_after, 5xx, any status) or are slowed down by `latency` seconds and then served normally."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

HTML_5XX = "<html><head><title>{status}</title></head><body><h1>{status} Bad Gateway</h1></body></html>"


@dataclass
class Fault:
    pattern: str | re.Pattern[str]
    status: int
    remaining: int
    retry_after: float
    scope: str
    body: Any
    method: str | None
    latency: float = 0.0  # seconds to wait before answering (or before serving normally when status is 0)
    after_processing: bool = False  # serve the request, then answer the error anyway (a lost 204)

    @property
    def passes_through(self) -> bool:
        """A pure slow-down: the request is served normally after the latency."""
        return self.status == 0

    def matches(self, method: str, route: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if isinstance(self.pattern, re.Pattern):
            return self.pattern.search(route) is not None
        return route.startswith(self.pattern)

    def response(self) -> Response:
        if self.status == 429:
            shared = self.scope == "shared"
            payload = self.body or {
                "message": "The resource is being rate limited." if shared else "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.scope == "global",
            }
            headers = {
                "Retry-After": f"{self.retry_after:g}",
                "X-RateLimit-Scope": self.scope,
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{self.retry_after:g}",
            }
            if self.scope == "global":
                headers["X-RateLimit-Global"] = "true"
            return Response(json.dumps(payload), 429, headers=headers, media_type="application/json")
        if isinstance(self.body, str):
            return Response(self.body, self.status, media_type="text/html")
        if self.body is None and self.status >= 500:
            return Response(HTML_5XX.format(status=self.status), self.status, media_type="text/html")
        payload = self.body if self.body is not None else {"message": f"{self.status}", "code": 0}
        return Response(json.dumps(payload), self.status, media_type="application/json")


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def inject(
        self,
        route: str | re.Pattern[str],
        status: int = 429,
        count: int = 1,
        retry_after: float = 0.2,
        scope: str = "user",
        body: Any = None,
        method: str | None = None,
        latency: float = 0.0,
        after_processing: bool = False,
    ) -> Fault:
        """`route` is a prefix of the path after `/api[/vN]` (e.g. "/interactions") or a compiled regex.

        ``status=0`` with a ``latency`` only slows the matching calls down (slow REST). ``after_processing``
        handles the request first and then answers the error: the caller cannot know it went through."""
        if scope not in ("user", "global", "shared"):
            raise ValueError(f"unknown rate-limit scope {scope!r}: user, global or shared")
        if status != 0 and not 400 <= status <= 599:
            raise ValueError(f"a fault status must be 0 (slow only) or 400-599, not {status}")
        if after_processing and status == 0:
            raise ValueError("after_processing needs an error status")
        fault = Fault(route, status, count, retry_after, scope, body, method, latency, after_processing)
        self.faults.append(fault)
        return fault

    def take(self, method: str, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, route):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
