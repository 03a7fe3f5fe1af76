"""kill -9 of the proxy process mid-run: after a restart on the same database every task ends, none twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import running_emulator
from tests.e2e.process import ProxyProcess, free_port, wait_all_final, write_config


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    async with running_emulator(job_duration_s=2.0) as emu:
        yield emu


async def test_kill_9_mid_run_then_restart_settles_running_jobs_from_history(
        slow_emulator: Emulator, tmp_path: Path) -> None:
    emulator = slow_emulator
    port = free_port()
    config = write_config(tmp_path / "mjproxy.toml", emulator, tmp_path, [emulator.sandbox], port=port,
                          account_overrides={"core_size": 2, "queue_size": 20, "timeout_minutes": 5})
    proxy = ProxyProcess(config, port, tmp_path / "proxy.log")
    try:
        await proxy.start()
        prompts = [f"crash test number {i}" for i in range(5)]
        ids = [(await proxy.imagine(p))["result"] for p in prompts]
        for _ in range(400):  # two jobs running at Midjourney, three still queued in the proxy
            statuses = [t["status"] for t in await proxy.tasks(ids)]
            if statuses.count("IN_PROGRESS") == 2:
                break
            await asyncio.sleep(0.05)
        assert statuses.count("IN_PROGRESS") == 2, statuses
        await proxy.kill()
        # As if the saved session had expired: no replay, the results must come from the channel history.
        (tmp_path / "gateway-sessions.json").unlink(missing_ok=True)
        # The jobs finish while nobody listens: their results reach no gateway session of ours.
        for _ in range(400):
            if [j.status for j in emulator.jobs].count("done") >= 2:
                break
            await asyncio.sleep(0.05)
        await proxy.start()
        # Well inside the 5-minute timeout: the results come from the start-up reconciliation, not a timeout.
        tasks = await wait_all_final(proxy, ids, timeout=60)
    finally:
        await proxy.aclose()
    assert proxy.kills == 1 and proxy.starts == 2
    assert [t["status"] for t in tasks] == ["SUCCESS"] * 5, [(t["status"], t["failReason"]) for t in tasks]
    assert all(t["imageUrl"] and len(t["buttons"]) == 9 for t in tasks)
    for prompt in prompts:
        assert len([j for j in emulator.jobs if prompt in j.prompt]) == 1, f"{prompt!r} ran more than once"
    log = proxy.log_path.read_text("utf-8")
    assert "start-up reconciliation: 2 of 2 unfinished task(s) settled from channel history" in log
    assert emulator.sandbox.token not in log


async def test_kill_9_then_the_saved_gateway_session_replays_what_history_cannot_show(tmp_path: Path) -> None:
    """Discord's "the bot did not answer" (INTERACTION_FAILURE) is no message: only a RESUME of the session
    the dead process had can deliver it. Without it the task would wait for its 5-minute timeout."""
    async with running_emulator(never_ack_triggers=["silent"], interaction_ack_timeout_s=2.0) as emulator:
        port = free_port()
        config = write_config(tmp_path / "mjproxy.toml", emulator, tmp_path, [emulator.sandbox], port=port,
                              account_overrides={"timeout_minutes": 5})
        proxy = ProxyProcess(config, port, tmp_path / "proxy.log")
        try:
            await proxy.start()
            task_id = (await proxy.imagine("a silent bell"))["result"]
            for _ in range(200):
                if (await proxy.tasks([task_id]))[0]["status"] == "SUBMITTED":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the session file is saved every 0.5 s
            await proxy.kill()
            await asyncio.sleep(2.5)  # Discord gives up on the bot while we are down
            await proxy.start()
            [task] = await wait_all_final(proxy, [task_id], timeout=60)
        finally:
            await proxy.aclose()
        assert task["status"] == "FAILURE"
        assert "did not answer" in task["failReason"]
        assert "resumed session" in proxy.log_path.read_text("utf-8")
        assert (tmp_path / "gateway-sessions.json").read_text("utf-8") == "{}"  # a clean stop ends the session
