"""(b) GET /mj/task/{id}/fetch throughput with 100,000 stored tasks. Target: ≥ 1,500 requests/s.

One server process (``mjproxy serve``); the load comes from a second process, ``wrk`` (Debian package
``wrk``), asking for random ids among the stored tasks over 32 keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import serve, stop

from mjproxy.domain.task import Button, Task, TaskAction, TaskStatus
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
request = function()
  local i = math.random(0, @N@ - 1)
  local id = string.format("%d%03d", @BASE@ + math.floor(i / 1000), i % 1000)
  return wrk.format("GET", "/mj/task/" .. id .. "/fetch")
end
"""


def task_id(i: int) -> str:
    return f"{BASE_MS + i // 1000}{i % 1000:03d}"


def make_task(i: int) -> Task:
    job = f"{i:08x}-0000-4000-8000-000000000000"
    return Task(
        id=task_id(i), action=TaskAction.IMAGINE, status=TaskStatus.SUCCESS, prompt=f"prompt number {i} --ar 3:2",
        prompt_en=f"prompt number {i} --ar 3:2", description=f"/imagine prompt number {i} --ar 3:2",
        submit_time=BASE_MS, start_time=BASE_MS + 1000, finish_time=BASE_MS + 50_000, progress="100%",
        image_url=f"https://cdn.discordapp.com/attachments/1/2/user_prompt_{job}.png", account_id="1",
        nonce=str(10**18 + i), message_id=str(2 * 10**18 + i), message_hash=job, final_prompt=f"prompt {i}",
        buttons=[Button(f"MJ::JOB::upsample::{n}::{job}", f"U{n}") for n in range(1, 5)]
        + [Button(f"MJ::JOB::variation::{n}::{job}", f"V{n}") for n in range(1, 5)],
    )


async def seed(db_path: Path, count: int) -> float:
    db = await Database.connect(f"sqlite+aiosqlite:///{db_path}")
    started = time.perf_counter()
    await SqlTaskRepository(db).insert_many(make_task(i) for i in range(count))
    elapsed = time.perf_counter() - started
    await db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_path = workdir / "bench.db"
        seeded = asyncio.run(seed(db_path, args.tasks))
        print(f"seeded {args.tasks} tasks in {seeded:.1f} s")
        process, base = serve(CONFIG.replace("@DB@", str(db_path)), workdir)
        script = workdir / "fetch.lua"
        script.write_text(LUA.replace("@N@", str(args.tasks)).replace("@BASE@", str(BASE_MS)))
        try:
            subprocess.run(["wrk", "-t1", "-c8", "-d3s", "-s", str(script), base], check=True,
                           capture_output=True)  # warm-up
            result = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                                     "-s", str(script), base], check=True, capture_output=True, text=True)
        finally:
            stop(process)
    output = result.stdout
    print(output)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    print(f"fetch throughput: {rps:.0f} requests/s with {args.tasks} stored tasks — target ≥ 1500"
          + (f" (non-2xx: {non2xx.group(1)})" if non2xx else ""))


if __name__ == "__main__":
    main()
