"""No stuck tasks: timeouts with a reason, progress that keeps a job alive, and gateway drops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, account_entry, proxy_settings, start_proxy


async def test_a_silent_job_times_out_with_a_clear_reason(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 30  # a progress step every ~4 s
    settings = proxy_settings(emulator, tmp_path,
                              accounts=[account_entry(emulator.sandbox, timeout_minutes=0.02)])  # 1.2 s
    proxy = await start_proxy(settings)
    try:
        task = await proxy.wait_for((await proxy.imagine("a very slow painting"))["result"], timeout=20)
    finally:
        await proxy.stop()
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("Task timed out")
    assert task["progress"] == ""


async def test_progress_extends_the_deadline(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 3  # longer than the timeout, but a step every ~0.4 s
    settings = proxy_settings(emulator, tmp_path,
                              accounts=[account_entry(emulator.sandbox, timeout_minutes=0.02)])  # 1.2 s
    proxy = await start_proxy(settings)
    try:
        task = await proxy.wait_for((await proxy.imagine("a steady painting"))["result"], timeout=20)
    finally:
        await proxy.stop()
    assert task["status"] == "SUCCESS", task["failReason"]


async def test_bot_that_never_answers_fails_the_task_quickly(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.never_ack_triggers = ["ignored-by-bot"]
    emulator.config.interaction_ack_timeout_s = 0.3
    task = await proxy.wait_for((await proxy.imagine("ignored-by-bot fox"))["result"], timeout=10)
    assert task["status"] == "FAILURE"
    assert "did not answer" in task["failReason"]


async def test_a_dropped_gateway_mid_job_resumes_and_the_task_still_succeeds(
        emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.job_duration_s = 2
    task_id = (await proxy.imagine("a storm over the sea"))["result"]
    await asyncio.sleep(0.5)
    await emulator.drop_sessions(emulator.sandbox.user_id)  # TCP cut: events in flight must be replayed
    task = await proxy.wait_for(task_id, timeout=20)
    assert task["status"] == "SUCCESS", task["failReason"]
    assert len(task["buttons"]) == 9


async def test_server_side_reconnect_request_is_followed_by_resume(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.job_duration_s = 1.5
    task_id = (await proxy.imagine("a lighthouse in fog"))["result"]
    await asyncio.sleep(0.3)
    await emulator.send_reconnect(emulator.sandbox.user_id)
    task = await proxy.wait_for(task_id, timeout=20)
    assert task["status"] == "SUCCESS", task["failReason"]


async def test_revoked_token_puts_the_account_in_auth_failed(emulator: Emulator, proxy: Proxy) -> None:
    emulator.set_token_valid(emulator.sandbox.token, False)  # closes the sockets with 4004
    for _ in range(100):
        health = (await proxy.client.get("/healthz")).json()
        if health["accounts"][0]["state"] == "auth_failed":
            break
        await asyncio.sleep(0.05)
    assert health["accounts"][0]["state"] == "auth_failed"
    assert health["status"] == "degraded"
    refused = await proxy.imagine("anything")
    assert refused["code"] == 3 and "auth_failed" in refused["description"]
