"""What a REST client tells whoever watches it: each response and each rate limit.

The client knows nothing of metrics; it calls an observer if one is attached (``metrics/`` provides one).
Routes are reported by template (``/channels/{channel_id}/messages``), never with ids, so a watcher can
label by route without an unbounded number of series.
"""

from __future__ import annotations

from typing import Protocol


class RestObserver(Protocol):
    def on_response(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP exchange finished (any status, retries reported one by one)."""

    def on_rate_limited(self, route: str, scope: str) -> None:
        """Discord answered 429; ``scope`` is ``global``, ``shared``, ``user`` or ``route``."""

    def on_transport_error(self, method: str, route: str) -> None:
        """The request never got an answer (connection refused, reset, timeout)."""
