"""The proxy as a real operating-system process, for crash tests: start it, ``kill -9`` it, start it again on
the same database. The emulator stays in the test's event loop; only the proxy crashes.

Reusable building blocks for soak tests: :func:`write_config` (settings as TOML), :class:`ProxyProcess`
(start / kill / terminate / restart, with its log kept for the failure message) and :func:`wait_all_final`
(polls many tasks at once through ``list-by-condition``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import mjproxy
from mjproxy.emulator import Emulator, SandboxAccount

FINAL = ("SUCCESS", "FAILURE", "CANCEL")
SRC_DIR = Path(mjproxy.__file__).resolve().parent.parent  # the same code the tests import


def ready(health: dict[str, Any]) -> bool:
    """Every account ready; a caller who may not see the accounts (a keyed server) reads the status."""
    if "accounts" not in health:
        return bool(health.get("status") == "ok")
    return bool(health["accounts"]) and all(a["state"] == "ready" for a in health["accounts"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and flat arrays of them are valid TOML as they are.
    if isinstance(value, bool | int | float | str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(sections: Mapping[str, Any]) -> str:
    """Settings as TOML: a table per section, an array of tables for lists of dicts (``[[accounts]]``)."""
    lines: list[str] = []
    for name, body in sections.items():
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            lines.append(f"[[{name}]]" if isinstance(body, list) else f"[{name}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
            lines.append("")
    return "\n".join(lines)


def write_config(path: Path, emulator: Emulator, data_dir: Path, accounts: Iterable[SandboxAccount], *,
                 port: int, account_overrides: Mapping[str, Any] | None = None,
                 **sections: Mapping[str, Any]) -> Path:
    data: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"database_url": f"sqlite+aiosqlite:///{data_dir}/mjproxy.db", "data_dir": str(data_dir)},
        "discord": {"api_base": emulator.base_url, "gateway_url": emulator.gateway_url,
                    "activity_base": emulator.base_url},
        "sandbox": {"enabled": "never"},
        "engine": {"timeout_sweep_seconds": 0.5},
        "logging": {"level": "INFO"},
        "accounts": [{"name": a.username, "guild_id": a.guild_id, "channel_id": a.channel_id,
                      "user_token": a.token, **(account_overrides or {})} for a in accounts],
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path.write_text(to_toml(data), "utf-8")
    return path


@dataclass
class ProxyProcess:
    """``python -m mjproxy serve --config …`` in a child process."""

    config: Path
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    async def start(self, *, wait_ready: bool = True, timeout: float = 60.0) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC_DIR), os.environ.get("PYTHONPATH", "")])}
        env.pop("MJPROXY_CONFIG", None)
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts} =====\n".encode())
        log.flush()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mjproxy", "serve", "--config", str(self.config),
            stdout=log, stderr=log, env=env)
        log.close()
        await self._wait_up(wait_ready, timeout)

    async def _wait_up(self, wait_ready: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"the proxy exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                health = (await self.client.get("/healthz")).json()
                if not wait_ready or ready(health):
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy did not come up in {timeout}s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """``kill -9``: no shutdown code runs, whatever was in memory is gone."""
        assert self.process is not None and self.process.returncode is None, "the proxy is not running"
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def terminate(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def restart_after_kill(self) -> None:
        await self.kill()
        await self.start()

    async def aclose(self) -> None:
        await self.terminate()
        await self.client.aclose()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])

    # -- API helpers ---------------------------------------------------------------------------------
    async def imagine(self, prompt: str, **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/mj/submit/imagine", json={"prompt": prompt, **fields})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def tasks(self, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            response = await self.client.post("/mj/task/list-by-condition", json={"ids": ids[start:start + 500]})
            assert response.status_code == 200, response.text
            found += response.json()
        return found


async def wait_all_final(proxy: ProxyProcess, ids: list[str], *, timeout: float,
                         interval: float = 0.5) -> list[dict[str, Any]]:
    """Every task final, or an AssertionError naming the ones that are not (and the proxy's log)."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = await proxy.tasks(ids)
        pending = [t for t in tasks if t["status"] not in FINAL]
        if not pending and len(tasks) == len(ids):
            return tasks
        if time.monotonic() > deadline:
            missing = set(ids) - {t["id"] for t in tasks}
            stuck = [(t["id"], t["status"], t["progress"]) for t in pending[:10]]
            raise AssertionError(f"{len(pending)} task(s) not final after {timeout}s, e.g. {stuck}; "
                                 f"{len(missing)} missing\n{proxy.log_tail()}")
        await asyncio.sleep(interval)
