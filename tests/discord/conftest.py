"""Fixtures for the discord-layer tests (fakes live in ``discord_fakes``)."""

from __future__ import annotations

import pytest

from .discord_fakes import AutoClock, ManualClock


@pytest.fixture
def auto_clock() -> AutoClock:
    return AutoClock()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()
