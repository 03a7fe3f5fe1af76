"""(b) GET /mj/task/{id}/fetch with 100,000 stored tasks, beside a bare ASGI app and a bare FastAPI route.

Targets (issue 11 §5): at least 0.5 of a bare ASGI route's requests/s, p99 < 30 ms, with one account
connected and with API keys on (a keyed request is the normal case).

Every server is one uvicorn process with the same settings (uvloop, httptools, no access log); the load
comes from ``wrk`` (Debian package ``wrk``) in another process, asking for uniformly random stored ids over
32 keep-alive connections. Four servers, one after the other, each after a 3 s warm-up:

- ``bare ASGI``: a constant answer (bench/bare_apps.py), the ceiling of the HTTP stack on this machine;
- ``bare FastAPI``: one FastAPI route with the same path, answering the same constant via JSONResponse;
- ``mjproxy, user key``: ``mjproxy serve`` on the seeded database, one emulated account connected (the
  emulator runs in its own process, as Discord would), every request carrying a user API key that owns
  the tasks;
- ``mjproxy, open``: the same on a copy of the database in which no key was ever created.

``--rounds N`` repeats the four in turn (the machine is shared: paired figures from the same round are
what compare). Ratios are taken within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import ROOT, account_config, cpu_seconds, free_port, serve, start_emulator, stop

from mjproxy.domain.task import Button, Task, TaskAction, TaskStatus
from mjproxy.store.api_keys import ApiKeyRepository
from mjproxy.store.codec import OWNER_EXTRA_KEY
from mjproxy.store.database import Database
from mjproxy.store.repository import SqlTaskRepository

BASE_MS = 1_763_000_000_000
CONFIG = """
[server]
port = @PORT@
[storage]
database_url = "sqlite+aiosqlite:///@DB@"
[logging]
level = "WARNING"
"""

LUA = """
math.randomseed(os.time())
local headers = {}
@HEADERS@
request = function()
  local i = math.random(0, @N@ - 1)
  local id = string.format("%d%03d", @BASE@ + math.floor(i / 1000), i % 1000)
  return wrk.format("GET", "/mj/task/" .. id .. "/fetch", headers)
