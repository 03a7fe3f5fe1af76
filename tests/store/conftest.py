"""Every store test runs on each backend: SQLite (file, and in memory where it applies) and PostgreSQL.

``db_url`` / ``db`` are parametrised over the backends; a test that is about SQLite itself (pragmas, the
file on disk, the in-loop reader) asks for ``sqlite_url`` instead. ``new_db_url()`` makes another empty
database of the same backend (to compare a migrated schema with a fresh one, say).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from mjproxy.domain.ids import TaskIdGenerator
from mjproxy.store import Database, SqlTaskRepository
from tests.pg import PostgresCluster

from .factories import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def new_id() -> Callable[[], str]:
    return TaskIdGenerator().next


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'mjproxy.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    made: list[str] = []
    cluster: PostgresCluster | None = request.getfixturevalue("postgres") if backend == "postgresql" else None

    def make() -> str:
        if cluster is None:
            return f"sqlite+aiosqlite:///{tmp_path / 'extra' / f'{len(made)}.db'}"
        made.append(cluster.create_database())
        return made[-1]

    yield make
    for url in made:
        assert cluster is not None
        cluster.drop_database(url)


@pytest.fixture
def db_url(backend: str, sqlite_url: str, request: pytest.FixtureRequest) -> str:
    return sqlite_url if backend == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
async def db(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Database]:
    if request.param == "sqlite-file":
        url = sqlite_url
    elif request.param == "sqlite-memory":
        url = "sqlite+aiosqlite:///:memory:"
    else:
        url = str(request.getfixturevalue("pg_url"))
    database = await Database.connect(url)
    yield database
    await database.close()


@pytest.fixture
async def repo(db: Database, clock: FakeClock) -> SqlTaskRepository:
    return SqlTaskRepository(db, clock=clock)
