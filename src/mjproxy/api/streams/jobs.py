"""useapi's ``"stream": true`` on /v2/jobs/*: a job's life as ``text/event-stream`` (docs/useapi.md).

The shapes are useapi's (its v3 SSE guide, the only one that documents streaming): every message is one
``data:`` line holding ``{"event", "job", "seq", "ts"}``, with no ``event:`` or ``id:`` field. The first is
``{"event": "initialized", "message": "Stream initialized", "jobId", "seq": 0, "ts"}``; then one
``midjourney_<status>`` per change of the job's status or progress (created, started, progress with
``job.progress_percent``, completed, failed, moderated, cancelled), each carrying the job JSON exactly as
``GET /v2/jobs/?jobid=`` answers it; the stream ends after the terminal one.

The submit itself is answered as without streaming: it waits for Midjourney's first answer, and a refusal
(400, 422 moderated, 429, 504 "Job queued", 596 …) is the usual JSON error with its honest status. Only an
accepted job becomes a stream, and it starts from the job's first event (the hub remembers them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import ServerSentEvent

from ...engine.events import TaskChanged
from ...engine.jobdesk import Answer, JobDesk
from ...engine.jobs import JobStatus, render_job
from .hub import StreamEvent, Subscription, dumps
from .routes import hub_of, service_of, stream_response


def timestamp() -> str:
    """useapi's ``ts``: the time of day in UTC with milliseconds."""
    now = datetime.now(tz=UTC)
    return now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def percent_of(snapshot: dict[str, Any]) -> int:
    text = str(snapshot.get("progress") or "").rstrip("%")
    return int(text) if text.isdigit() else 0


def message(payload: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=dumps(payload), sep="\n")


async def job_stream(request: Request, answer: Answer, desk: JobDesk) -> Response:
    body = answer.body
    if answer.status != 200 or not isinstance(body, dict) or not body.get("jobid"):
        return JSONResponse(body, status_code=answer.status)
    jobid = str(body["jobid"])
    hub, service = hub_of(request), service_of(request)
    subscription, first = hub.open_task(jobid, 0)  # 0: replay from the job's first event
    try:
        if first is None:  # not heard since the server started (an earlier job returned again): the store
            stored = await service.get(jobid)
            if stored is None:
                subscription.close()
                return JSONResponse(body, status_code=answer.status)
            current = TaskChanged.of(stored)
            first = hub.seed(jobid, current.snapshot, current.owner, None)
    except BaseException:
        subscription.close()
        raise
    return stream_response(request, _job_events(jobid, subscription, first, desk, request))


async def _job_events(jobid: str, subscription: Subscription, first: list[StreamEvent], desk: JobDesk,
                      request: Request) -> AsyncIterator[ServerSentEvent]:
    seq, sent, last = 0, 0, None
    try:
        yield message({"event": "initialized", "message": "Stream initialized", "jobId": jobid, "seq": seq,
                       "ts": timestamp()})
        pending = list(first)
        while True:
            event = pending.pop(0) if pending else await subscription.next()
            if event is None:
                return  # dropped as a slow reader, or the server is stopping
            if event.seq <= sent:
                continue
            sent = event.seq
            job = await _job_of(event, desk, request)
            status, percent = JobStatus(job["status"]), percent_of(event.snapshot)
            if (status, percent) == last:
                continue  # a change the job JSON does not show (e.g. a new preview image)
            last = (status, percent)
            if status == JobStatus.PROGRESS:
                job["progress_percent"] = percent
            seq += 1
            yield message({"event": f"midjourney_{status.value}", "job": job, "seq": seq, "ts": timestamp()})
            if status.is_terminal:
                return
    finally:
        subscription.close()


async def _job_of(event: StreamEvent, desk: JobDesk, request: Request) -> dict[str, Any]:
    """The job JSON of this change; the final one as GET /v2/jobs/ renders it (with image sizes, children)."""
    if event.terminal:
        stored = await service_of(request).get(event.task_id)
        if stored is not None:
            return await desk.render(stored)
    return render_job(event.snapshot)
