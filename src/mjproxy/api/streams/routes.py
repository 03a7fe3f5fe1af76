"""Live task streams (SSE): ``GET /mj/task/{id}/events`` and ``GET /mj/task/events`` (CONTRACTS.md).

Each event is ``event:`` status | progress | success | failure | cancel, ``data:`` the Task JSON exactly as
fetch answers it, and ``id:`` the task's sequence number (one-task stream) or the hub's cursor (all tasks).
``Last-Event-ID`` (or ``?lastEventId=``) resumes without gaps. Authentication and isolation are fetch's:
a user key is told 404 for another key's task and never hears another key's changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ...engine.events import TaskChanged
from ...engine.service import TaskService
from ..auth import Principal, require_user
from ..errors import ApiError
from .hub import Cursor, StreamEvent, StreamHub, Subscription

MAX_IDS = 1000

router = APIRouter(tags=["streams"])


def hub_of(request: Request) -> StreamHub:
    hub: StreamHub = request.app.state.streams
    return hub


def service_of(request: Request) -> TaskService:
    service: TaskService = request.app.state.service
    return service


def last_event_id(request: Request, query: str | None) -> str | None:
    value = request.headers.get("last-event-id")
    if value is None or not value.strip():
        value = query
    return value.strip() if value and value.strip() else None


def sse(event: StreamEvent, event_id: str) -> ServerSentEvent:
    return ServerSentEvent(data=event.data, event=event.kind, id=event_id, sep="\n")


def stream_response(request: Request, events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    settings = hub_of(request).settings
    return EventSourceResponse(events, ping=settings.ping_seconds, sep="\n",
                               ping_message_factory=lambda: ServerSentEvent(comment="ping", sep="\n"),
                               send_timeout=settings.send_timeout_seconds,
                               headers={"Cache-Control": "no-store"})


@router.get("/task/{task_id}/events", summary="Live events of one task (SSE); ends after its final state",
            response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}, 404: {"description": "unknown task"}})
async def task_events(task_id: str, request: Request, principal: Principal = Depends(require_user),
                      lastEventId: str | None = Query(None, description="resume after this event id (instead "
                                                                          "of the Last-Event-ID header)")
                      ) -> EventSourceResponse:
    resume = last_event_id(request, lastEventId)
    if resume is not None and not resume.isdigit():
        raise ApiError(400, "Last-Event-ID of a task stream is the number of the last event received")
    after = int(resume) if resume is not None else None
    service, hub = service_of(request), hub_of(request)
    stored = await service.get(task_id, owner=principal.owner)
    if stored is None:
        raise ApiError(404, f"task {task_id} not found")
    subscription, first = hub.open_task(task_id, after)
    try:
        if first is None:
            # The hub has not seen this task since it started: its state comes from the store, read again
            # after subscribing so that no change can fall between the read and the subscription.
            current = TaskChanged.of(await service.get(task_id) or stored)
            first = hub.seed(task_id, current.snapshot, current.owner, after)
    except BaseException:
        subscription.close()
        raise
    latest = hub.latest(task_id)
    if not first and latest is not None and latest.terminal:
        subscription.close()  # the client already has the final event: an empty stream that ends at once
    return stream_response(request, _one_task(subscription, first, after or 0))


async def _one_task(subscription: Subscription, first: list[StreamEvent], after: int) -> AsyncIterator[ServerSentEvent]:
    sent = after
    try:
        for event in first:
            sent = event.seq
            yield sse(event, str(event.seq))
            if event.terminal:
                return
        while (live := await subscription.next()) is not None:
            if live.seq <= sent:
                continue  # also in ``first`` (it changed while the store was read)
            sent = live.seq
            yield sse(live, str(live.seq))
            if live.terminal:
                return
    finally:
        subscription.close()  # the client left, the task finished, or the reader fell behind


@router.get("/task/events", summary="Live events of every task the caller may see (SSE)",
            response_class=EventSourceResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def all_events(request: Request, principal: Principal = Depends(require_user),
                     ids: str | None = Query(None, description="only these task ids, comma-separated"),
                     lastEventId: str | None = Query(None, description="resume after this cursor (instead of "
                                                                       "the Last-Event-ID header)")
                     ) -> EventSourceResponse:
    wanted = frozenset(i.strip() for i in ids.split(",") if i.strip()) if ids else None
    if wanted is not None and len(wanted) > MAX_IDS:
        raise ApiError(400, f"at most {MAX_IDS} ids per stream")
    resume = last_event_id(request, lastEventId)
    cursor = Cursor.parse(resume) if resume is not None else None
    if resume is not None and cursor is None:
        raise ApiError(400, "Last-Event-ID of the all-tasks stream is the id of the last event received")
    hub = hub_of(request)
    start = hub.position  # everything after this reaches the subscription
    subscription, first = hub.open_all(principal.owner, wanted, cursor)
    first_ids: list[tuple[StreamEvent, str]] = [(event, str(Cursor(hub.epoch, event.cursor))) for event in first]
    try:
        if cursor is None and wanted:
            first_ids = await _current_states(request, hub, subscription, wanted, str(start))
    except BaseException:
        subscription.close()
        raise
    return stream_response(request, _all_tasks(subscription, hub.epoch, first_ids))


async def _current_states(request: Request, hub: StreamHub, subscription: Subscription, wanted: frozenset[str],
                          start: str) -> list[tuple[StreamEvent, str]]:
    """The current state of each listed task, labelled with the cursor of the moment of subscribing: a
    client that resumes from it is replayed everything that happened since, so nothing falls in between."""
    known = hub.known(wanted)
    missing = [task_id for task_id in sorted(wanted) if task_id not in known]
    first = list(known.values())
    for task in await service_of(request).get_many(missing, owner=subscription.owner):
        current = TaskChanged.of(task)
        first.extend(hub.seed(task.id, current.snapshot, current.owner, None))
    visible = [event for event in first if subscription.wants(event)]
    return [(event, start) for event in sorted(visible, key=lambda e: (e.cursor, e.task_id))]


async def _all_tasks(subscription: Subscription, epoch: str,
                     first: list[tuple[StreamEvent, str]]) -> AsyncIterator[ServerSentEvent]:
    sent: dict[str, int] = {}  # only the tasks of ``first``: the queue may hold their events again
    try:
        for event, event_id in first:
            sent[event.task_id] = max(sent.get(event.task_id, 0), event.seq)
            yield sse(event, event_id)
        while (live := await subscription.next()) is not None:
            if sent and live.seq <= sent.get(live.task_id, 0):
                continue
            yield sse(live, f"{epoch}-{live.cursor}")
    finally:
        subscription.close()
