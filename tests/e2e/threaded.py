"""The real emulator and the real proxy in a background thread's event loop, for blocking clients.

The SDK's ``Client`` and the CLI block their thread while they wait for an answer, so the server they talk to
cannot share the test's event loop. ``ThreadedSandbox`` runs the same pieces as ``running_proxy`` (free
loopback ports, the real database) in a loop of its own; ``call`` runs a coroutine there (to read the
emulator's state or flip its knobs between requests).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_emulator, start_proxy

T = TypeVar("T")


class ThreadedSandbox:
    def __init__(self, data_dir: Path, *, emulator: dict[str, Any] | None = None,
                 **sections: dict[str, Any]) -> None:
        self.data_dir = data_dir
        self._knobs = emulator or {}
        self._sections = sections
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandbox-loop", daemon=True)
        self._emulator_cm: AbstractAsyncContextManager[Emulator] | None = None
        self.emulator: Emulator
        self.proxy: Proxy

    @property
    def url(self) -> str:
        return self.proxy.base_url

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        self._emulator_cm = running_emulator(**self._knobs)
        self.emulator = await self._emulator_cm.__aenter__()
        self.proxy = await start_proxy(proxy_settings(self.emulator, self.data_dir, **self._sections))

    async def _stop(self) -> None:
        try:
            await self.proxy.stop()
        finally:
            if self._emulator_cm is not None:
                await self._emulator_cm.__aexit__(None, None, None)

    def __enter__(self) -> ThreadedSandbox:
        self._thread.start()
        try:
            self.call(self._start())
        except BaseException:
            self._shutdown()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.call(self._stop())
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
