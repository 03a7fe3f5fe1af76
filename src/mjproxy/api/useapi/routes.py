"""The useapi.net jobs dialect under /v2 (docs/useapi.md): jobs over the same engine as /mj.

A thin adapter: bodies are checked here and answered with useapi's own messages; the use cases live in
``engine.jobdesk.JobDesk``. Callbacks (``replyUrl``) carry the job JSON through the ``useapi`` callback format.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ...domain.media import MAX_IMAGE_BYTES, InvalidImage, check_image_bytes, is_http_url
from ...engine.jobdesk import Answer, JobDesk, Reply
from ...engine.jobs import FORMAT, render_job
from ...net.guard import FetchPolicy, FetchRefused, GuardedClient
from ...notify.formats import register_format
from ..auth import Principal
from ..streams.jobs import job_stream
from .accounts import router as accounts_router
from .answers import submit_answer
from .errors import JobError
from .http import JobRoute, body_of, user
from .schemas import (
    MAX_PROMPT,
    MAX_REPLY,
    MISSING,
    TOO_LONG,
    AccountChoiceIn,
    BlendIn,
    ButtonIn,
    DescribeIn,
    ImagineIn,
    SeedIn,
    json_body,
)

BLEND_DIMENSIONS = ("portrait", "square", "landscape")

register_format(FORMAT, render_job)


def desk_of(request: Request) -> JobDesk:
    """The engine's /v2 use cases (one desk per runtime: its lock keeps concurrent submits within maxJobs)."""
    desk: JobDesk | None = request.app.state.runtime.jobdesk
    if desk is None:
        raise JobError(503, "the server is starting")
    return desk


async def respond(answer: Answer, request: Request, stream: bool | None = None) -> Response:
    if stream:
        return await job_stream(request, answer, desk_of(request))
    return JSONResponse(answer.body, status_code=answer.status)


async def reply_of(body: AccountChoiceIn | ButtonIn, request: Request) -> Reply:
    if len(body.replyUrl or "") > MAX_REPLY or len(body.replyRef or "") > MAX_REPLY:
        raise JobError(400, TOO_LONG)
    if body.replyUrl and not is_http_url(body.replyUrl):
        raise JobError(400, "replyUrl must be an http(s) URL")
    refused = await request.app.state.runtime.service.check_url(body.replyUrl, "replyUrl")
    if refused is not None:  # the SSRF guard: the server would POST there
        raise JobError(400, refused.description)
    return Reply(url=body.replyUrl or None, ref=body.replyRef, max_jobs=body.maxJobs)


def check_account_choice(body: AccountChoiceIn) -> None:
    # discord and server only make sense together with the channel that names the account.
    if (body.discord or body.server) and not body.channel:
        raise JobError(400, MISSING)


router = APIRouter(tags=["useapi (v2)"], route_class=JobRoute)
router.include_router(accounts_router)


@router.post("/jobs/imagine", openapi_extra=json_body(ImagineIn),
             summary="Create images from a prompt (/imagine)")
async def imagine(request: Request, principal: Principal = Depends(user)) -> Response:
    body = await body_of(request, ImagineIn)
    prompt = (body.prompt or "").strip()
    if not prompt:
        raise JobError(400, MISSING)
    check_account_choice(body)
    if len(prompt) > MAX_PROMPT:
        raise JobError(400, TOO_LONG)
    reply = await reply_of(body, request)
    return await respond(submit_answer("imagine", await desk_of(request).imagine(
        prompt, body.channel, reply, principal.owner, discord=body.discord, server=body.server)),
        request, body.stream)


@router.post("/jobs/button", openapi_extra=json_body(ButtonIn),
             summary="Press a button of a completed job (U1–U4, V1–V4, 🔄, Vary, Zoom, Pan, …)")
async def button(request: Request, principal: Principal = Depends(user)) -> Response:
    body = await body_of(request, ButtonIn)
    if not body.jobid or not body.button:
        raise JobError(400, "jobid or button value is missing")
    if len(body.prompt or "") > MAX_PROMPT:
        raise JobError(400, TOO_LONG)
    reply = await reply_of(body, request)
    return await respond(submit_answer("button", await desk_of(request).button(
        body.jobid, body.button, body.prompt, body.mask, reply, principal.owner)), request, body.stream)


