"""(a) Latency mjproxy adds between the bot's final message and the task being SUCCESS in the store.

The emulator runs in its own process (as Discord would be), with instant jobs. Its message ids are
real time-based snowflakes, so the final message's creation time is read from its id; the proxy side
records when the SUCCESS change was published, which happens only after it is persisted (DESIGN
invariant 5). Rounds of 50 concurrent jobs. Target: p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import MJPROXY, free_port

from mjproxy.config import Settings
from mjproxy.domain.ids import snowflake_time_ms
from mjproxy.engine.events import TaskChanged
from mjproxy.engine.service import ImagineRequest
from mjproxy.runtime import Runtime


async def wait_emulator(base: str) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                state: dict[str, object] = (await client.get(f"{base}/_emulator/state")).json()
                return state
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError("emulator did not start")


async def run(rounds: int, concurrency: int, workdir: Path, port: int) -> list[float]:
    base = f"http://127.0.0.1:{port}"
    await wait_emulator(base)
    async with httpx.AsyncClient() as client:
        await client.post(f"{base}/_emulator/config", json={"concurrency": concurrency * 2,
                                                              "queue_size": concurrency * 2})
        sandbox = (await client.post(f"{base}/_emulator/accounts", json={"username": "bench"})).json()
    settings = Settings(
        storage={"database_url": f"sqlite+aiosqlite:///{workdir}/latency.db", "data_dir": str(workdir)},
        discord={"api_base": base, "gateway_url": f"ws://127.0.0.1:{port}"},
        accounts=[{"name": "bench", "guild_id": sandbox["guild_id"], "channel_id": sandbox["channel_id"],
                   "user_token": sandbox["token"], "core_size": concurrency, "queue_size": concurrency}],
        sandbox={"enabled": "never"},
    )
    runtime = Runtime(settings)
    await runtime.start()
    for account in runtime.accounts.values():
        await account.wait_ready(30)
    latencies: list[float] = []
    done: dict[str, asyncio.Future[None]] = {}

    def on_change(event: TaskChanged) -> None:
        if event.status != "SUCCESS":
            return
        published_ms = time.time() * 1000
        message_id = event.snapshot["properties"]["messageId"]
        latencies.append(published_ms - snowflake_time_ms(message_id))
        future = done.get(event.task_id)
        if future is not None and not future.done():
            future.set_result(None)

    runtime.bus.subscribe(on_change)
    try:
        for round_number in range(rounds):
            results = await asyncio.gather(*(runtime.service.submit_imagine(
                ImagineRequest(prompt=f"latency probe {round_number}-{i}")) for i in range(concurrency)))
            loop = asyncio.get_running_loop()
            for result in results:
                assert result.result is not None, result
                done[result.result] = loop.create_future()
            await asyncio.wait_for(asyncio.gather(*(done[r.result] for r in results if r.result)), 60)
    finally:
        await runtime.stop()
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    port = free_port()
    emulator = subprocess.Popen([MJPROXY, "emulator", "--port", str(port), "--job-duration", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            latencies = asyncio.run(run(args.rounds, args.concurrency, Path(tmp), port))
    finally:
        emulator.terminate()
        emulator.wait(10)
    print(f"{len(latencies)} jobs, {args.concurrency} concurrent: p50 {statistics.median(latencies):.1f} ms, "
          f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms — target p99 < 20 ms",
          file=sys.stdout)


if __name__ == "__main__":
    main()
