"""``wait()`` and the stream reader against served samples of the task stream (CONTRACTS.md, SSE).

The server's stream route is another helper's work; until it is in, these tests serve the stream exactly as
the contract writes it (named events, per-task ids, ``: ping`` comments, closing after the terminal event)
from a small real HTTP server, including a dropped connection that must be resumed with Last-Event-ID, a
server without the route (404) and one whose stream keeps failing (polling fallback).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mjproxy.client import AsyncClient, Client, StreamUnavailable, TaskStatus
from tests.e2e.harness import serve_in_loop

TASK_ID = "1763730000000000"


def task(status: str, progress: str = "") -> dict[str, Any]:
    return {"id": TASK_ID, "action": "IMAGINE", "status": status, "progress": progress, "prompt": "a fox",
            "promptEn": "", "description": "/imagine a fox", "state": None, "submitTime": 1, "startTime": None,
            "finishTime": None, "imageUrl": None, "imageUrls": [], "failReason": None, "botType": "MID_JOURNEY",
            "buttons": [], "parentId": None, "properties": {}}


def frame(event: str, event_id: int, body: dict[str, Any]) -> bytes:
    return f"event: {event}\nid: {event_id}\ndata: {json.dumps(body)}\n\n".encode()


# The whole life of the task as the one-task stream tells it.
EVENTS = [("status", task("SUBMITTED")), ("status", task("IN_PROGRESS", "0%")),
          ("progress", task("IN_PROGRESS", "46%")), ("progress", task("IN_PROGRESS", "93%")),
          ("success", task("SUCCESS", "100%"))]


@dataclass
class SampleServer:
    """mode "stream": serves EVENTS, dropping the first connection after ``drop_after`` events;
    "missing": no stream route (404); "broken": the stream answers 503. Fetch walks through EVENTS."""

    mode: str = "stream"
    drop_after: int = 2
    resumed_from: list[str | None] = field(default_factory=list)
    fetches: int = 0
    url: str = ""

    def app(self) -> Starlette:
        async def fetch(request: Request) -> Response:
            self.fetches += 1
            return JSONResponse(EVENTS[min(self.fetches - 1, len(EVENTS) - 1)][1])

        async def events(request: Request) -> Response:
            if self.mode == "missing":
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            if self.mode == "broken":
                return JSONResponse({"detail": "unavailable"}, status_code=503)
            last = request.headers.get("last-event-id")
            self.resumed_from.append(last)
            start = int(last) if last else 0
            first_connection = len(self.resumed_from) == 1

            async def body() -> AsyncIterator[bytes]:
                yield b": ping\n\n"
                for number, (name, state) in enumerate(EVENTS[start:], start=start + 1):
                    if first_connection and number > self.drop_after:
                        return  # the connection drops without a terminal event
                    yield frame(name, number, state)
                    yield b"event: unknown-kind\ndata: {}\n\n"  # must be ignored
            return StreamingResponse(body(), media_type="text/event-stream")

        return Starlette(routes=[Route(f"/mj/task/{TASK_ID}/fetch", fetch),
                                 Route(f"/mj/task/{TASK_ID}/events", events)])


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a SampleServer in a thread of its own (the sync client blocks the test's thread)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: list[Any] = []

    def start(sample: SampleServer) -> SampleServer:
        server, job, port = asyncio.run_coroutine_threadsafe(serve_in_loop(sample.app()), loop).result(20)
        servers.append((server, job))
        sample.url = f"http://127.0.0.1:{port}"
        return sample

    yield start

    async def stop() -> None:
        for server, job in servers:
            server.should_exit = True
            await asyncio.wait_for(job, 10)

    asyncio.run_coroutine_threadsafe(stop(), loop).result(20)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_wait_reads_the_stream_and_resumes_after_a_drop(serve: Any) -> None:
    sample = serve(SampleServer())
    seen: list[str] = []
    with Client(sample.url) as mj:
        done = mj.wait(TASK_ID, timeout=20, on_update=lambda t: seen.append(f"{t.status.value} {t.progress}"))
    assert done.status == TaskStatus.SUCCESS
    assert sample.resumed_from == [None, "2"], "the second connection resumes after the last event seen"
    assert sample.fetches == 1, "the stream, not polling, carried the task"
    assert seen == ["SUBMITTED ", "SUBMITTED ", "IN_PROGRESS 0%", "IN_PROGRESS 46%", "IN_PROGRESS 93%",
                    "SUCCESS 100%"]


async def test_async_wait_reads_the_stream_and_resumes_after_a_drop(serve: Any) -> None:
    sample = serve(SampleServer(drop_after=3))
    seen: list[str] = []

    async def record(t: Any) -> None:
        seen.append(t.progress)

    async with AsyncClient(sample.url) as mj:
        done = await mj.wait(TASK_ID, timeout=20, on_update=record)
    assert done.status == TaskStatus.SUCCESS
    assert sample.resumed_from == [None, "3"] and sample.fetches == 1
    assert seen == ["", "", "0%", "46%", "93%", "100%"]


def test_events_yields_typed_events_with_ids(serve: Any) -> None:
    sample = serve(SampleServer(drop_after=99))
    with Client(sample.url) as mj:
        events = list(mj.events(TASK_ID))
    assert [(e.event, e.id, e.task.progress) for e in events] == [
        ("status", "1", ""), ("status", "2", "0%"), ("progress", "3", "46%"), ("progress", "4", "93%"),
        ("success", "5", "100%")]
    with Client(sample.url) as mj:
        assert [e.id for e in mj.events(TASK_ID, last_event_id="3")] == ["4", "5"]


@pytest.mark.parametrize("mode", ["missing", "broken"])
def test_wait_falls_back_to_polling(serve: Any, mode: str) -> None:
    sample = serve(SampleServer(mode=mode))
    with Client(sample.url) as mj:
        done = mj.wait(TASK_ID, timeout=20, poll_interval=0.01)
        assert done.status == TaskStatus.SUCCESS
        assert sample.fetches == len(EVENTS)
        if mode == "missing":
            with pytest.raises(StreamUnavailable):
                list(mj.events(TASK_ID))


@pytest.mark.parametrize("mode", ["missing", "broken"])
async def test_async_wait_falls_back_to_polling(serve: Any, mode: str) -> None:
    sample = serve(SampleServer(mode=mode))
    async with AsyncClient(sample.url) as mj:
        done = await mj.wait(TASK_ID, timeout=20, poll_interval=0.01)
    assert done.status == TaskStatus.SUCCESS and sample.fetches == len(EVENTS)
