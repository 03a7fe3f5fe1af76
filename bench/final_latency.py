"""(a) Latency mjproxy adds between the bot's final message and the task being SUCCESS in the store.

The emulator runs in its own process (as Discord would be), with instant jobs, in rounds of 50
concurrent jobs. Two clocks are read:

- *proxy-added*: from the moment our gateway client has decoded the final MESSAGE_CREATE frame to the
  moment the SUCCESS change is published, which happens only after it is persisted (DESIGN
  invariant 5). This is the figure the target applies to: p99 < 20 ms.
- *end to end*: from the final message's creation inside the emulator (its id is a real time-based
  snowflake) to the same point; it adds the emulator's own work (it renders 50 grids at once on the
  same two cores) and the loopback transfer.
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
from mjproxy.discord.gateway import GatewayClient
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


received: dict[str, float] = {}


def instrument_gateway() -> None:
    """Note when each final job message has been decoded by the gateway client (bench-only hook)."""
    original = GatewayClient._handle_dispatch

    async def timed(self: GatewayClient, payload: dict[str, object]) -> None:
        data = payload.get("d")
        if payload.get("t") == "MESSAGE_CREATE" and isinstance(data, dict) and data.get("components"):
            received[str(data["id"])] = time.time() * 1000
        await original(self, payload)

    GatewayClient._handle_dispatch = timed  # type: ignore[method-assign]


async def run(rounds: int, concurrency: int, workdir: Path, port: int) -> tuple[list[float], list[float]]:
    base = f"http://127.0.0.1:{port}"
    await wait_emulator(base)
    async with httpx.AsyncClient() as client:
        # Small images: the emulator's rendering shares our two cores, the proxy's work does not depend on it.
        await client.post(f"{base}/_emulator/config", json={"concurrency": concurrency * 2, "grid_size": 128,
                                                              "preview_size": 32, "queue_size": concurrency * 2})
        sandbox = (await client.post(f"{base}/_emulator/accounts", json={"username": "bench"})).json()
    settings = Settings(
        storage={"database_url": f"sqlite+aiosqlite:///{workdir}/latency.db", "data_dir": str(workdir)},
        discord={"api_base": base, "gateway_url": f"ws://127.0.0.1:{port}"},
        accounts=[{"name": "bench", "guild_id": sandbox["guild_id"], "channel_id": sandbox["channel_id"],
                   "user_token": sandbox["token"], "core_size": concurrency, "queue_size": concurrency}],
        sandbox={"enabled": "never"},
        images={"rehost": False},  # the event path alone; re-hosting has its own benchmark (bench_images.py)
    )
    runtime = Runtime(settings)
    await runtime.start()
    for account in runtime.accounts.values():
        await account.wait_ready(30)
    latencies: list[float] = []
    end_to_end: list[float] = []
    done: dict[str, asyncio.Future[None]] = {}

    def on_change(event: TaskChanged) -> None:
        if event.status != "SUCCESS":
            return
        published_ms = time.time() * 1000
        message_id = event.snapshot["properties"]["messageId"]
        latencies.append(published_ms - received[message_id])
        end_to_end.append(published_ms - snowflake_time_ms(message_id))
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
    return latencies, end_to_end


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
            instrument_gateway()
            latencies, end_to_end = asyncio.run(run(args.rounds, args.concurrency, Path(tmp), port))
    finally:
        emulator.terminate()
        emulator.wait(10)
    print(f"{len(latencies)} jobs, {args.concurrency} concurrent")
    print(f"proxy-added: p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
          f"max {max(latencies):.1f} ms — target p99 < 20 ms")
    print(f"end to end:  p50 {statistics.median(end_to_end):.1f} ms, p99 {percentile(end_to_end, 0.99):.1f} ms, "
          f"max {max(end_to_end):.1f} ms", file=sys.stdout)


if __name__ == "__main__":
    main()
