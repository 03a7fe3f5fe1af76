from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import HookReceiver, Proxy, proxy_settings, running_emulator, running_proxy


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with running_emulator() as emu:
        yield emu


@pytest.fixture
async def proxy(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as started:
        yield started


@pytest.fixture(params=["legacy", "modern"])
async def any_profile_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """The emulator in each message profile (midjourney-bot.md §16)."""
    async with running_emulator(profile=request.param) as emu:
        yield emu


@pytest.fixture
async def any_profile_proxy(any_profile_emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    async with running_proxy(proxy_settings(any_profile_emulator, tmp_path)) as started:
        yield started


@pytest.fixture
async def hooks() -> AsyncIterator[HookReceiver]:
    receiver = HookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
