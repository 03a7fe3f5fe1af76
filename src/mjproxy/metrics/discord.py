"""Discord REST latency, statuses and 429s, per account, fed by the REST client's observer hook."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Discord answers in tens of milliseconds; uploads and slow moments take seconds.
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DiscordMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram("mjproxy_discord_request_seconds", "Discord REST round trips by route",
                                 ["account", "method", "route"], buckets=_BUCKETS, registry=registry)
        self.responses = Counter("mjproxy_discord_responses", "Discord REST answers by status code",
                                 ["account", "status"], registry=registry)
        self.rate_limited = Counter("mjproxy_discord_rate_limited", "Discord 429 answers by scope",
                                    ["account", "scope"], registry=registry)
        self.transport_errors = Counter("mjproxy_discord_transport_errors",
                                        "Discord REST requests that got no answer", ["account"],
                                        registry=registry)

    def observer(self, account: str) -> AccountRestObserver:
        return AccountRestObserver(self, account)


class AccountRestObserver:
    """The RestObserver of one account (discord/observer.py): labels every figure with the account."""

    def __init__(self, metrics: DiscordMetrics, account: str) -> None:
        self._metrics = metrics
        self._account = account

    def on_response(self, method: str, route: str, status: int, seconds: float) -> None:
        self._metrics.latency.labels(self._account, method, route).observe(seconds)
        self._metrics.responses.labels(self._account, str(status)).inc()

    def on_rate_limited(self, route: str, scope: str) -> None:
        self._metrics.rate_limited.labels(self._account, scope).inc()

    def on_transport_error(self, method: str, route: str) -> None:
        self._metrics.transport_errors.labels(self._account).inc()
