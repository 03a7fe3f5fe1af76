"""What only PostgreSQL has: migrations under the advisory lock, the pool, the statement timeout, reconnecting."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mjproxy.store import LATEST_VERSION, Database, PoolOptions, SqlTaskRepository
from mjproxy.store.errors import DatabaseUnavailable
from mjproxy.store.migrations import MIGRATIONS, Migration, upgrade
from mjproxy.store.postgres import MIGRATION_LOCK_KEY
from mjproxy.store.schema import schema_version
from tests.pg import PostgresCluster
from tests.store.factories import full_task


async def _versions(db: Database) -> list[int]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(schema_version.c.version))).scalars().all())


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_two_nodes_starting_together_migrate_once(pg_url: str) -> None:
    # Three real processes (nodes) connect to the same empty database at the same moment: each imports first,
    # then sleeps until the agreed instant, so none is done migrating before the others begin.
    start_at = time.time() + 3.0
    script = textwrap.dedent(f"""
        import asyncio, time
        from mjproxy.store import Database
        async def main():
            time.sleep(max(0.0, {start_at!r} - time.time()))
            db = await Database.connect({pg_url!r})
            print(db.schema_version)
            await db.close()
        asyncio.run(main())
    """)
    nodes = [await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE) for _ in range(3)]
    results = await asyncio.wait_for(asyncio.gather(*(node.communicate() for node in nodes)), timeout=60)
    assert [node.returncode for node in nodes] == [0, 0, 0], [err.decode() for _, err in results]
    assert [out.decode().strip() for out, _ in results] == [str(LATEST_VERSION)] * 3
    db = await Database.connect(pg_url)
    try:
        assert await _versions(db) == [LATEST_VERSION]  # stamped once: nobody ran the baseline twice
    finally:
        await db.close()


async def test_a_start_waits_while_another_node_holds_the_migration_lock(pg_url: str) -> None:
    holder = await asyncpg.connect(_dsn(pg_url))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        starting = asyncio.ensure_future(Database.connect(pg_url))
        await asyncio.sleep(1.0)
        assert not starting.done()  # waiting for the lock, not migrating beside the holder
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        db = await asyncio.wait_for(starting, timeout=30)
        assert db.schema_version == LATEST_VERSION
        await db.close()
    finally:
        await holder.close()


async def test_the_statement_timeout_stops_a_runaway_query_but_not_a_migration(pg_url: str) -> None:
    db = await Database.connect(pg_url, pool=PoolOptions(statement_timeout_seconds=0.2))
    try:
        async with db.read() as conn:
            assert (await conn.execute(sa.text("SHOW statement_timeout"))).scalar() == "200ms"
            with pytest.raises(sa.exc.DBAPIError, match="statement timeout"):
                await conn.execute(sa.text("SELECT pg_sleep(2)"))
        async with db.engine.begin() as conn:  # a slow migration step still runs to the end
            slow = Migration(LATEST_VERSION + 1, "slow", ("SELECT pg_sleep(0.5)",))
            assert await conn.run_sync(lambda c: upgrade(c, (*MIGRATIONS, slow))) == LATEST_VERSION + 1
    finally:
        await db.close()


async def test_the_pool_is_bounded_and_a_caller_waits_only_pool_timeout(pg_url: str) -> None:
    db = await Database.connect(pg_url, pool=PoolOptions(size=2, max_overflow=0, timeout_seconds=0.3))
    try:
        async with db.read(), db.read():
            with pytest.raises(sa.exc.TimeoutError):
                async with db.read():
                    pass
        async with db.read() as conn:  # both returned: a connection is free again
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await db.close()


async def test_queries_work_again_after_the_database_restarts(pg_url: str, postgres: PostgresCluster) -> None:
    db = await Database.connect(pg_url, pool=PoolOptions(size=3))
    repo = SqlTaskRepository(db)
    try:
        await repo.insert(full_task())
        # Fill the pool with connections that the restart will kill.
        async with db.read(), db.read(), db.read():
            pass
        await asyncio.to_thread(postgres.restart)
        # pool_pre_ping replaces each dead connection: no request fails after the database is back.
        for _ in range(5):
            assert await repo.get(full_task().id) == full_task()
        await repo.update(full_task(progress="99%"))
    finally:
        await db.close()


async def test_writes_wait_out_a_database_outage_and_give_up_after_reconnect_seconds(
        pg_url: str, postgres: PostgresCluster) -> None:
    db = await Database.connect(pg_url, pool=PoolOptions(reconnect_seconds=20))
    repo = SqlTaskRepository(db)
    try:
        await repo.insert(full_task())
        await asyncio.to_thread(postgres.stop)
        # The group committer's batch write while the database is down: it waits, it is not dropped.
        writing = asyncio.ensure_future(repo.update_many([full_task(progress="50%")]))
        reading = asyncio.ensure_future(repo.get(full_task().id))
        await asyncio.sleep(1.0)
        assert not writing.done() and not reading.done()
        await asyncio.to_thread(postgres.start)
        await asyncio.wait_for(writing, timeout=20)
        assert (await asyncio.wait_for(reading, timeout=20)) is not None
        stored = await repo.get(full_task().id)
        assert stored is not None and stored.progress == "50%"
    finally:
        await db.close()
    short = await Database.connect(pg_url, pool=PoolOptions(reconnect_seconds=0.5))
    try:
        await asyncio.to_thread(postgres.stop)
        with pytest.raises(DatabaseUnavailable, match="unreachable"):
            await SqlTaskRepository(short).get(full_task().id)
    finally:
        await asyncio.to_thread(postgres.start)
        await short.close()


async def test_a_node_started_before_its_database_waits_for_it(pg_url: str, postgres: PostgresCluster) -> None:
    await asyncio.to_thread(postgres.stop)
    try:
        starting = asyncio.ensure_future(Database.connect(pg_url, pool=PoolOptions(reconnect_seconds=20)))
        await asyncio.sleep(1.0)
        assert not starting.done()
    finally:
        await asyncio.to_thread(postgres.start)
    db = await asyncio.wait_for(starting, timeout=20)
    try:
        assert await _versions(db) == [LATEST_VERSION]
    finally:
        await db.close()


async def test_a_plain_postgresql_url_means_asyncpg_and_another_driver_is_refused(pg_url: str) -> None:
    db = await Database.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert db.engine.dialect.driver == "asyncpg"
    finally:
        await db.close()
    with pytest.raises(ValueError, match="asyncpg"):
        await Database.connect(pg_url.replace("postgresql+asyncpg://", "postgresql+psycopg2://"))
