"""``POST /mj/task/{id}/cancel`` (midjourney-proxy plus): cancel a waiting or running task."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...engine.cancellation import CancelOutcome, cancel_task
from ...engine.service import SubmitCode
from ..auth import Principal, require_user

router = APIRouter(tags=["task"])


@router.post("/task/{task_id}/cancel", summary="Cancel a waiting or running task (status CANCEL)",
             responses={404: {"description": "no such task (or not yours)"}})
async def cancel(task_id: str, request: Request, principal: Principal = Depends(require_user)) -> JSONResponse:
    runtime = request.app.state.runtime
    result = await cancel_task(runtime.tracker, runtime.service.repo, task_id, owner=principal.owner)
    if result.outcome == CancelOutcome.NOT_FOUND:
        return JSONResponse({"code": int(SubmitCode.NOT_FOUND), "description": f"task {task_id} not found",
                             "result": None, "properties": {}}, status_code=404)
    status = result.task.status.value if result.task is not None else None
    if result.outcome == CancelOutcome.CANCELLED:
        return JSONResponse({"code": int(SubmitCode.SUCCESS), "description": "Cancelled", "result": task_id,
                             "properties": {"status": status}})
    # The dialect answers a request it cannot carry out with HTTP 200 and code 4 (like a submit that fails
    # validation); the description and properties.status say why.
    return JSONResponse({"code": int(SubmitCode.VALIDATION_ERROR),
                         "description": f"task {task_id} has already finished ({status}) and cannot be cancelled",
                         "result": task_id, "properties": {"status": status}})
