"""Signatures receivers can check with the standard library, and the retry schedule."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import httpx
import pytest

from mjproxy.domain.clock import SystemClock
from mjproxy.engine.events import EventBus
from mjproxy.notify.outbox import OutboxDelivery, OutboxPolicy
from mjproxy.notify.signing import signature, verify
from mjproxy.store import Database
from mjproxy.store.outbox import INSERT_EVENT, DeliveryStatus, OutboxStore, event_row


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"1","status":"SUCCESS"}'
    expected = hmac.new(b"k3y", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k3y", "1700000000", body) == "sha256=" + expected
    assert verify("k3y", "1700000000", body, "sha256=" + expected)
    assert not verify("k3y", "1700000001", body, "sha256=" + expected)
    assert not verify("k3y", "1700000000", body + b" ", "sha256=" + expected)
    assert not verify("other", "1700000000", body, "sha256=" + expected)
    assert not verify("k3y", "1700000000", body, "sha256=")


@pytest.mark.parametrize(("attempts", "step"), [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (20, 600.0)])
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(attempts: int, step: float) -> None:
    policy = OutboxPolicy(retry_base_seconds=5, retry_max_seconds=600)
    assert policy.backoff_seconds(attempts, rand=lambda: 0.0) == step / 2
    assert policy.backoff_seconds(attempts, rand=lambda: 1.0) == step
    assert step / 2 <= policy.backoff_seconds(attempts) <= step


async def test_events_go_through_the_injected_http_client(any_db_url: str) -> None:
    db = await Database.connect(any_db_url)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    store = OutboxStore(db)
    clock = SystemClock()
    now = int(clock.now() * 1000)
    await store.write([(INSERT_EVENT, [event_row(event_id="e1", task_id="T", url="https://hooks.example/x",
                                                 body='{"id":"T"}', task_status="SUCCESS", created_at=now,
                                                 give_up_at=now + 60_000)])])
    delivery = OutboxDelivery(store, EventBus(), clock, OutboxPolicy(secret="k3y", poll_seconds=0.05),
                              client=client)
    delivery.start()
    try:
        for _ in range(200):
            event = await store.get("e1")
            if event is not None and event.status == DeliveryStatus.DELIVERED:
                break
            await asyncio.sleep(0.02)
    finally:
        await delivery.aclose()
    try:
        assert not client.is_closed  # a client passed in (the SSRF-guarded one) belongs to the caller
        assert len(seen) == 1
        request = seen[0]
        assert str(request.url) == "https://hooks.example/x" and request.content == b'{"id":"T"}'
        assert request.headers["X-MJProxy-Sequence"] == "1" and request.headers["X-MJProxy-Event-Id"] == "e1"
        assert verify("k3y", request.headers["X-MJProxy-Timestamp"], request.content,
                      request.headers["X-MJProxy-Signature"])
        assert request.headers["Content-Type"] == "application/json"
    finally:
        await client.aclose()
        await db.close()


async def test_a_backing_off_event_and_the_ones_behind_it_do_not_make_the_worker_spin(any_db_url: str) -> None:
    db = await Database.connect(any_db_url)
    answers = [500, 204, 204]
    seen: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-MJProxy-Sequence"])
        return httpx.Response(answers.pop(0))

    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    store = OutboxStore(db)
    clock = SystemClock()
    now = int(clock.now() * 1000)
    rows = [event_row(event_id=f"e{n}", task_id="T", url="https://hooks.example/x", body="{}",
                      task_status="IN_PROGRESS", created_at=now, give_up_at=now + 60_000) for n in (1, 2)]
    await store.write([(INSERT_EVENT, rows)])
    # The first retry comes 0.4-0.8 s later; meanwhile e2 is due but blocked behind e1.
    delivery = OutboxDelivery(store, EventBus(), clock, OutboxPolicy(retry_base_seconds=0.8, poll_seconds=5),
                              client=client)
    delivery.start()
    try:
        for _ in range(500):
            event = await store.get("e2")
            if event is not None and event.status == DeliveryStatus.DELIVERED:
                break
            await asyncio.sleep(0.02)
    finally:
        await delivery.aclose()
        await client.aclose()
        await db.close()
    assert seen == ["1", "1", "2"]
    assert delivery.scans < 20, delivery.scans  # a handful of passes, not a busy loop over the blocked event


def test_the_verification_snippet_in_the_docs_accepts_our_signatures() -> None:
    import re
    import time
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", docs, re.S)
    assert snippet is not None
    namespace: dict[str, object] = {}
    exec(snippet.group(1).replace('b"the value of webhooks.secret"', 'b"k3y"'), namespace)
    check = namespace["verify"]
    assert callable(check)
    body, now = b'{"id":"1"}', str(int(time.time()))
    headers = {"X-MJProxy-Timestamp": now, "X-MJProxy-Signature": signature("k3y", now, body)}
    assert check(headers, body)
    assert not check(headers, body + b" ")
    stale = str(int(time.time()) - 3600)
    assert not check({"X-MJProxy-Timestamp": stale, "X-MJProxy-Signature": signature("k3y", stale, body)}, body)
