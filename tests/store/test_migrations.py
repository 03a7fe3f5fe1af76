from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mjproxy.store import LATEST_VERSION, Database, SchemaTooNewError
from mjproxy.store.migrations import MIGRATIONS, Migration, upgrade


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def _begin(conn: AsyncConnection) -> None:
    # As Database does: pysqlite opens no transaction before DDL by itself, PostgreSQL's DDL is transactional.
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await conn.begin()


async def test_migrates_an_empty_database(db_url: str, backend: str) -> None:
    db = await Database.connect(db_url)
    try:
        assert db.schema_version == LATEST_VERSION == MIGRATIONS[-1].version
        assert {"tasks", "schema_version"} <= await _tables(db)
        assert db.dialect_name == backend
    finally:
        await db.close()


async def test_reopening_is_idempotent(db_url: str) -> None:
    for _ in range(3):
        db = await Database.connect(db_url)
        await db.close()
    db = await Database.connect(db_url)
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT version FROM schema_version"))).all()
        assert [r[0] for r in rows] == [LATEST_VERSION]
    finally:
        await db.close()


async def test_refuses_a_newer_database(db_url: str) -> None:
    db = await Database.connect(db_url)
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO schema_version (version, applied_at, description) VALUES (:v, 0, 'x')"),
            {"v": LATEST_VERSION + 1},
        )
    await db.close()
    with pytest.raises(SchemaTooNewError, match=r"newer than") as info:
        await Database.connect(db_url)
    assert info.value.database_version == LATEST_VERSION + 1


async def test_sqlite_pragmas_are_applied(sqlite_url: str) -> None:
    db = await Database.connect(sqlite_url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() > 0
    finally:
        await db.close()


async def test_later_migrations_run_in_order_and_a_failure_rolls_back(db_url: str) -> None:
    db = await Database.connect(db_url)
    add_column = Migration(LATEST_VERSION + 1, "add tasks.extra_col", ("ALTER TABLE tasks ADD COLUMN extra_col TEXT",))
    broken = Migration(LATEST_VERSION + 2, "broken", ("CREATE TABLE t3 (x INTEGER)", "THIS IS NOT SQL"))
    try:
        async with db.engine.connect() as conn:
            await _begin(conn)
            with pytest.raises(sa.exc.DBAPIError):  # OperationalError on SQLite, ProgrammingError on PostgreSQL
                await conn.run_sync(lambda c: upgrade(c, (*MIGRATIONS, add_column, broken)))
            await conn.rollback()
        assert "t3" not in await _tables(db)
        async with db.engine.connect() as conn:
            await _begin(conn)
            assert await conn.run_sync(lambda c: upgrade(c, (*MIGRATIONS, add_column))) == LATEST_VERSION + 1
            await conn.commit()
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("tasks")])
        assert "extra_col" in columns
    finally:
        await db.close()


async def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.db"
    db = await Database.connect(f"sqlite+aiosqlite:///{path}")
    await db.close()
    assert path.exists()
