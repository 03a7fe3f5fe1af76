"""Helpers for the /v2 (useapi.net) end-to-end tests: a client script's view of the jobs API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

TERMINAL = ("completed", "failed", "moderated", "cancelled")


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    assert data["code"] == expect, data
    return data


async def get_job(client: httpx.AsyncClient, jobid: str) -> dict[str, Any]:
    response = await client.get("/v2/jobs/", params={"jobid": jobid})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def wait_job(client: httpx.AsyncClient, jobid: str, statuses: tuple[str, ...] = TERMINAL,
                   timeout: float = 30.0) -> dict[str, Any]:
    """Poll GET /v2/jobs/?jobid= as a client script does (without useapi's 10–30 s pauses)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await get_job(client, jobid)
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {jobid} still {job['status']} after {timeout}s")
        await asyncio.sleep(0.05)


async def imagine_completed(client: httpx.AsyncClient, prompt: str, **extra: Any) -> dict[str, Any]:
    started = await post(client, "/v2/jobs/imagine", {"prompt": prompt, **extra})
    job = await wait_job(client, started["jobid"])
    assert job["status"] == "completed", job
    return job


async def press(client: httpx.AsyncClient, jobid: str, button: str, **extra: Any) -> dict[str, Any]:
    child = await post(client, "/v2/jobs/button", {"jobid": jobid, "button": button, **extra})
    job = await wait_job(client, child["jobid"])
    assert job["status"] == "completed", job
    return job
