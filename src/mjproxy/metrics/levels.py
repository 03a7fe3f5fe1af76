"""Levels read when /metrics is scraped: account health, slots and queues, the webhook backlog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..domain.account import AccountState

if TYPE_CHECKING:
    from ..engine.accounts import AccountManager


class AccountLevels(Collector):
    """Per account: health state (one series per state, 1 for the current one), busy and total slots,
    queued tasks, jobs today, and gateway reconnects since start."""

    def __init__(self) -> None:
        self._manager: AccountManager | None = None

    def bind(self, manager: AccountManager) -> None:
        self._manager = manager

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily("mjproxy_account_state", "1 for the account's current health state",
                                  labels=["account", "state"])
        busy = GaugeMetricFamily("mjproxy_account_busy_slots", "Jobs running on the account",
                                 labels=["account"])
        slots = GaugeMetricFamily("mjproxy_account_slots", "Concurrent jobs the account may run (core_size)",
                                  labels=["account"])
        queued = GaugeMetricFamily("mjproxy_account_queue_depth", "Tasks waiting for a slot on the account",
                                   labels=["account"])
        today = GaugeMetricFamily("mjproxy_account_jobs_today", "Jobs sent today (UTC) on the account",
                                  labels=["account"])
        reconnects = CounterMetricFamily("mjproxy_gateway_reconnects", "Gateway connections lost and retried",
                                         labels=["account"])
        manager = self._manager
        for definition in manager.definitions() if manager is not None else ():
            view = manager.view(definition.id) if manager is not None else {}
            account = definition.id
            for candidate in AccountState:
                state.add_metric([account, candidate.value], 1.0 if view["state"] == candidate.value else 0.0)
            busy.add_metric([account], float(view["running"]))
            slots.add_metric([account], float(definition.core_size))
            queued.add_metric([account], float(view["queued"]))
            today.add_metric([account], float(view["jobsToday"]))
            runtime = manager.get(account) if manager is not None else None
            reconnects.add_metric([account], float(runtime.gateway_reconnects if runtime is not None else 0))
        yield from (state, busy, slots, queued, today, reconnects)


class WebhookLevels(Collector):
    """Webhook events by delivery status (pending is the backlog, dead the failures), refreshed by the
    scrape before it renders, since the figures come from the database."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("mjproxy_webhook_events", "Webhook events in the outbox by delivery status",
                                   labels=["status"])
        for status, count in sorted(self.counts.items()):
            family.add_metric([status], float(count))
        yield family
