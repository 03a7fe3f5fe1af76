"""Callbacks you can trust: signed, sequenced, ordered, retried, kept across restarts, dead-lettered."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from mjproxy.api.auth import Authenticator, Principal
from mjproxy.config import Settings
from mjproxy.emulator import Emulator
from mjproxy.store.codec import OWNER_EXTRA_KEY
from tests.e2e.harness import (
    HookCall,
    HookReceiver,
    Proxy,
    account_entry,
    proxy_settings,
    running_proxy,
    start_proxy,
)

SECRET = "test-webhook-secret"
# Quick retries so that the tests run in seconds; the delays are still real, growing backoff delays.
FAST_RETRIES = {"secret": SECRET, "retry_base_seconds": 0.05, "retry_max_seconds": 0.4, "poll_seconds": 0.5}


async def callbacks(proxy: Proxy, task_id: str) -> list[dict[str, Any]]:
    response = await proxy.client.get(f"/mj/task/{task_id}/callbacks")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


async def wait_events(proxy: Proxy, task_id: str, *, status: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The task's callback events once it is finished and every one of them has this delivery status."""
    deadline = time.monotonic() + timeout
    while True:
        task = await proxy.fetch(task_id)
        events = await callbacks(proxy, task_id)
        if task["status"] in ("SUCCESS", "FAILURE", "CANCEL") and events and all(
                e["status"] == status for e in events) and events[-1]["taskStatus"] == task["status"]:
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"callbacks of {task_id} not all {status}: {events}")
        await asyncio.sleep(0.05)


def assert_in_order(calls: list[HookCall], count: int) -> None:
    """Exactly sequences 1..count, each once, in order, every one correctly signed."""
    assert [c.sequence for c in calls] == list(range(1, count + 1))
    assert all(c.signature_valid for c in calls), [c.signature for c in calls]
    assert len({c.event_id for c in calls}) == count


async def test_callbacks_are_signed_sequenced_and_in_order(emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET)
    await receiver.start()
    emulator.config.job_duration_s = 1  # a few progress updates
    try:
        async with running_proxy(proxy_settings(emulator, tmp_path, webhooks={"secret": SECRET})) as proxy:
            task_id = (await proxy.imagine("a red fox", notifyHook=receiver.url))["result"]
            events = await wait_events(proxy, task_id, status="delivered")
            final = await proxy.fetch(task_id)
    finally:
        await receiver.stop()
    calls = receiver.accepted(task_id)
    assert len(events) >= 3  # SUBMITTED, some progress, SUCCESS
    assert_in_order(calls, len(events))
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert [c.event_id for c in calls] == [e["eventId"] for e in events]
    assert all(e["attempts"] == 1 and e["lastHttpStatus"] == 204 and e["lastError"] is None for e in events)
    assert all(e["deliveredTime"] and e["nextAttemptTime"] is None for e in events)
    # The body is still exactly the midjourney-proxy Task JSON, as fetch returns it.
    assert calls[-1].body == final
    assert calls[0].body["status"] == "SUBMITTED"
    assert [c.body["status"] for c in calls] == [e["taskStatus"] for e in events]
    # Timestamp: unix seconds, and the signature covers it (a changed timestamp no longer verifies).
    from mjproxy.notify.signing import verify

    call = calls[0]
    assert call.timestamp is not None and abs(int(call.timestamp) - time.time()) < 3600
    assert call.signature is not None and call.signature.startswith("sha256=")
    assert not verify(SECRET, str(int(call.timestamp) + 1), call.raw, call.signature)
    assert not verify("another-secret", call.timestamp, call.raw, call.signature)


async def test_a_slow_receiver_for_one_task_does_not_hold_up_the_others(
        emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET, hold_prompts={"snail"})
    await receiver.start()
    # A generous request timeout: the held call must not time out (and be retried) however slow the machine.
    settings = proxy_settings(emulator, tmp_path, webhooks={"secret": SECRET}, server={"notify_timeout_seconds": 120})
    try:
        async with running_proxy(settings) as proxy:
            slow_id = (await proxy.imagine("a slow snail", notifyHook=receiver.url))["result"]
            fast_id = (await proxy.imagine("a fast hare", notifyHook=receiver.url))["result"]
            fast_events = await wait_events(proxy, fast_id, status="delivered")
            await proxy.wait_for(slow_id)
            # The slow task's first callback is still being answered; its later ones wait behind it.
            await receiver.wait_for(lambda: receiver.waiting == 1, what="the held call")
            assert [c.sequence for c in receiver.calls if c.task_id == slow_id] == []
            receiver.release()
            slow_events = await wait_events(proxy, slow_id, status="delivered")
    finally:
        await receiver.stop()
    assert_in_order(receiver.accepted(fast_id), len(fast_events))
    assert_in_order(receiver.accepted(slow_id), len(slow_events))


