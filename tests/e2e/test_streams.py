"""Live task streams (SSE) end to end: event order, Last-Event-ID resume, isolation per key, disconnects,
slow readers, against the real server, the emulator and the store."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjproxy.api.streams.hub import StreamHub
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, button, proxy_settings, running_emulator, running_proxy
from tests.e2e.sse import Event, open_stream

ADMIN_SECRET = "admin-secret-for-the-stream-tests"
ORDER = {"NOT_START": 0, "SUBMITTED": 1, "IN_PROGRESS": 2, "SUCCESS": 3, "FAILURE": 3, "CANCEL": 3}


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    # Long enough for a client to connect while the job runs and see its progress steps one by one.
    async with running_emulator(job_duration_s=1.5, progress_steps=[0, 25, 50, 75]) as emu:
        yield emu


@pytest.fixture
async def proxy(slow_emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    async with running_proxy(proxy_settings(slow_emulator, tmp_path, streams={"ping_seconds": 0.2})) as started:
        yield started


def hub_of(proxy: Proxy) -> StreamHub:
    hub: StreamHub = proxy.server.config.app.state.streams
    return hub


async def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def check_order(events: list[Event], task_id: str, *, cursors: bool = False) -> None:
    """Ids rise (by one on a task's own stream), statuses never go back, progress never goes down, and the
    events end with one success."""
    if cursors:
        positions = [int((e.id or "").rpartition("-")[2]) for e in events]
        assert positions == sorted(set(positions)), positions
    else:
        ids = [int(e.id or 0) for e in events]
        assert ids == list(range(ids[0], ids[0] + len(ids))), ids
    tasks = [e.json for e in events]
    assert all(t["id"] == task_id for t in tasks)
    ranks = [ORDER[t["status"]] for t in tasks]
    assert ranks == sorted(ranks), [t["status"] for t in tasks]
    progress = [int(t["progress"].rstrip("%") or 0) for t in tasks if t["status"] == "IN_PROGRESS"]
    assert progress == sorted(progress), progress
    for event, task in zip(events, tasks, strict=True):
        expected = {"SUCCESS": "success", "FAILURE": "failure", "CANCEL": "cancel"}.get(task["status"])
        assert event.event == (expected or event.event)
        if expected is None:
            assert event.event in ("status", "progress")
    assert events[-1].event == "success" and [e.event for e in events].count("success") == 1


async def test_imagine_then_upscale_events_arrive_in_order_and_the_stream_ends(proxy: Proxy) -> None:
    submitted = await proxy.imagine("a red fox in the snow")
    task_id = submitted["result"]
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        events = await stream.collect()
    assert stream.ended, "the one-task stream closes after its terminal event"
    check_order(events, task_id)
    assert events[0].event == "status"  # the current state comes first
    assert "progress" in [e.event for e in events]
    statuses = [e.json["status"] for e in events]
    assert "IN_PROGRESS" in statuses
    # data: is the Task JSON exactly as fetch answers it
    assert events[-1].json == await proxy.fetch(task_id)

    grid = events[-1].json
    upscale = await proxy.client.post("/mj/submit/action", json={"taskId": task_id, "customId": button(grid, "U1")})
    child = upscale.json()["result"]
    async with open_stream(proxy.client, f"/mj/task/{child}/events") as stream:
        child_events = await stream.collect()
    check_order(child_events, child)
    final = child_events[-1].json
    assert final["action"] == "UPSCALE" and final["parentId"] == task_id
    assert final == await proxy.fetch(child)


async def test_a_finished_task_streams_its_final_state_once_and_closes(proxy: Proxy) -> None:
    task_id = (await proxy.imagine("a quiet harbour"))["result"]
    done = await proxy.wait_for(task_id)
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
        events = await stream.collect()
    assert [e.event for e in events] == ["success"] and events[0].json == done
    # a client that already has that event gets an empty stream that ends at once
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events",
                           headers={"Last-Event-ID": str(events[0].id)}) as stream:
        assert await stream.collect(timeout=5) == []
    assert stream.ended


async def test_last_event_id_resumes_without_gaps(proxy: Proxy) -> None:
    task_id = (await proxy.imagine("a lighthouse at dusk"))["result"]
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
        first = await stream.collect(until=lambda e: e.json["status"] == "IN_PROGRESS")
    # disconnected mid-job; everything that happens now is missed ...
    await proxy.wait_for(task_id)
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events",
                           headers={"Last-Event-ID": str(first[-1].id)}) as stream:
        rest = await stream.collect()
    # ... and replayed on resume: together exactly one gap-free sequence, as one uninterrupted client saw it
    check_order(first + rest, task_id)
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events",
                           params={"lastEventId": str(first[0].id)}) as stream:
        again = await stream.collect()
    assert [e.id for e in again] == [e.id for e in first[1:] + rest]  # the query parameter works the same
    assert [e.data for e in again] == [e.data for e in first[1:] + rest]


async def test_resume_beyond_the_kept_history_sends_the_current_state(slow_emulator: Emulator,
                                                                      tmp_path: Path) -> None:
    settings = proxy_settings(slow_emulator, tmp_path, streams={"history_events": 2})
    async with running_proxy(settings) as proxy:
        task_id = (await proxy.imagine("a kept-short history"))["result"]
        async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
            events = await stream.collect()
        assert len(events) > 3
        async with open_stream(proxy.client, f"/mj/task/{task_id}/events",
                               headers={"Last-Event-ID": events[0].id or ""}) as stream:
            resumed = await stream.collect()
        # the history no longer reaches back to event 1: the current (final) state is sent instead
        assert [(e.id, e.event, e.data) for e in resumed] == [(events[-1].id, "success", events[-1].data)]

        # after a restart the numbers begin again; a client holding a higher id still gets the current
        # state, numbered past what it holds
        async with open_stream(proxy.client, f"/mj/task/{task_id}/events",
                               headers={"Last-Event-ID": "500"}) as stream:
            restated = await stream.collect()
        assert [(e.id, e.event) for e in restated] == [("501", "success")]
        assert restated[0].json == await proxy.fetch(task_id)


async def test_the_all_tasks_stream_carries_every_task_and_resumes_by_cursor(proxy: Proxy) -> None:
    async with open_stream(proxy.client, "/mj/task/events") as stream:
        one = (await proxy.imagine("first of two"))["result"]
        two = (await proxy.imagine("second of two"))["result"]
        finished: set[str] = set()

        def both_done(event: Event) -> bool:
            if event.event == "success":
                finished.add(event.json["id"])
            return finished == {one, two}

        events = await stream.collect(until=both_done)
    for task_id in (one, two):
        mine = [e for e in events if e.json["id"] == task_id]
        check_order(mine, task_id, cursors=True)
        assert mine[-1].json == await proxy.fetch(task_id)
    assert len({e.id for e in events}) == len(events)  # every cursor distinct

    # resume from the middle: exactly the events after that cursor
    middle = len(events) // 2
    async with open_stream(proxy.client, "/mj/task/events",
                           headers={"Last-Event-ID": events[middle].id or ""}) as stream:
        replayed = await stream.collect(until=lambda e: e.id == events[-1].id)
    assert [(e.id, e.data) for e in replayed] == [(e.id, e.data) for e in events[middle + 1:]]

    # ?ids= narrows it, and without a cursor starts with the listed tasks' current state
    async with open_stream(proxy.client, "/mj/task/events", params={"ids": two}) as stream:
        current = await stream.collect(until=lambda e: True)
    assert [(e.event, e.json) for e in current] == [("success", await proxy.fetch(two))]

    # a cursor of another server life: the current state of every task it remembers
    async with open_stream(proxy.client, "/mj/task/events", headers={"Last-Event-ID": "gone-12"}) as stream:
        fallback = await stream.collect(until=lambda e: len(stream.events) == 2)
    assert {e.json["id"]: e.event for e in fallback} == {one: "success", two: "success"}


async def test_keep_alive_comments_are_sent(proxy: Proxy) -> None:
    async with open_stream(proxy.client, "/mj/task/events") as stream:
        with pytest.raises(TimeoutError):
            await stream.collect(timeout=0.7)
    assert "ping" in stream.comments


async def test_client_disconnect_frees_the_subscriber(proxy: Proxy) -> None:
    hub = hub_of(proxy)
    task_id = (await proxy.imagine("a long watched job"))["result"]
    assert hub.subscribers == 0
    async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
        await stream.collect(until=lambda e: True)
        async with open_stream(proxy.client, "/mj/task/events") as everything:
            await wait_until(lambda: hub.subscribers == 2)
            assert everything.response.status_code == 200
    # both clients went away before the job finished: the server notices and lets both go
    await wait_until(lambda: hub.subscribers == 0)
    await proxy.wait_for(task_id)
    assert hub.subscribers == 0


async def test_a_slow_reader_is_dropped_and_does_not_stall_others(tmp_path: Path) -> None:
    # Many progress steps and long prompts: megabytes of events, more than the socket buffers between the
    # server and a reader that never reads can hold.
    async with running_emulator(job_duration_s=2, progress_steps=list(range(0, 100))) as emulator, \
            running_proxy(proxy_settings(emulator, tmp_path, streams={"queue_size": 32})) as proxy:
        hub = hub_of(proxy)
        # A reader that never reads (a plain socket with a tiny receive buffer, outside the event loop): the
        # buffers between it and the server fill, then its queue, and then it is disconnected.
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        slow.connect(("127.0.0.1", proxy.server.servers[0].sockets[0].getsockname()[1]))
        slow.sendall(b"GET /mj/task/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        await wait_until(lambda: hub.subscribers == 1)
        try:
            async with open_stream(proxy.client, "/mj/task/events") as fast:
                await wait_until(lambda: hub.subscribers == 2)
                ids = [(await proxy.imagine(f"burst {n} " + "and so on " * 350))["result"] for n in range(3)]
                finished: set[str] = set()

                def all_done(event: Event) -> bool:
                    if event.event == "success":
                        finished.add(event.json["id"])
                    return finished == set(ids)

                seen = await fast.collect(until=all_done, timeout=60)
                assert not fast.ended, "the attentive reader was never disconnected"
            # the attentive reader heard every task through to the end, in order, with nothing lost
            for task_id in ids:
                check_order([e for e in seen if e.json["id"] == task_id], task_id, cursors=True)
            # and the one that did not read was let go (its queue overflowed; the bus never waited)
            await wait_until(lambda: hub.subscribers == 0)
        finally:
            slow.close()


async def test_unknown_task_and_bad_resume_ids_are_refused(proxy: Proxy) -> None:
    missing = await proxy.client.get("/mj/task/1234567890/events")
    assert missing.status_code == 404
    task_id = (await proxy.imagine("refusals"))["result"]
    bad = await proxy.client.get(f"/mj/task/{task_id}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["detail"]
    bad_cursor = await proxy.client.get("/mj/task/events", headers={"Last-Event-ID": "no cursor"})
    assert bad_cursor.status_code == 400
    await proxy.wait_for(task_id)


@pytest.fixture
async def secured(slow_emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = proxy_settings(slow_emulator, tmp_path, server={"admin_secret": ADMIN_SECRET})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = ADMIN_SECRET
        yield proxy


async def new_key(proxy: Proxy, name: str) -> httpx.AsyncClient:
    created = (await proxy.client.post("/mj/api-key/create", json={"name": name, "scope": "user"})).json()
    return httpx.AsyncClient(base_url=proxy.base_url, timeout=30,
                             headers={"Authorization": f"Bearer {created['key']}"})


async def test_each_key_hears_only_its_own_tasks(secured: Proxy) -> None:
    proxy = secured
    alice, bob = await new_key(proxy, "alice"), await new_key(proxy, "bob")
    try:
        assert (await httpx.AsyncClient(base_url=proxy.base_url).get("/mj/task/events")).status_code == 401
        async with open_stream(bob, "/mj/task/events") as bobs_stream, \
                open_stream(proxy.client, "/mj/task/events") as admins_stream:
            alices = (await alice.post("/mj/submit/imagine", json={"prompt": "alice's"})).json()["result"]
            bobs = (await bob.post("/mj/submit/imagine", json={"prompt": "bob's"})).json()["result"]
            # alice's task is as if it did not exist for bob: 404 on its stream, exactly like fetch
            assert (await bob.get(f"/mj/task/{alices}/events")).status_code == 404
            assert (await bob.get(f"/mj/task/{alices}/fetch")).status_code == 404
            async with open_stream(alice, f"/mj/task/{alices}/events") as own:
                assert (await own.collect())[-1].event == "success"
            bob_saw = await bobs_stream.collect(until=lambda e: e.event == "success")
            admin_saw: set[str] = set()
            await admins_stream.collect(
                until=lambda e: e.event == "success" and admin_saw.add(e.json["id"]) is None
                and admin_saw == {alices, bobs})
        assert {e.json["id"] for e in bob_saw} == {bobs}
        # asking for alice's id explicitly changes nothing
        await proxy.wait_for(alices)
        async with open_stream(bob, "/mj/task/events", params={"ids": f"{alices},{bobs}"}) as narrowed:
            listed = await narrowed.collect(until=lambda e: True)
        assert [e.json["id"] for e in listed] == [bobs]
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_after_a_restart_a_stream_starts_from_the_stored_state(slow_emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(slow_emulator, tmp_path)
    async with running_proxy(settings) as proxy:
        task_id = (await proxy.imagine("before the restart"))["result"]
        async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
            before = await stream.collect()
    async with running_proxy(settings) as proxy:
        assert hub_of(proxy).latest(task_id) is None  # this server life has not heard of it
        async with open_stream(proxy.client, f"/mj/task/{task_id}/events") as stream:
            fresh = await stream.collect()
        assert [(e.id, e.event) for e in fresh] == [("1", "success")]
        assert fresh[0].json == await proxy.fetch(task_id) == before[-1].json
        # the all-tasks stream with ?ids= reads it from the store too
        async with open_stream(proxy.client, "/mj/task/events", params={"ids": task_id}) as stream:
            listed = await stream.collect(until=lambda e: True)
        assert [(e.event, e.json) for e in listed] == [("success", fresh[0].json)]
