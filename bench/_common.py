"""Shared helpers for the benchmarks: free ports, a served mjproxy subprocess, RSS readings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MJPROXY = str(Path(sys.executable).with_name("mjproxy"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def serve(config_text: str, workdir: Path, ready_timeout: float = 60,
          headers: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mjproxy serve`` with a config in ``workdir``; return once /healthz shows ready accounts.

    ``headers`` carry a credential for /healthz where the server only shows account detail to a caller it
    knows; a /healthz without account detail counts as ready once its status is "ok".
    """
    port = free_port()
    config = workdir / "mjproxy.toml"
    config.write_text(config_text.replace("@PORT@", str(port)))
    env = dict(os.environ, MJPROXY_CONFIG=str(config))
    process = subprocess.Popen([MJPROXY, "serve"], cwd=workdir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base}/healthz", timeout=2, headers=headers).json()
            accounts = health.get("accounts")
            if accounts is None and health.get("status") == "ok":
                return process, base
            if accounts and all(a["state"] == "ready" for a in accounts):
                return process, base
        except (httpx.HTTPError, ValueError):
            pass
        if process.poll() is not None:
            raise RuntimeError(f"mjproxy exited with {process.returncode}")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("mjproxy did not become ready")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def start_emulator(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """``mjproxy emulator`` in its own process (as Discord would be); returns it and its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen([MJPROXY, "emulator", "--port", str(port), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/_emulator/state", timeout=2).raise_for_status()
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator did not start")


def account_config(base: str, username: str = "bench") -> str:
    """TOML for one emulated account on the emulator at ``base`` (sandbox off, no /info sync on connect)."""
    account = httpx.post(f"{base}/_emulator/accounts", json={"username": username}, timeout=10).json()
    gateway = base.replace("http://", "ws://")
    return (f'[sandbox]\nenabled = "never"\n[discord]\napi_base = "{base}"\ngateway_url = "{gateway}"\n'
            f'sync_on_connect = false\n[[accounts]]\nname = "{username}"\nguild_id = "{account["guild_id"]}"\n'
            f'channel_id = "{account["channel_id"]}"\nuser_token = "{account["token"]}"\n')


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