async def test_a_failing_receiver_gets_retries_until_it_recovers(emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET, fail_next=3)  # answers 500 three times, then recovers
    await receiver.start()
    try:
        async with running_proxy(proxy_settings(emulator, tmp_path, webhooks=FAST_RETRIES)) as proxy:
            task_id = (await proxy.imagine("a stubborn mule", notifyHook=receiver.url))["result"]
            events = await wait_events(proxy, task_id, status="delivered")
    finally:
        await receiver.stop()
    refused = receiver.refused(task_id)
    assert [c.answered for c in refused] == [500, 500, 500]
    # The first event was retried (same id, same sequence, a fresh signature each time) while the later
    # ones waited for it: strictly in order.
    assert {c.sequence for c in refused} == {1} and len({c.event_id for c in refused}) == 1
    assert all(c.signature_valid for c in refused)
    assert_in_order(receiver.accepted(task_id), len(events))
    first = events[0]
    assert first["attempts"] == 4 and first["lastHttpStatus"] == 204
    assert first["lastError"].startswith("HTTP 500")  # the last failure stays visible after success
    assert all(e["attempts"] == 1 for e in events[1:])


async def test_undelivered_callbacks_survive_a_restart(emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET, down=True)
    await receiver.start()
    settings = proxy_settings(emulator, tmp_path, webhooks=FAST_RETRIES)
    try:
        proxy = await start_proxy(settings)
        try:
            task_id = (await proxy.imagine("a ship in a bottle", notifyHook=receiver.url))["result"]
            await proxy.wait_for(task_id)
            await receiver.wait_for(lambda: len(receiver.refused(task_id)) >= 2, what="refused attempts")
            before = await callbacks(proxy, task_id)
        finally:
            await proxy.stop()
        assert before and all(e["status"] == "pending" for e in before)
        assert not receiver.accepted(task_id)
        receiver.down = False
        async with running_proxy(settings) as restarted:
            events = await wait_events(restarted, task_id, status="delivered")
    finally:
        await receiver.stop()
    assert [e["eventId"] for e in events] == [e["eventId"] for e in before]  # none lost, none added
    assert_in_order(receiver.accepted(task_id), len(events))
    assert receiver.accepted(task_id)[-1].body["status"] == "SUCCESS"


async def test_callbacks_die_after_the_max_age_and_an_admin_can_retry_them(
        emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET, down=True)
    await receiver.start()
    hooks = {**FAST_RETRIES, "max_age_seconds": 0.3}
    emulator.config.job_duration_s = 1.5  # progress keeps coming after the first callback died
    try:
        async with running_proxy(proxy_settings(emulator, tmp_path, webhooks=hooks)) as proxy:
            task_id = (await proxy.imagine("a lost letter", notifyHook=receiver.url))["result"]
            events = await wait_events(proxy, task_id, status="dead")
            first, rest = events[0], events[1:]
            assert first["attempts"] >= 2 and first["lastHttpStatus"] == 503
            assert first["lastError"] == "HTTP 503: receiver unavailable"
            assert rest and all(e["attempts"] == 0 and "earlier callback" in e["lastError"] for e in rest)
            assert {c.sequence for c in receiver.calls} == {1}  # nothing after a dead event was sent

            listed = await proxy.client.get("/mj/admin/callbacks", params={"status": "dead"})
            assert listed.status_code == 200
            assert [e["eventId"] for e in listed.json()] == [e["eventId"] for e in events]
            assert listed.headers["X-Total-Count"] == str(len(events))

            not_dead = await proxy.client.post("/mj/admin/callbacks/no-such-event/retry")
            assert not_dead.status_code == 404
            receiver.down = False
            retried = await proxy.client.post(f"/mj/admin/callbacks/{first['eventId']}/retry")
            assert retried.status_code == 200, retried.text
            assert retried.json() == {"taskId": task_id, "revived": len(events)}
            delivered = await wait_events(proxy, task_id, status="delivered")
            again = await proxy.client.post(f"/mj/admin/callbacks/{first['eventId']}/retry")
            assert again.status_code == 409
            empty = await proxy.client.get("/mj/admin/callbacks")
            assert empty.json() == []
    finally:
        await receiver.stop()
    assert_in_order(receiver.accepted(task_id), len(delivered))


