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


async def test_kill_9_mid_run_then_restart_finishes_every_task_once(slow_emulator: Emulator, tmp_path: Path) -> None:
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
