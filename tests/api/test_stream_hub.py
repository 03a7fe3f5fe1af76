"""The stream hub on its own: what counts as an event, numbering, resume, fan-out limits, isolation."""

from __future__ import annotations

import asyncio
from typing import Any

from mjproxy.api.streams.hub import Cursor, StreamHub, kind_of, signature_of
from mjproxy.config import StreamSettings
from mjproxy.engine.events import EventBus, TaskChanged


def change(task_id: str, status: str, progress: str = "", image: str | None = None,
           owner: str | None = None) -> TaskChanged:
    snapshot: dict[str, Any] = {"id": task_id, "status": status, "progress": progress, "imageUrl": image}
    return TaskChanged(task_id, status, progress, snapshot, owner)


def hub(**settings: Any) -> tuple[StreamHub, EventBus]:
    bus = EventBus()
    streams = StreamHub(StreamSettings(**settings))
    streams.attach(bus)
    return streams, bus


def run_job(bus: EventBus, task_id: str, owner: str | None = None) -> None:
    for status, progress, image in [("NOT_START", "", None), ("NOT_START", "", None),  # a nonce: not news
                                    ("SUBMITTED", "", None), ("IN_PROGRESS", "0%", None),
                                    ("IN_PROGRESS", "50%", "p1"), ("IN_PROGRESS", "50%", "p2"),
                                    ("IN_PROGRESS", "50%", "p2"), ("SUCCESS", "100%", "final"),
                                    ("SUCCESS", "100%", "final")]:
        bus.publish(change(task_id, status, progress, image, owner))


def test_kinds_follow_what_a_client_can_see() -> None:
    def sig(status: str, progress: str = "", image: str | None = None) -> Any:
        return signature_of({"status": status, "progress": progress, "imageUrl": image})

    assert kind_of(None, sig("NOT_START")) == "status"
    assert kind_of(None, sig("IN_PROGRESS", "40%")) == "status"  # first heard: its status
    assert kind_of(sig("SUBMITTED"), sig("IN_PROGRESS", "0%")) == "status"
    assert kind_of(sig("IN_PROGRESS", "0%"), sig("IN_PROGRESS", "10%")) == "progress"
    assert kind_of(sig("IN_PROGRESS", "10%", "a"), sig("IN_PROGRESS", "10%", "b")) == "progress"  # preview
    assert kind_of(sig("IN_PROGRESS", "10%"), sig("IN_PROGRESS", "10%")) is None
    assert kind_of(sig("SUBMITTED"), sig("SUBMITTED")) is None
    assert kind_of(sig("IN_PROGRESS"), sig("SUCCESS", "100%")) == "success"
    assert kind_of(None, sig("FAILURE")) == "failure"
    assert kind_of(sig("MODAL"), sig("CANCEL")) == "cancel"
    assert kind_of(sig("SUCCESS"), sig("FAILURE")) is None  # terminal states are final


def test_each_task_is_numbered_from_one_and_resumes_from_its_history() -> None:
    streams, bus = hub()
    run_job(bus, "a")
    run_job(bus, "b")
    subscription, first = streams.open_task("a", None)
    assert first is not None
    assert [(e.seq, e.kind) for e in first] == [(6, "success")]  # a new client: the current state
    history = streams.open_task("a", 0)[1] or []
    assert [(e.seq, e.kind, e.snapshot["progress"]) for e in history] == [
        (1, "status", ""), (2, "status", ""), (3, "status", "0%"), (4, "progress", "50%"), (5, "progress", "50%"),
        (6, "success", "100%")]
    assert [e.seq for e in streams.open_task("a", 3)[1] or []] == [4, 5, 6]
    assert streams.open_task("a", 6)[1] == []  # it has everything
    restated = streams.open_task("a", 40)[1] or []  # numbers from an earlier server life
    assert [(e.seq, e.kind) for e in restated] == [(41, "success")]
    assert [e.seq for e in streams.open_task("a", None)[1] or []] == [41]
    assert streams.open_task("unknown", None)[1] is None  # read the store, then seed
    subscription.close()


def test_a_short_history_falls_back_to_the_current_state() -> None:
    streams, bus = hub(history_events=2)
    run_job(bus, "a")
    assert [e.seq for e in streams.open_task("a", 4)[1] or []] == [5, 6]
    assert [e.seq for e in streams.open_task("a", 1)[1] or []] == [6]  # event 2 is no longer kept


