"""Imagine end to end: the real server, the real emulator, loopback only."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mjproxy.emulator import Emulator
from tests.e2e.harness import HookReceiver, Proxy, account_entry, proxy_settings, start_proxy

GRID_LABELS = ["U1", "U2", "U3", "U4", "", "V1", "V2", "V3", "V4"]


def job_for(emulator: Emulator, nonce: str) -> Any:
    jobs = emulator.jobs.values() if isinstance(emulator.jobs, dict) else emulator.jobs
    matches = [j for j in jobs if j.nonce == nonce]
    assert len(matches) == 1, f"emulator has {len(matches)} jobs for nonce {nonce}"
    return matches[0]


async def test_imagine_reports_progress_then_success_with_grid_and_nine_buttons(
        emulator: Emulator, proxy: Proxy, hooks: HookReceiver) -> None:
    emulator.config.job_duration_s = 1.5
    submitted = await proxy.imagine("a red fox", notifyHook=hooks.url, state="u42")
    assert submitted["code"] == 1, submitted
    assert submitted["properties"]["discordInstanceId"] == emulator.sandbox.channel_id
    task_id = submitted["result"]

    seen: list[dict[str, Any]] = []
    task = await proxy.wait_for(task_id, on_poll=seen.append, interval=0.02)

    statuses = [t["status"] for t in seen]
    assert "IN_PROGRESS" in statuses
    progresses = [int(t["progress"].rstrip("%")) for t in seen if t["status"] == "IN_PROGRESS" and t["progress"]]
    assert progresses == sorted(progresses), "progress must never go backwards"
    assert max(progresses) > 0
    # At 100% the job is done and its image is being stored: imageUrl is then the final Discord link.
    previews = [t["imageUrl"] for t in seen
                if t["status"] == "IN_PROGRESS" and t["imageUrl"] and t["progress"] != "100%"]
    assert previews and all(".webp" in url for url in previews)

    assert task["status"] == "SUCCESS", task["failReason"]
    assert task["progress"] == "100%"
    assert task["state"] == "u42"
    assert task["action"] == "IMAGINE"
    assert task["description"] == "/imagine a red fox"
    assert [b["label"] for b in task["buttons"]] == GRID_LABELS
    job_hash = task["properties"]["messageHash"]
    assert all(job_hash in b["customId"] for b in task["buttons"])
    assert task["buttons"][4]["emoji"] == "🔄"
    assert task["properties"]["finalPrompt"].startswith("a red fox")
    assert task["properties"]["messageId"] and task["properties"]["progressMessageId"]
    assert task["submitTime"] <= task["startTime"] <= task["finishTime"]
    assert task["imageUrl"].startswith(proxy.base_url + "/media/"), "the result is re-hosted by default"
    assert task["properties"]["discordImageUrl"].startswith(emulator.base_url)

    async with httpx.AsyncClient() as client:
        image = await client.get(task["imageUrl"])
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size[0] >= 512

    for _ in range(100):  # hooks are delivered asynchronously, in order
        if any(b["status"] == "SUCCESS" for b in hooks.for_task(task_id)):
            break
        await asyncio.sleep(0.05)
    delivered = hooks.for_task(task_id)
    assert delivered[0]["status"] in ("SUBMITTED", "IN_PROGRESS")
    assert delivered[-1]["status"] == "SUCCESS"
    assert delivered[-1] == task | {"imageUrl": delivered[-1]["imageUrl"]}
    assert any(b["status"] == "IN_PROGRESS" for b in delivered)
    orders = [(b["status"] == "SUCCESS", int(b["progress"].rstrip("%") or 0)) for b in delivered]
    assert orders == sorted(orders), "hooks arrive in order"


@pytest.mark.parametrize("profile", ["legacy", "modern"])
async def test_six_identical_prompts_get_six_distinct_correct_results(
        emulator: Emulator, tmp_path: Path, profile: str) -> None:
    emulator.config.profile = profile
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=6)])
    proxy = await start_proxy(settings)
    try:
        results = await asyncio.gather(*(proxy.imagine("the same lighthouse at dusk") for _ in range(6)))
        assert all(r["code"] == 1 for r in results), results
        tasks = await asyncio.gather(*(proxy.wait_for(r["result"]) for r in results))
    finally:
        await proxy.stop()
    assert all(t["status"] == "SUCCESS" for t in tasks), [t["failReason"] for t in tasks]
    hashes = {t["properties"]["messageHash"] for t in tasks}
    assert len(hashes) == 6
    assert len({t["imageUrl"] for t in tasks}) == 6
    for task in tasks:
        job = job_for(emulator, task["properties"]["nonce"])
        assert job.job_id == task["properties"]["messageHash"], "each task got its own job's image"


async def test_banned_prompt_fails_with_the_embed_reason(emulator: Emulator, proxy: Proxy) -> None:
    submitted = await proxy.imagine("a bannedword in the park")
    task = await proxy.wait_for(submitted["result"])
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("[Banned prompt detected]")
    assert task["progress"] == ""


async def test_invalid_parameter_fails_with_the_embed_reason(emulator: Emulator, proxy: Proxy) -> None:
    submitted = await proxy.imagine("cat --size 3")
    task = await proxy.wait_for(submitted["result"])
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("[Invalid parameter]")
    assert "size" in task["failReason"]


async def test_midjourney_job_queued_notice_is_not_a_failure(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.concurrency = 1
    emulator.config.job_duration_s = 0.3
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=4)])
    proxy = await start_proxy(settings)
    try:
        results = await asyncio.gather(*(proxy.imagine(f"castle number {i}") for i in range(4)))
        tasks = await asyncio.gather(*(proxy.wait_for(r["result"]) for r in results))
    finally:
        await proxy.stop()
    assert [t["status"] for t in tasks] == ["SUCCESS"] * 4, [t["failReason"] for t in tasks]


async def test_full_queue_answers_22_then_23(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 5
    settings = proxy_settings(emulator, tmp_path,
                              accounts=[account_entry(emulator.sandbox, core_size=1, queue_size=2)])
    proxy = await start_proxy(settings)
    try:
        results = [await proxy.imagine(f"prompt {i}") for i in range(4)]
        queue = (await proxy.client.get("/mj/task/queue")).json()
    finally:
        await proxy.stop()
    # midjourney-proxy's rule: code 1 while nobody waits (even with every slot busy), 22 with N ahead.
    assert [r["code"] for r in results] == [1, 1, 22, 23]
    assert results[2]["properties"]["numberOfQueues"] == 1
    assert results[3]["result"] is None
    assert results[3]["properties"]["discordInstanceId"] == emulator.sandbox.channel_id
    assert [t["id"] for t in queue] == [r["result"] for r in results[:3]]
    assert [t["status"] for t in queue][1:] == ["NOT_START", "NOT_START"]


async def test_restart_keeps_finished_tasks(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path)
    proxy = await start_proxy(settings)
    submitted = await proxy.imagine("a quiet harbour")
    before = await proxy.wait_for(submitted["result"])
    await proxy.stop()

    again = await start_proxy(proxy_settings(emulator, tmp_path))
    try:
        after = await again.fetch(submitted["result"])
        listed = (await again.client.get("/mj/task/list")).json()
    finally:
        await again.stop()
    assert before["status"] == "SUCCESS"
    assert after == before
    assert [t["id"] for t in listed] == [submitted["result"]]


async def test_stale_command_version_is_refreshed_and_retried(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.strict_command_versions = True
    first = await proxy.wait_for((await proxy.imagine("before the redeploy"))["result"])
    emulator.bump_command_versions()  # Midjourney redeployed: the cached version is now stale
    second = await proxy.wait_for((await proxy.imagine("after the redeploy"))["result"])
    assert first["status"] == "SUCCESS"
    assert second["status"] == "SUCCESS", second["failReason"]


async def test_list_is_newest_first_and_paged(emulator: Emulator, proxy: Proxy) -> None:
    ids = [(await proxy.imagine(f"tree {i}"))["result"] for i in range(5)]
    for task_id in ids:
        await proxy.wait_for(task_id)
    page1 = await proxy.client.get("/mj/task/list", params={"page": 1, "size": 2})
    page3 = await proxy.client.get("/mj/task/list", params={"page": 3, "size": 2})
    assert [t["id"] for t in page1.json()] == ids[::-1][:2]
    assert [t["id"] for t in page3.json()] == ids[:1]
    assert page1.headers["X-Total-Count"] == "5"
    by_ids = await proxy.client.post("/mj/task/list-by-condition", json={"ids": [ids[0], "nope", ids[2]]})
    assert [t["id"] for t in by_ids.json()] == [ids[0], ids[2]]
