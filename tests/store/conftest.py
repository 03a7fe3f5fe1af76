from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mjproxy.domain.ids import TaskIdGenerator
from mjproxy.store import Database, SqlTaskRepository

from .factories import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def new_id() -> Callable[[], str]:
    return TaskIdGenerator().next


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'mjproxy.db'}"


@pytest.fixture(params=["file", "memory"])
async def db(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Database]:
    url = db_url if request.param == "file" else "sqlite+aiosqlite:///:memory:"
    database = await Database.connect(url)
    yield database
    await database.close()


@pytest.fixture
async def repo(db: Database, clock: FakeClock) -> SqlTaskRepository:
    return SqlTaskRepository(db, clock=clock)
