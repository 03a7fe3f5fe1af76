"""Task streams (``text/event-stream``, CONTRACTS.md "SSE task streams") read with httpx-sse.

Framing is httpx-sse's; this module turns each event into a ``TaskEvent`` and holds the rules ``wait()``
follows: which answers mean "this server has no streams" (fall back to polling) and how many broken
connections in a row are too many.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

from .calls import checked
from .models import Task, TaskEvent

EVENT_NAMES = frozenset({"status", "progress", "success", "failure", "cancel"})
# A server without the stream routes answers 404 (route unknown) or 405 (the path exists for another method).
STREAM_UNAVAILABLE = frozenset({404, 405})
# Broken connections in a row before wait() gives up on the stream and polls instead.
MAX_STREAM_FAILURES = 3
# The server sends ": ping" every 15 s; a read that waits much longer than that means the connection is dead.
READ_TIMEOUT = 45.0


class StreamUnavailable(Exception):
    """The server has no stream route here (or answers something that is not an event stream)."""


class StreamBroken(Exception):
    """The stream could not be opened this time (5xx): worth another try, then polling."""


def task_path(task_id: str) -> str:
    return f"/mj/task/{task_id}/events"


def all_path() -> str:
    return "/mj/task/events"


def params_for(ids: Sequence[str] | None) -> dict[str, Any]:
    return {"ids": ",".join(ids)} if ids else {}


def headers_for(last_event_id: str | None) -> dict[str, str]:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return headers


def check_opened(response: httpx.Response) -> None:
    """Raise ``StreamUnavailable`` or the ``ApiError`` for an answer that is not an open event stream."""
    if response.status_code in STREAM_UNAVAILABLE:
        raise StreamUnavailable(f"HTTP {response.status_code}")
    if response.status_code >= 500:
        raise StreamBroken(f"HTTP {response.status_code}")
    if response.status_code >= 300:
        response.read()
        checked(response)
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    if content_type != "text/event-stream":
        raise StreamUnavailable(f"content type {content_type!r}")


async def acheck_opened(response: httpx.Response) -> None:
    if response.status_code >= 300 and response.status_code not in STREAM_UNAVAILABLE:
        await response.aread()
    check_opened(response)


def to_event(sse: ServerSentEvent) -> TaskEvent | None:
    """A task event, or None for anything else the stream carries (unknown event names, empty data)."""
    if sse.event not in EVENT_NAMES or not sse.data:
        return None
    return TaskEvent(event=sse.event, id=sse.id or None, task=Task.model_validate_json(sse.data))
