"""Callback deliveries through the API: a task's events for its owner, dead and pending ones for admins."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ...engine.service import visible_to
from ...notify.outbox import OutboxDelivery
from ...store.outbox import DeliveryStatus, OutboxEvent
from ..auth import Principal, require_admin, require_user
from ..errors import ApiError
from ..paging import MAX_PAGE

router = APIRouter(tags=["callbacks"])


def delivery_of(request: Request) -> OutboxDelivery:
    delivery: OutboxDelivery = request.app.state.runtime.webhooks
    return delivery


def event_view(event: OutboxEvent) -> dict[str, Any]:
    """One callback event as the API shows it (times in epoch ms, like the Task JSON)."""
    return {
        "eventId": event.id, "taskId": event.task_id, "sequence": event.sequence, "url": event.url,
        "taskStatus": event.task_status, "status": event.status.value, "attempts": event.attempts,
        "lastHttpStatus": event.last_http_status, "lastError": event.last_error,
        "createdTime": event.created_at, "lastAttemptTime": event.last_attempt_at,
        "nextAttemptTime": event.next_attempt_at if event.status == DeliveryStatus.PENDING else None,
        "deliveredTime": event.delivered_at, "giveUpTime": event.give_up_at,
    }


@router.get("/task/{task_id}/callbacks", summary="The callback events of a task and their delivery state")
async def task_callbacks(task_id: str, request: Request,
                         principal: Principal = Depends(require_user)) -> list[dict[str, Any]]:
    task = await request.app.state.runtime.service.get(task_id)
    if task is None or not visible_to(task, principal.owner):
        raise ApiError(404, f"task {task_id} not found")
    return [event_view(e) for e in await delivery_of(request).store.for_task(task_id)]


@router.get("/admin/callbacks", dependencies=[Depends(require_admin)],
            summary="Callback events by delivery state (default: dead and pending), oldest first, paged")
async def list_callbacks(request: Request,
                         status: list[Literal["pending", "delivered", "dead"]] = Query(["dead", "pending"]),
                         page: int = Query(1, ge=1, le=MAX_PAGE), size: int = Query(100, ge=1, le=1000)
                         ) -> JSONResponse:
    events, total = await delivery_of(request).store.page([DeliveryStatus(s) for s in status],
                                                          offset=(page - 1) * size, limit=size)
    return JSONResponse([event_view(e) for e in events],
                        headers={"X-Total-Count": str(total), "X-Page": str(page), "X-Page-Size": str(size)})


@router.post("/admin/callbacks/{event_id}/retry", dependencies=[Depends(require_admin)],
             summary="Send a dead event again, with every other dead event of its task, in sequence order")
async def retry_callback(event_id: str, request: Request) -> dict[str, Any]:
    delivery = delivery_of(request)
    event = await delivery.store.get(event_id)
    if event is None:
        raise ApiError(404, f"callback event {event_id} not found")
    if event.status != DeliveryStatus.DEAD:
        raise ApiError(409, f"callback event {event_id} is {event.status.value}, only a dead event can be retried")
    revived = await delivery.retry_dead(event.task_id)
    return {"taskId": event.task_id, "revived": revived}
