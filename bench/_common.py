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


def serve(config_text: str, workdir: Path, ready_timeout: float = 60) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mjproxy serve`` with a config in ``workdir``; return once /healthz shows ready accounts."""
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
            health = httpx.get(f"{base}/healthz", timeout=2).json()
            if health["accounts"] and all(a["state"] == "ready" for a in health["accounts"]):
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
