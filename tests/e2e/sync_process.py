"""The proxy as a child process for synchronous tests (schemathesis drives the API with blocking calls)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.e2e.process import SRC_DIR, ready


class SyncServer:
    def __init__(self, config: Path, port: int, log_path: Path) -> None:
        self.config, self.port, self.log_path = config, port, log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SyncServer:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC_DIR), os.environ.get("PYTHONPATH", "")])}
        env.pop("MJPROXY_CONFIG", None)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen([sys.executable, "-m", "mjproxy", "serve", "--config", str(self.config)],
                                             stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 60
        while True:
            if self._process.poll() is not None:
                raise AssertionError(f"the proxy exited: {self.log_path.read_text('utf-8', 'replace')[-3000:]}")
            try:
                health = httpx.get(f"{self.base_url}/healthz", timeout=5).json()
                if ready(health):
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise AssertionError("the proxy did not come up")
            time.sleep(0.1)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