end
"""


def task_id(i: int) -> str:
    return f"{BASE_MS + i // 1000}{i % 1000:03d}"


def make_task(i: int, owner: str | None) -> Task:
    job = f"{i:08x}-0000-4000-8000-000000000000"
    return Task(
        id=task_id(i), action=TaskAction.IMAGINE, status=TaskStatus.SUCCESS, prompt=f"prompt number {i} --ar 3:2",
        prompt_en=f"prompt number {i} --ar 3:2", description=f"/imagine prompt number {i} --ar 3:2",
        submit_time=BASE_MS, start_time=BASE_MS + 1000, finish_time=BASE_MS + 50_000, progress="100%",
        image_url=f"https://cdn.discordapp.com/attachments/1/2/user_prompt_{job}.png", account_id="1",
        nonce=str(10**18 + i), message_id=str(2 * 10**18 + i), message_hash=job, final_prompt=f"prompt {i}",
        buttons=[Button(f"MJ::JOB::upsample::{n}::{job}", f"U{n}") for n in range(1, 5)]
        + [Button(f"MJ::JOB::variation::{n}::{job}", f"V{n}") for n in range(1, 5)],
        extra={OWNER_EXTRA_KEY: owner} if owner else {},
    )


async def seed(keyed: Path, open_copy: Path, count: int) -> tuple[float, str]:
    """Tasks owned by a user key in ``keyed``; the same tasks in ``open_copy``, where no key exists."""
    db = await Database.connect(f"sqlite+aiosqlite:///{open_copy}")
    started = time.perf_counter()
    await SqlTaskRepository(db).insert_many(make_task(i, None) for i in range(count))
    elapsed = time.perf_counter() - started
    await db.close()
    db = await Database.connect(f"sqlite+aiosqlite:///{keyed}")
    record, key = await ApiKeyRepository(db).create("bench", "user")
    await SqlTaskRepository(db).insert_many(make_task(i, record.id) for i in range(count))
    await db.close()
    return elapsed, key


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_share: float  # of one core, the server process during the measured run

    def line(self) -> str:
        return (f"{self.rps:7.0f} req/s  p50 {self.p50_ms:5.1f} ms  p99 {self.p99_ms:6.1f} ms  "
                f"server CPU {self.cpu_share:4.0%}" + (f"  NON-2xx {self.errors}" if self.errors else ""))


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load(base: str, script: Path, pid: int, seconds: int, connections: int) -> Result:
    subprocess.run(["wrk", "-t1", "-c8", "-d3s", "-s", str(script), base], check=True, capture_output=True)
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                         check=True, capture_output=True, text=True).stdout
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p50 is not None and p99 is not None, out
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return Result(rps, _ms(*p50.groups()), _ms(*p99.groups()), errors, cpu)


def uvicorn_app(app: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--app-dir", str(ROOT / "bench"),
                                "--port", str(port), "--no-access-log", "--log-level", "warning"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if subprocess.run(["curl", "-sf", "-o", "/dev/null", f"{base}/mj/task/1/fetch"]).returncode == 0:
            return process, base
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def profile(pid: int, output: str, seconds: int) -> subprocess.Popen[bytes]:
    """py-spy (the dev extra) sampling the server for the warm-up and the measured run."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    fmt = "speedscope" if output.endswith(".json") else "flamegraph"
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
                             "--format", fmt, "--output", output, "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="py-spy record the keyed mjproxy run into FILE "
                        "(speedscope JSON if it ends in .json, else a flame graph SVG)")
    args = parser.parse_args()
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is required: apt-get install {tool}")
    names = ("bare ASGI", "bare FastAPI", "mjproxy, user key", "mjproxy, open")
    results: dict[str, list[Result]] = {name: [] for name in names}
    emulator, emulator_base = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            keyed_db, open_db = workdir / "keyed.db", workdir / "open.db"
            seeded, key = asyncio.run(seed(keyed_db, open_db, args.tasks))
            print(f"seeded {args.tasks} tasks in {seeded:.1f} s (twice: with a user key, and open)")
            lua = LUA.replace("@N@", str(args.tasks)).replace("@BASE@", str(BASE_MS))
            plain = workdir / "plain.lua"
            plain.write_text(lua.replace("@HEADERS@", ""))
            keyed = workdir / "keyed.lua"
            keyed.write_text(lua.replace("@HEADERS@", f'headers["Authorization"] = "Bearer {key}"'))
            for round_number in range(1, args.rounds + 1):
                for name in names:
                    if name.startswith("bare"):
                        process, base = uvicorn_app("bare_apps:asgi" if "ASGI" in name else "bare_apps:fastapi_app")
                        script = plain
                    else:
                        db = keyed_db if "key" in name else open_db
                        rundir = workdir / name.replace(", ", "-").replace(" ", "-")
                        rundir.mkdir(exist_ok=True)
                        config = CONFIG.replace("@DB@", str(db)) + account_config(emulator_base, f"b{round_number}")
                        process, base = serve(config, rundir, headers={"Authorization": f"Bearer {key}"})
                        script = keyed if "key" in name else plain
                    spy = None
                    if args.profile and name == "mjproxy, user key" and round_number == 1:
                        spy = profile(process.pid, args.profile, args.seconds + 3)
                    try:
                        result = load(base, script, process.pid, args.seconds, args.connections)
                    finally:
                        if spy is not None:
                            spy.wait(60)
                        stop(process)
                    results[name].append(result)
                    print(f"round {round_number}  {name:18} {result.line()}", flush=True)
                asgi, fastapi = results["bare ASGI"][-1].rps, results["bare FastAPI"][-1].rps
                for name in names[2:]:
                    ours = results[name][-1]
                    print(f"round {round_number}  {name:18} {ours.rps / asgi:.2f} of bare ASGI, "
                          f"{ours.rps / fastapi:.2f} of bare FastAPI, p99 {ours.p99_ms:.1f} ms "
                          f"— targets ≥ 0.5 of bare ASGI, p99 < 30 ms")
    finally:
        stop(emulator)
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds:")
        for name in names:
            runs = results[name]
            print(f"  {name:18} {statistics.median(r.rps for r in runs):7.0f} req/s  "
                  f"p99 {statistics.median(r.p99_ms for r in runs):6.1f} ms")


if __name__ == "__main__":
    main()
