"""Callbacks are delivered through the SSRF guard; the operator's own hook is trusted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mjproxy.domain.clock import SystemClock
from mjproxy.engine.events import EventBus
from mjproxy.net.guard import FetchPolicy, GuardedClient
from mjproxy.notify.outbox import OutboxDelivery, OutboxPolicy
from mjproxy.store import Database
from mjproxy.store.outbox import INSERT_EVENT, DeliveryStatus, OutboxEvent, OutboxStore, event_row
from tests.e2e.harness import HookReceiver


@pytest.fixture
async def receiver() -> AsyncIterator[HookReceiver]:
    hooks = HookReceiver()
    await hooks.start()
    try:
        yield hooks
    finally:
        await hooks.stop()


async def deliver(urls: dict[str, str], policy: FetchPolicy, trusted: frozenset[str] = frozenset()
                  ) -> dict[str, OutboxEvent]:
    """Store one event per (event id -> url), run the delivery worker until each is settled, return them."""
    db = await Database.connect("sqlite+aiosqlite:///:memory:")
    store, clock = OutboxStore(db), SystemClock()
    now = int(clock.now() * 1000)
    rows = [event_row(event_id=event_id, task_id=event_id, url=url, body=f'{{"id":"{event_id}"}}',
                      task_status="SUCCESS", created_at=now, give_up_at=now + 300)
            for event_id, url in urls.items()]
    await store.write([(INSERT_EVENT, rows)])
    delivery = OutboxDelivery(store, EventBus(), clock, OutboxPolicy(poll_seconds=0.05, retry_base_seconds=1),
                              guard=GuardedClient(policy), trusted_urls=trusted)
    delivery.start()
    settled: dict[str, OutboxEvent] = {}
    try:
        for _ in range(300):
            for event_id in urls:
                event = await store.get(event_id)
                if event is not None and event.attempts > 0:
                    settled[event_id] = event
            if len(settled) == len(urls):
                break
            await asyncio.sleep(0.02)
    finally:
        await delivery.aclose()
        await db.close()
    return settled


async def test_a_loopback_hook_is_refused_at_delivery_unless_allowed(receiver: HookReceiver) -> None:
    refused = await deliver({"1": receiver.url}, FetchPolicy())
    assert refused["1"].status != DeliveryStatus.DELIVERED and "FetchRefused" in (refused["1"].last_error or "")
    assert receiver.bodies == []

    allowed = await deliver({"2": receiver.url}, FetchPolicy.from_entries(["127.0.0.1/32"]))
    assert allowed["2"].status == DeliveryStatus.DELIVERED
    assert [b["id"] for b in receiver.bodies] == ["2"]


async def test_the_operators_hook_skips_the_guard(receiver: HookReceiver) -> None:
    other = receiver.url.replace("/hook", "/other")
    settled = await deliver({"3": receiver.url, "4": other}, FetchPolicy(), trusted=frozenset({receiver.url}))
    assert settled["3"].status == DeliveryStatus.DELIVERED
    assert settled["4"].status != DeliveryStatus.DELIVERED
    assert [b["id"] for b in receiver.bodies] == ["3"]
