"""The server on PostgreSQL: the main paths, a crash and restart on the same database, and a database restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, button, proxy_settings, running_emulator, running_proxy, submit
from tests.e2e.process import ProxyProcess, free_port, wait_all_final, write_config
from tests.pg import PostgresCluster


@pytest.fixture
async def pg_proxy(emulator: Emulator, tmp_path: Path, pg_url: str) -> AsyncIterator[Proxy]:
    settings = proxy_settings(emulator, tmp_path, storage={"database_url": pg_url})
    async with running_proxy(settings) as started:
        yield started


async def _succeeds(proxy: Proxy, result: dict[str, object]) -> dict[str, object]:
    assert result["code"] in (1, 22), result
    task = await proxy.wait_for(str(result["result"]))
    assert task["status"] == "SUCCESS", task["failReason"]
    return task


async def _stored_ids(pg_url: str) -> list[str]:
    conn = await asyncpg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(False))
    try:
        return [row["id"] for row in await conn.fetch("SELECT id FROM tasks ORDER BY id")]
    finally:
        await conn.close()


async def test_imagine_then_u1_then_fetch_and_list(pg_proxy: Proxy, pg_url: str) -> None:
    grid = await _succeeds(pg_proxy, await pg_proxy.imagine("a red fox on postgres"))
    assert len(grid["buttons"]) >= 9  # type: ignore[arg-type]
    upscaled = await _succeeds(pg_proxy, await submit(pg_proxy, "/mj/submit/action",
                                                      {"taskId": grid["id"], "customId": button(grid, "U1")}))
    assert upscaled["action"] == "UPSCALE" and upscaled["imageUrl"]
    fetched = await pg_proxy.fetch(str(upscaled["id"]))
    assert fetched == upscaled
    listed = (await pg_proxy.client.post("/mj/task/list-by-condition", json={"ids": [grid["id"], upscaled["id"]]}))
    assert [t["id"] for t in listed.json()] == [grid["id"], upscaled["id"]]
    assert await _stored_ids(pg_url) == [grid["id"], upscaled["id"]]  # in PostgreSQL, not some SQLite file


async def test_the_server_keeps_answering_after_postgresql_restarts(
        slow_emulator: Emulator, tmp_path: Path, pg_url: str, postgres: PostgresCluster) -> None:
    settings = proxy_settings(slow_emulator, tmp_path, storage={"database_url": pg_url})
    async with running_proxy(settings) as proxy:
        before = await _succeeds(proxy, await proxy.imagine("before the restart"))
        running = await proxy.imagine("while the database restarts")
        await proxy.wait_for(str(running["result"]), statuses=("IN_PROGRESS",))
        # Mid-job: every pooled connection dies with the server, progress arrives while it is down.
        await asyncio.to_thread(postgres.restart)
        assert (await proxy.fetch(str(before["id"])))["status"] == "SUCCESS"
        finished = await _succeeds(proxy, running)
        assert finished["imageUrl"]
        after = await _succeeds(proxy, await proxy.imagine("after the restart"))
        assert (await proxy.client.get("/healthz")).status_code == 200
    assert await _stored_ids(pg_url) == sorted([str(before["id"]), str(finished["id"]), str(after["id"])])


async def test_a_database_down_past_reconnect_seconds_answers_503_then_recovers(
        emulator: Emulator, tmp_path: Path, pg_url: str, postgres: PostgresCluster) -> None:
    settings = proxy_settings(emulator, tmp_path, storage={"database_url": pg_url, "reconnect_seconds": 0.5})
    async with running_proxy(settings) as proxy:
        done = await _succeeds(proxy, await proxy.imagine("before the outage"))
        await asyncio.to_thread(postgres.stop)
        try:
            response = await proxy.client.get(f"/mj/task/{done['id']}/fetch")
            assert response.status_code == 503 and response.headers["Retry-After"] == "5"
            assert response.json() == {"detail": "the database is unreachable; try again shortly"}
        finally:
            await asyncio.to_thread(postgres.start)
        assert (await proxy.fetch(str(done["id"])))["status"] == "SUCCESS"


@pytest.fixture
async def slow_emulator() -> AsyncIterator[Emulator]:
    async with running_emulator(job_duration_s=2.0) as emu:
        yield emu


async def test_kill_9_mid_run_then_restart_on_the_same_postgresql(
        slow_emulator: Emulator, tmp_path: Path, pg_url: str) -> None:
    emulator = slow_emulator
    port = free_port()
    config = write_config(tmp_path / "mjproxy.toml", emulator, tmp_path, [emulator.sandbox], port=port,
                          account_overrides={"core_size": 2, "queue_size": 20, "timeout_minutes": 5},
                          storage={"database_url": pg_url})
    proxy = ProxyProcess(config, port, tmp_path / "proxy.log")
    try:
        await proxy.start()
        prompts = [f"postgres crash test {i}" for i in range(4)]
        ids = [(await proxy.imagine(p))["result"] for p in prompts]
        statuses: list[str] = []
        for _ in range(400):  # two jobs running at Midjourney, two still queued in the proxy
            statuses = [t["status"] for t in await proxy.tasks(ids)]
            if statuses.count("IN_PROGRESS") == 2:
                break
            await asyncio.sleep(0.05)
        assert statuses.count("IN_PROGRESS") == 2, statuses
        await proxy.kill()
        await proxy.start()
        tasks = await wait_all_final(proxy, ids, timeout=60)
    finally:
        await proxy.aclose()
    assert [t["status"] for t in tasks] == ["SUCCESS"] * 4, [(t["status"], t["failReason"]) for t in tasks]
    for prompt in prompts:
        assert len([j for j in emulator.jobs if prompt in j.prompt]) == 1, f"{prompt!r} ran more than once"
