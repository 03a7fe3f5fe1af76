"""POST /mj/task/{id}/cancel: frees the slot or the queue place, and a cancelled task never becomes SUCCESS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from mjproxy.emulator import Emulator
from tests.e2e.harness import HookReceiver, Proxy, account_entry, button, proxy_settings, running_proxy, submit


async def cancel(proxy: Proxy, task_id: str) -> tuple[int, dict[str, Any]]:
    response = await proxy.client.post(f"/mj/task/{task_id}/cancel")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def one_slot(emulator: Emulator, tmp_path: Path) -> Any:
    return proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=1, queue_size=5)])


async def wait_job_done(emulator: Emulator, nonce: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(job.nonce == nonce and job.status == "done" for job in emulator.jobs):
        if time.monotonic() > deadline:
            raise AssertionError(f"the emulator never finished the job of nonce {nonce}")
        await asyncio.sleep(0.05)


async def test_cancelling_the_running_task_frees_its_slot_and_its_late_result_is_ignored(
        emulator: Emulator, tmp_path: Path, hooks: HookReceiver) -> None:
    emulator.config.job_duration_s = 2
    async with running_proxy(one_slot(emulator, tmp_path)) as proxy:
        running = await proxy.imagine("a running horse", notifyHook=hooks.url)
        queued = await proxy.imagine("a waiting dog")
        # One slot: the second one waits (code 1 all the same: midjourney-proxy answers 22 only when a task
        # waits ahead of the new one).
        assert running["code"] == 1 and queued["code"] == 1
        running_id, queued_id = running["result"], queued["result"]
        started = await proxy.wait_for(running_id, statuses=("IN_PROGRESS",))
        assert (await proxy.fetch(queued_id))["status"] == "NOT_START"

        status, body = await cancel(proxy, running_id)
        assert status == 200 and body["code"] == 1 and body["properties"]["status"] == "CANCEL", body
        cancelled = await proxy.fetch(running_id)
        assert cancelled["status"] == "CANCEL" and cancelled["failReason"] == "cancelled by the client"
        assert cancelled["finishTime"]

        # The slot is free at once: the waiting task starts (it does not wait for the cancelled job).
        await proxy.wait_for(queued_id, statuses=("SUBMITTED", "IN_PROGRESS", "SUCCESS"))
        # Midjourney still finishes the cancelled job; its result must not revive the task.
        await wait_job_done(emulator, started["properties"]["nonce"])
        assert (await proxy.wait_for(queued_id))["status"] == "SUCCESS"
        after = await proxy.fetch(running_id)
        assert after["status"] == "CANCEL" and after["imageUrl"] == cancelled["imageUrl"]
        assert after["buttons"] == []
        await hooks.wait_for(lambda: any(b["status"] == "CANCEL" for b in hooks.for_task(running_id)))
        assert hooks.for_task(running_id)[-1]["status"] == "CANCEL"  # the last callback is the CANCEL
        assert not any(b["status"] == "SUCCESS" for b in hooks.for_task(running_id))


async def test_cancelling_a_queued_task_takes_it_out_of_the_queue(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 1
    async with running_proxy(one_slot(emulator, tmp_path)) as proxy:
        first = (await proxy.imagine("the first cat"))["result"]
        second = await proxy.imagine("the second cat")
        third = await proxy.imagine("the third cat")
        assert second["code"] == 1 and third["code"] == 22  # both wait for the only slot
        status, body = await cancel(proxy, second["result"])
        assert status == 200 and body["code"] == 1
        assert (await proxy.wait_for(first))["status"] == "SUCCESS"
        assert (await proxy.wait_for(third["result"]))["status"] == "SUCCESS"
        never_sent = await proxy.fetch(second["result"])
    assert never_sent["status"] == "CANCEL"
    assert never_sent["properties"].get("nonce") in (None, "")  # it never reached Discord
    assert not any("second cat" in job.prompt for job in emulator.jobs)


async def test_cancel_of_a_finished_or_unknown_task_answers_clearly(proxy: Proxy) -> None:
    task_id = (await proxy.imagine("a finished painting"))["result"]
    assert (await proxy.wait_for(task_id))["status"] == "SUCCESS"
    status, body = await cancel(proxy, task_id)
    assert status == 200 and body["code"] == 4, body
    assert "already finished (SUCCESS)" in body["description"] and body["properties"]["status"] == "SUCCESS"
    assert (await proxy.fetch(task_id))["status"] == "SUCCESS"
    status, body = await cancel(proxy, "1234567890123456")
    assert status == 404 and body["code"] == 3 and body["result"] is None
    status, body = await cancel(proxy, task_id)  # twice: still a clear answer, nothing changes
    assert body["code"] == 4


async def test_cancelling_twice_keeps_the_first_cancel(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.job_duration_s = 2
    task_id = (await proxy.imagine("a twice cancelled job"))["result"]
    await proxy.wait_for(task_id, statuses=("SUBMITTED", "IN_PROGRESS"))
    assert (await cancel(proxy, task_id))[1]["code"] == 1
    first = await proxy.fetch(task_id)
    status, body = await cancel(proxy, task_id)
    assert status == 200 and body["code"] == 4 and body["properties"]["status"] == "CANCEL"
    assert (await proxy.fetch(task_id))["finishTime"] == first["finishTime"]


async def test_cancel_needs_a_credential(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "s3cret"})
    async with running_proxy(settings) as proxy:
        refused = await proxy.client.post("/mj/task/1234567890123456/cancel")
        assert refused.status_code == 401


async def test_a_modal_task_can_be_cancelled_before_it_is_confirmed(proxy: Proxy) -> None:
    parent = await proxy.wait_for((await proxy.imagine("a wide valley"))["result"])
    upscaled = await proxy.wait_for((await submit(proxy, "/mj/submit/action", {
        "taskId": parent["id"], "customId": button(parent, "U1")}))["result"])
    opened = await submit(proxy, "/mj/submit/action", {"taskId": upscaled["id"],
                                                      "customId": button(upscaled, "Custom Zoom")})
    assert opened["code"] == 21
    status, body = await cancel(proxy, opened["result"])
    assert status == 200 and body["code"] == 1, body
    assert (await proxy.fetch(opened["result"]))["status"] == "CANCEL"
    confirm = await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"], "prompt": "a valley --zoom 1.5"})
    assert confirm["code"] != 1  # a cancelled modal cannot be confirmed any more
    assert (await proxy.fetch(opened["result"]))["status"] == "CANCEL"