@router.post("/jobs/describe", openapi_extra=json_body(DescribeIn),
             summary="Four prompts that describe an image (/describe)")
async def describe(request: Request, principal: Principal = Depends(user)) -> Response:
    body = await body_of(request, DescribeIn)
    url = (body.describeUrl or "").strip()
    if not url:
        raise JobError(400, "describeUrl value is missing")
    if not is_http_url(url) or len(url) > MAX_REPLY:
        raise JobError(400, "describeUrl must be an http(s) URL of at most 1024 characters")
    check_account_choice(body)
    return await respond(submit_answer("describe", await desk_of(request).describe(
        url, body.channel, await reply_of(body, request), principal.owner)), request, body.stream)


@router.post("/jobs/blend", openapi_extra=json_body(BlendIn),
             summary="Blend 2 to 5 images (/blend)")
async def blend(request: Request, principal: Principal = Depends(user)) -> Response:
    body = await body_of(request, BlendIn)
    urls = [u.strip() for u in body.blendUrls or []]
    if not 2 <= len(urls) <= 5:
        raise JobError(400, "blendUrls must hold 2 to 5 image URLs")
    dimensions = (body.blendDimensions or "Square").strip().lower()
    if dimensions not in BLEND_DIMENSIONS:
        raise JobError(400, "blendDimensions must be Portrait, Square or Landscape")
    check_account_choice(body)
    reply = await reply_of(body, request)
    images = [await image_data_url(url, n, request.app.state.runtime.fetch_policy) for n, url in enumerate(urls)]
    return await respond(submit_answer("blend", await desk_of(request).blend(
        images, dimensions, urls, body.channel, reply, principal.owner)), request, body.stream)


@router.post("/jobs/seed", openapi_extra=json_body(SeedIn),
             summary="The seed of a completed job")
async def seed(request: Request, principal: Principal = Depends(user)) -> dict[str, Any]:
    body = await body_of(request, SeedIn)
    if not body.jobid:
        raise JobError(400, "jobid value is missing")
    return await desk_of(request).seed(body.jobid, principal.owner)


@router.get("/jobs/", summary="One job by its jobid")
async def job(request: Request, jobid: str = Query(""), principal: Principal = Depends(user)) -> dict[str, Any]:
    if not jobid:
        raise JobError(400, "jobid value is missing")
    return await desk_of(request).job(jobid, principal.owner)


@router.get("/jobs", summary="The jobids of the jobs executing now (or one job with ?jobid=)")
async def jobs(request: Request, jobid: str = Query(""), principal: Principal = Depends(user)) -> Any:
    if jobid:
        return await desk_of(request).job(jobid, principal.owner)
    return desk_of(request).running(principal.owner)


@router.get("/jobs/cancel/", summary="Cancel a job that has not finished")
@router.get("/jobs/cancel", include_in_schema=False)
async def cancel(request: Request, jobid: str = Query(""), principal: Principal = Depends(user)) -> dict[str, Any]:
    if not jobid:
        raise JobError(400, "jobid value is missing")
    return await desk_of(request).cancel(jobid, principal.owner)


async def image_data_url(url: str, number: int, policy: FetchPolicy) -> str:
    """A blend image as the engine takes it: a data URL (given as is, or downloaded from an http(s) URL).

    The download goes through the SSRF guard (every hop and address checked, size and time capped): the URL
    comes from the client and the server fetches it.
    """
    field = f"blendUrls[{number}]"
    if url[:5].lower() == "data:":
        return url
    if not is_http_url(url):
        raise JobError(400, f"{field} must be an http(s) URL")
    client = GuardedClient(dataclasses.replace(policy, max_bytes=min(policy.max_bytes, MAX_IMAGE_BYTES)))
    try:
        response = await client.get(url)
        if response.status_code != 200:
            raise JobError(400, f"{field} could not be downloaded (HTTP {response.status_code})")
        image = check_image_bytes(response.content, field=field)
    except FetchRefused as exc:
        raise JobError(400, f"{field} refused: {exc}") from None
    except (httpx.HTTPError, TimeoutError) as exc:
        raise JobError(400, f"{field} could not be downloaded: {type(exc).__name__}") from None
    except InvalidImage as exc:
        raise JobError(400, str(exc)) from None
    finally:
        await client.aclose()
    return f"data:{image.content_type};base64,{base64.b64encode(image.content).decode()}"


__all__ = ["router"]
