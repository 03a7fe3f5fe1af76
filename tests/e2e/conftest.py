from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mjproxy.emulator import Emulator, EmulatorConfig
from tests.e2e.harness import HookReceiver, Proxy, proxy_settings, start_proxy


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(EmulatorConfig(job_duration_s=0, heartbeat_interval_ms=2000))
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def proxy(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    started = await start_proxy(proxy_settings(emulator, tmp_path))
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def hooks() -> AsyncIterator[HookReceiver]:
    receiver = HookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