async def test_unsigned_without_a_secret_and_callback_routes_need_credentials(
        emulator: Emulator, tmp_path: Path, hooks: HookReceiver) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "user-secret", "admin_secret": "boss"})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = "user-secret"
        task_id = (await proxy.imagine("a quiet lake", notifyHook=hooks.url))["result"]
        events = await wait_events(proxy, task_id, status="delivered")
        assert (await proxy.client.get("/mj/task/nope/callbacks")).status_code == 404
        assert (await proxy.client.get("/mj/admin/callbacks")).status_code == 403  # a user credential
        anonymous = await proxy.client.get(f"/mj/task/{task_id}/callbacks", headers={"mj-api-secret": "wrong"})
        assert anonymous.status_code == 401
        admin = await proxy.client.get("/mj/admin/callbacks", headers={"mj-api-secret": "boss"},
                                       params={"status": "delivered"})
        assert admin.status_code == 200 and len(admin.json()) == len(events)
    calls = [c for c in hooks.calls if c.task_id == task_id]
    assert [c.sequence for c in calls] == list(range(1, len(events) + 1))
    assert all(c.signature is None and c.timestamp and c.event_id for c in calls)
    assert json.loads(calls[-1].raw)["status"] == "SUCCESS"


async def test_a_task_failed_at_start_up_still_gets_its_callback(emulator: Emulator, tmp_path: Path) -> None:
    receiver = HookReceiver(secret=SECRET)
    await receiver.start()
    emulator.config.job_duration_s = 30
    try:
        proxy = await start_proxy(proxy_settings(emulator, tmp_path, webhooks={"secret": SECRET}))
        try:
            task_id = (await proxy.imagine("an orphaned job", notifyHook=receiver.url))["result"]
            await proxy.wait_for(task_id, statuses=("IN_PROGRESS",))
        finally:
            await proxy.stop()
        # Restarted without the account that ran the task (an operator removed it while mjproxy was down):
        # recovery fails the task, and says so to the hook.
        with sqlite3.connect(tmp_path / "mjproxy.db") as db:
            db.execute("DELETE FROM accounts")
        other = emulator.add_account("other")
        settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(other)], webhooks={"secret": SECRET})
        async with running_proxy(settings) as restarted:
            events = await wait_events(restarted, task_id, status="delivered")
    finally:
        await receiver.stop()
    calls = receiver.accepted(task_id)
    assert_in_order(calls, len(events))
    assert calls[-1].body["status"] == "FAILURE"
    assert "no longer configured" in calls[-1].body["failReason"]


class _TwoKeys(Authenticator):
    """Two user keys, as API keys (issue 5, security) will provide them; "boss" is the admin."""

    async def authenticate(self, credential: str) -> Principal | None:
        return {"key-a": Principal("user", "a"), "key-b": Principal("user", "b"),
                "boss": Principal("admin")}.get(credential)


async def test_a_user_key_sees_and_cancels_only_its_own_tasks(
        emulator: Emulator, tmp_path: Path, hooks: HookReceiver) -> None:
    emulator.config.job_duration_s = 30
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        task_id = (await proxy.imagine("a private matter", notifyHook=hooks.url))["result"]
        await proxy.wait_for(task_id, statuses=("SUBMITTED", "IN_PROGRESS"))
        repo = proxy.runtime.service.repo
        stored = await repo.get(task_id)
        assert stored is not None
        live = proxy.runtime.tracker.live(task_id)
        assert live is not None
        # What submitting with key-a will stamp; on the live task too, so its next change keeps it.
        live.extra[OWNER_EXTRA_KEY] = stored.extra[OWNER_EXTRA_KEY] = "a"
        await repo.update(stored)
        proxy.server.config.app.state.authenticator = _TwoKeys(Settings().server)

        def as_key(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        other = await proxy.client.get(f"/mj/task/{task_id}/callbacks", headers=as_key("key-b"))
        assert other.status_code == 404
        refused = await proxy.client.post(f"/mj/task/{task_id}/cancel", headers=as_key("key-b"))
        assert refused.status_code == 404 and refused.json()["code"] == 3
        assert (await proxy.client.get("/mj/admin/callbacks", headers=as_key("key-a"))).status_code == 403
        own = await proxy.client.get(f"/mj/task/{task_id}/callbacks", headers=as_key("key-a"))
        assert own.status_code == 200 and own.json() and own.json()[0]["taskStatus"] == "SUBMITTED"
        cancelled = await proxy.client.post(f"/mj/task/{task_id}/cancel", headers=as_key("key-a"))
        assert cancelled.json()["code"] == 1
        admin = await proxy.client.get(f"/mj/task/{task_id}/callbacks", headers=as_key("boss"))
        assert admin.status_code == 200 and admin.json()[-1]["taskStatus"] == "CANCEL"
