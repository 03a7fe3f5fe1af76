"""(d) Throughput with many accounts: 20 emulated accounts × 3 slots, 1-second jobs, 2,000 imagines at once.

Ideal: every slot busy all the time = accounts × slots / job time = 60 jobs/s, so 2,000 jobs in 33.3 s.
Target: achieved / ideal ≥ 0.95, no failure.

The emulator runs in its own process (as Discord would), with 1-second jobs (its progress steps are
spread over that second), small images, and a Midjourney queue large enough never to refuse. The proxy's
runtime runs in this process with the 20 accounts (core size 3, queue 200, no /info sync on connect). All
2,000 tasks are submitted at once through the engine; the clock runs from the first submit to the last
terminal change on the event bus. CPU time of both processes is reported, and completions per second over
the run, so that a shortfall can be placed (ramp-up, tail, a saturated process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _common import MJPROXY, free_port

from mjproxy.config import Settings
from mjproxy.domain.ids import snowflake_time_ms
from mjproxy.domain.task import Task
from mjproxy.engine.events import TaskChanged
from mjproxy.engine.ports import AccountPort
from mjproxy.engine.service import ImagineRequest, TaskService
from mjproxy.runtime import Runtime

TERMINAL = {"SUCCESS", "FAILURE", "CANCEL"}
TICKS = os.sysconf("SC_CLK_TCK")

# Per task: when its slot was taken (the executor started), and when each status was first announced.
executed: dict[str, float] = {}
# task → (nonce made, start message created, final message created): wall clock, from snowflakes
stamps: dict[str, tuple[float, float, float]] = {}
seen: dict[str, dict[str, float]] = {}
account_of: dict[str, str] = {}


def instrument_executor() -> None:
    """Note when the scheduler hands each task to the executor, i.e. takes a running slot (bench-only)."""
    original = TaskService.execute

    async def timed(self: TaskService, account: AccountPort, task: Task) -> None:
        executed[task.id] = time.time()
        await original(self, account, task)

    TaskService.execute = timed  # type: ignore[method-assign]


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "n/a"
    pick = lambda f: ordered[min(len(ordered) - 1, round(f * (len(ordered) - 1)))]  # noqa: E731
    return (f"mean {sum(ordered) / len(ordered) * 1000:.0f} ms, p50 {pick(0.5) * 1000:.0f} ms, "
            f"p90 {pick(0.9) * 1000:.0f} ms, p99 {pick(0.99) * 1000:.0f} ms")


def breakdown(started: float) -> None:
    """Where the time of a slot goes, one task's cycle in four legs (wall clock, ms-resolution snowflakes)."""
    done = [t for t in stamps if t in executed and "SUCCESS" in seen.get(t, {})]
    to_nonce = [stamps[t][0] - executed[t] for t in done]
    send = [stamps[t][1] - stamps[t][0] for t in done]
    job = [stamps[t][2] - stamps[t][1] for t in done]
    back = [seen[t]["SUCCESS"] - stamps[t][2] for t in done]
    by_account: dict[str, list[tuple[float, float]]] = {}
    for task_id in done:
        by_account.setdefault(account_of[task_id], []).append((executed[task_id], seen[task_id]["SUCCESS"]))
    turn: list[float] = []  # from a task's SUCCESS to the start of the next task on the same account
    last_finish: list[float] = []
    for spans in by_account.values():
        starts = sorted(s for s, _ in spans)
        finishes = sorted(f for _, f in spans)
        last_finish.append(finishes[-1] - started)
        for f in finishes:
            later = [s for s in starts if s >= f]
            if later:
                turn.append(later[0] - f)
    print(f"1 slot taken → nonce made (proxy, before sending): {quantiles(to_nonce)}")
    print(f"2 nonce made → start message created (store the nonce, POST, emulator takes it): {quantiles(send)}")
    print(f"3 start message → final message created (the emulator's job): {quantiles(job)}")
    print(f"4 final message created → SUCCESS announced (gateway, tracker, store): {quantiles(back)}")
    print(f"5 SUCCESS → next task starts on that account: {quantiles(turn)}")
    tasks = sorted(len(v) for v in by_account.values())
    print(f"tasks per account: min {tasks[0]}, max {tasks[-1]}; last finish per account: "
          f"min {min(last_finish):.1f} s, max {max(last_finish):.1f} s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_emulator(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(200):
        try:
            (await client.get(f"{base}/_emulator/state")).raise_for_status()
            return
        except httpx.HTTPError:
            await asyncio.sleep(0.1)
    raise RuntimeError("emulator did not start")


async def run(args: argparse.Namespace, workdir: Path, port: int, emulator_pid: int) -> None:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        await wait_emulator(client, base)
        await client.post(f"{base}/_emulator/config", json={
            "job_duration_s": args.job_seconds, "concurrency": args.slots, "queue_size": args.tasks,
            "grid_size": 128, "preview_size": 32})
        sandboxes = [(await client.post(f"{base}/_emulator/accounts", json={"username": f"bench{i}"})).json()
                     for i in range(args.accounts)]
    settings = Settings(
        storage={"database_url": f"sqlite+aiosqlite:///{workdir}/throughput.db", "data_dir": str(workdir)},
        discord={"api_base": base, "gateway_url": f"ws://127.0.0.1:{port}", "sync_on_connect": False},
        accounts=[{"name": f"bench{i}", "guild_id": s["guild_id"], "channel_id": s["channel_id"],
                   "user_token": s["token"], "core_size": args.core_size or args.slots,
                   "queue_size": args.queue_size}
                  for i, s in enumerate(sandboxes)],
        sandbox={"enabled": "never"},
        images={"rehost": False},  # the event path alone; re-hosting has its own benchmark (bench_images.py)
        logging={"level": "WARNING"},
    )
    runtime = Runtime(settings)
    await runtime.start()
    await asyncio.gather(*(account.wait_ready(60) for account in runtime.accounts.values()))
    print(f"{len(runtime.accounts)} accounts ready")

    finished: dict[str, str] = {}
    finish_times: list[float] = []
    all_done = asyncio.Event()
    expected: set[str] = set()

    def on_change(event: TaskChanged) -> None:
        now = time.time()
        seen.setdefault(event.task_id, {}).setdefault(event.status, now)
        properties = event.snapshot["properties"]
        account_of[event.task_id] = properties.get("discordInstanceId") or ""
        if event.status == "SUCCESS":
            # Both ids are time-based snowflakes: the nonce is made just before our interaction is sent,
            # the final message id when the emulator creates the finished job's message.
            # The start message ("Waiting to start") is posted the moment the emulator takes the interaction.
            stamps[event.task_id] = (snowflake_time_ms(properties["nonce"]) / 1000,
                                     snowflake_time_ms(properties["progressMessageId"]) / 1000,
                                     snowflake_time_ms(properties["messageId"]) / 1000)
        if event.status in TERMINAL and event.task_id not in finished:
            finished[event.task_id] = event.status
            finish_times.append(now)
            if expected and expected.issubset(finished):
                all_done.set()

    runtime.bus.subscribe(on_change)
    emulator_cpu0, own_cpu0 = cpu_seconds(emulator_pid), own_cpu_seconds()
    started = time.time()
    try:
        results = await asyncio.gather(*(runtime.service.submit_imagine(
            ImagineRequest(prompt=f"throughput probe {i}")) for i in range(args.tasks)))
        submitted = time.time()
        codes = Counter(int(r.code) for r in results)
        expected.update(r.result for r in results if r.result is not None)
        if expected.issubset(finished):
            all_done.set()
        try:
            await asyncio.wait_for(all_done.wait(), timeout=args.timeout)
        except TimeoutError:
            print(f"TIMEOUT: {len(expected & finished.keys())} of {len(expected)} finished")
        ended = max(finish_times) if finish_times else time.time()
    finally:
        emulator_cpu, own_cpu = cpu_seconds(emulator_pid) - emulator_cpu0, own_cpu_seconds() - own_cpu0
        await runtime.stop()

    elapsed = ended - started
    ideal = args.tasks * args.job_seconds / (args.accounts * args.slots)
    statuses = Counter(finished[t] for t in expected if t in finished)
    failures = len(expected) - statuses["SUCCESS"] + sum(n for c, n in codes.items() if c not in (1, 22))
    print(f"submit codes {dict(codes)}; all {args.tasks} submitted in {submitted - started:.2f} s")
    print(f"finished {dict(statuses)} in {elapsed:.1f} s; ideal {ideal:.1f} s "
          f"({args.accounts} accounts × {args.slots} slots, {args.job_seconds:g} s jobs)")
    ideal_rate = args.accounts * args.slots / args.job_seconds
    print(f"throughput {len(expected) / elapsed:.1f} jobs/s of an ideal {ideal_rate:.0f} → efficiency "
          f"{ideal / elapsed:.3f} (target ≥ 0.95), failures {failures}")
    print(f"CPU during the run: proxy (this process) {own_cpu:.1f} s = {own_cpu / elapsed:.0%} of a core; "
          f"emulator {emulator_cpu:.1f} s = {emulator_cpu / elapsed:.0%} of a core")
    # Completions per 2-second window: a flat line near 120 means every slot was busy; dips show where not.
    windows = Counter(int((t - started) // 2) for t in finish_times)
    print("completions per 2 s:", " ".join(str(windows.get(w, 0)) for w in range(max(windows) + 1)))
    breakdown(started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--core-size", type=int, default=0,
                        help="our running slots per account (default: = --slots, Midjourney's concurrency)")
    parser.add_argument("--job-seconds", type=float, default=1.0)
    parser.add_argument("--queue-size", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    port = free_port()
    emulator = subprocess.Popen([MJPROXY, "emulator", "--port", str(port), "--job-duration", str(args.job_seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            instrument_executor()
            asyncio.run(run(args, Path(tmp), port, emulator.pid))
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    main()
