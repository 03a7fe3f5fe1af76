"""Notify hooks are delivered through the SSRF guard; the operator's own hook is trusted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.engine.events import EventBus, TaskChanged
from mjproxy.net.guard import FetchPolicy
from mjproxy.notify.webhook import WebhookNotifier
from tests.e2e.harness import HookReceiver


@pytest.fixture
async def receiver() -> AsyncIterator[HookReceiver]:
    hooks = HookReceiver()
    await hooks.start()
    try:
        yield hooks
    finally:
        await hooks.stop()


def change(task_id: str, hook: str) -> TaskChanged:
    task = Task(id=task_id, action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED, notify_hook=hook, submit_time=1)
    return TaskChanged.of(task)


async def settle(notifier: WebhookNotifier, expected: int) -> None:
    for _ in range(500):
        if notifier.delivered + notifier.failed >= expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the notifier did not finish")


async def test_a_loopback_hook_is_refused_at_delivery_unless_allowed(receiver: HookReceiver) -> None:
    bus = EventBus()
    notifier = WebhookNotifier(bus, fetch_policy=FetchPolicy())
    try:
        bus.publish(change("1", receiver.url))
        await settle(notifier, 1)
    finally:
        await notifier.aclose()
    assert (notifier.delivered, notifier.failed) == (0, 1) and receiver.bodies == []

    allowed = WebhookNotifier(bus, fetch_policy=FetchPolicy.from_entries(["127.0.0.1/32"]))
    try:
        bus.publish(change("2", receiver.url))
        await settle(allowed, 1)
    finally:
        await allowed.aclose()
    assert allowed.delivered == 1 and [b["id"] for b in receiver.bodies] == ["2"]


async def test_the_operators_hook_skips_the_guard(receiver: HookReceiver) -> None:
    bus = EventBus()
    notifier = WebhookNotifier(bus, fetch_policy=FetchPolicy(), trusted_hooks=frozenset({receiver.url}))
    try:
        bus.publish(change("3", receiver.url))
        bus.publish(change("4", receiver.url.replace("/hook", "/other")))
        await settle(notifier, 2)
    finally:
        await notifier.aclose()
    assert [b["id"] for b in receiver.bodies] == ["3"] and notifier.failed == 1
