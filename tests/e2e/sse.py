"""A small SSE reader for the tests: the wire format parsed line by line, as an EventSource client does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    event: str = "message"
    id: str | None = None
    data: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Stream:
    response: httpx.Response
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: bool = False  # the server closed the stream

    async def iterate(self) -> AsyncIterator[Event]:
        current = Event()
        data: list[str] = []
        async for line in self.response.aiter_lines():
            if line == "":
                if data or current.id is not None or current.event != "message":
                    current.data = "\n".join(data)
                    self.events.append(current)
                    yield current
                current, data = Event(), []
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                elif name == "event":
                    current.event = value
                elif name == "id":
                    current.id = value
        self.ended = True

    async def collect(self, until: Callable[[Event], bool] | None = None, timeout: float = 30.0) -> list[Event]:
        """Read until the server ends the stream (or ``until`` says stop); the events read by this call."""
        start = len(self.events)

        async def read() -> None:
            async for event in self.iterate():
                if until is not None and until(event):
                    return

        await asyncio.wait_for(read(), timeout)
        return self.events[start:]


@asynccontextmanager
async def open_stream(client: httpx.AsyncClient, path: str, *, headers: dict[str, str] | None = None,
                      params: dict[str, str] | None = None) -> AsyncIterator[Stream]:
    async with client.stream("GET", path, headers=headers, params=params,
                             timeout=httpx.Timeout(30.0, read=60.0)) as response:
        yield Stream(response)
