"""/v2/jobs/* with "stream": true end to end: text/event-stream in useapi's event shapes (docs/useapi.md)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Proxy, proxy_settings, running_emulator, running_proxy
from tests.e2e.useapi_helpers import get_job

TS = re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")
ORDER = ["created", "started", "progress", "completed"]


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[Proxy]:
    async with running_emulator(job_duration_s=1.0, progress_steps=[0, 30, 60]) as emulator:
        emulator.config.trigger_embeds = {"be-moderated": "action_needed"}
        async with running_proxy(proxy_settings(emulator, tmp_path)) as started:
            yield started


async def stream_job(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[httpx.Response,
                                                                                       list[dict[str, Any]]]:
    """POST with stream: true and read every message until the server ends the stream."""
    messages: list[dict[str, Any]] = []
    async with client.stream("POST", path, json={**body, "stream": True},
                             timeout=httpx.Timeout(30.0, read=60.0)) as response:
        if not response.headers["content-type"].startswith("text/event-stream"):
            await response.aread()
            return response, messages
        async for line in response.aiter_lines():
            assert not line.startswith(("event:", "id:")), "useapi's stream has data: lines only"
            if line.startswith("data: "):
                messages.append(json.loads(line[len("data: "):]))
    return response, messages


def check_job_stream(messages: list[dict[str, Any]]) -> None:
    first = messages[0]
    assert set(first) == {"event", "message", "jobId", "seq", "ts"}
    assert first["event"] == "initialized" and first["message"] == "Stream initialized" and first["seq"] == 0
    assert [m["seq"] for m in messages] == list(range(len(messages)))
    for m in messages:
        assert TS.match(m["ts"]), m["ts"]
    for m in messages[1:]:
        assert set(m) == {"event", "job", "seq", "ts"}
        assert m["event"] == f"midjourney_{m['job']['status']}"
        assert m["job"]["jobid"] == first["jobId"]
    statuses = [m["job"]["status"] for m in messages[1:]]
    assert statuses == sorted(statuses, key=ORDER.index), statuses
    percents = [m["job"]["progress_percent"] for m in messages[1:] if m["event"] == "midjourney_progress"]
    assert percents == sorted(set(percents)) and all(0 < p <= 100 for p in percents), percents
    assert messages[-1]["event"] == "midjourney_completed"


async def test_imagine_with_stream_true_streams_the_job_to_its_end(proxy: Proxy) -> None:
    response, messages = await stream_job(proxy.client, "/v2/jobs/imagine", {"prompt": "Steampunk cat"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    check_job_stream(messages)
    events = [m["event"] for m in messages]
    assert events[:2] == ["initialized", "midjourney_created"]  # replayed from the job's very first change
    assert "midjourney_started" in events and "midjourney_progress" in events
    final = messages[-1]["job"]
    # the final job is exactly what GET /v2/jobs/?jobid= answers
    assert final == await get_job(proxy.client, final["jobid"])
    assert final["attachments"] and final["buttons"][:4] == ["U1", "U2", "U3", "U4"]

    # a button pressed with stream: true, the same way
    response, upscale = await stream_job(proxy.client, "/v2/jobs/button",
                                         {"jobid": final["jobid"], "button": "U1"})
    check_job_stream(upscale)
    child = upscale[-1]["job"]
    assert child["verb"] == "button" and child["button"] == "U1" and child["parentJobId"] == final["jobid"]
    # U1 runs once: asking again streams the existing child's life (it is over) and ends
    response, again = await stream_job(proxy.client, "/v2/jobs/button", {"jobid": final["jobid"], "button": "U1"})
    check_job_stream(again)
    assert again[-1]["job"] == await get_job(proxy.client, child["jobid"])


async def test_refusals_keep_their_json_answer_and_status(proxy: Proxy) -> None:
    response, messages = await stream_job(proxy.client, "/v2/jobs/imagine", {"prompt": ""})
    assert response.status_code == 400 and messages == []
    assert response.json()["code"] == 400
    response, messages = await stream_job(proxy.client, "/v2/jobs/imagine", {"prompt": "be-moderated cat"})
    assert response.status_code == 422 and response.json()["status"] == "moderated"


async def test_without_stream_the_answer_is_json_as_before(proxy: Proxy) -> None:
    response = await proxy.client.post("/v2/jobs/imagine", json={"prompt": "plain", "stream": False})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] in ("started", "progress", "completed")


async def test_concurrent_v2_streams_each_hear_only_their_own_job(proxy: Proxy) -> None:
    results = await asyncio.gather(*(stream_job(proxy.client, "/v2/jobs/imagine", {"prompt": f"job {n}"})
                                     for n in range(3)))
    jobids = set()
    for response, messages in results:
        assert response.status_code == 200
        check_job_stream(messages)
        jobid = messages[0]["jobId"]
        assert {m["job"]["jobid"] for m in messages[1:]} == {jobid}
        jobids.add(jobid)
    assert len(jobids) == 3