def test_seed_numbers_the_stored_state_unless_the_task_changed_meanwhile() -> None:
    streams, bus = hub()
    streams.open_task("a", None)
    seeded = streams.seed("a", {"id": "a", "status": "IN_PROGRESS", "progress": "30%", "imageUrl": None}, None, 7)
    assert [(e.seq, e.kind) for e in seeded] == [(8, "status")]
    bus.publish(change("a", "IN_PROGRESS", "40%"))
    assert [(e.seq, e.kind) for e in streams.open_task("a", 8)[1] or []] == [(9, "progress")]
    # b changed while its stored state was being read: the hub's newer event wins over the read
    streams.open_task("b", None)
    bus.publish(change("b", "SUCCESS", "100%"))
    assert [e.kind for e in streams.seed("b", {"id": "b", "status": "SUBMITTED"}, None, None)] == ["success"]


async def test_fan_out_reaches_each_subscriber_and_drops_only_the_one_that_overflows() -> None:
    streams, bus = hub(queue_size=3)
    slow, _ = streams.open_task("a", None)
    attentive, _ = streams.open_task("a", None)
    everything, _ = streams.open_all(None, None, None)
    assert streams.subscribers == 3
    received = []
    for n in range(6):
        bus.publish(change("a", "IN_PROGRESS", f"{n + 1}%"))
        event = await attentive.next()
        assert event is not None
        received.append(event.snapshot["progress"])
        while everything._items:
            await everything.next()
    assert received == [f"{n + 1}%" for n in range(6)]
    assert slow.overflowed and slow.closed and not attentive.closed and not everything.closed
    assert streams.subscribers == 2
    # what was queued before the overflow is still handed out, then the end
    assert [(await slow.next()) is not None for _ in range(3)] == [True, True, True]
    assert await slow.next() is None


async def test_next_waits_for_an_event_and_close_wakes_it() -> None:
    streams, bus = hub()
    subscription, _ = streams.open_all(None, None, None)
    waiting = asyncio.ensure_future(subscription.next())
    await asyncio.sleep(0)
    bus.publish(change("a", "SUBMITTED"))
    assert (await waiting) is not None
    waiting = asyncio.ensure_future(subscription.next())
    await asyncio.sleep(0)
    streams.close()
    assert (await waiting) is None and streams.subscribers == 0
    bus.publish(change("a", "IN_PROGRESS"))  # detached: nothing is numbered any more
    assert streams.published == 1


def test_the_all_tasks_stream_filters_by_owner_and_ids_and_resumes_by_cursor() -> None:
    streams, bus = hub()
    alice, _ = streams.open_all("alice", None, None)
    admin, _ = streams.open_all(None, None, None)
    only_b, _ = streams.open_all(None, frozenset({"b"}), None)
    run_job(bus, "a", owner="alice")
    run_job(bus, "b", owner="bob")
    assert {e.task_id for e in alice._items} == {"a"}
    assert {e.task_id for e in admin._items} == {"a", "b"}
    assert {e.task_id for e in only_b._items} == {"b"}
    cursors = [e.cursor for e in admin._items]
    assert cursors == list(range(1, 13))

    middle = Cursor(streams.epoch, 4)
    assert Cursor.parse(str(middle)) == middle and Cursor.parse("nonsense") is None
    _, replay = streams.open_all("alice", None, middle)
    assert [(e.task_id, e.seq) for e in replay] == [("a", 5), ("a", 6)]
    _, nothing = streams.open_all(None, None, streams.position)
    assert nothing == []
    _, fallback = streams.open_all("bob", None, Cursor("other-life", 3))
    assert [(e.task_id, e.kind) for e in fallback] == [("b", "success")]


def test_histories_are_bounded_by_task_count() -> None:
    streams, bus = hub(history_tasks=2, recent_events=5)
    for task_id in ("a", "b", "c"):
        bus.publish(change(task_id, "SUBMITTED"))
    assert streams.latest("a") is None and streams.latest("b") is not None and streams.latest("c") is not None
    for n in range(10):
        bus.publish(change("c", "IN_PROGRESS", f"{n}%"))
    # the all-tasks window is 5 events: an older cursor gets the current states instead
    _, fallback = streams.open_all(None, None, Cursor(streams.epoch, 2))
    assert [(e.task_id, e.snapshot["status"]) for e in fallback] == [("b", "SUBMITTED"), ("c", "IN_PROGRESS")]
