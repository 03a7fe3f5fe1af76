"""One AsyncEngine per process, its SQLite tuning, migrations at startup, and read/write sessions.

Repositories never open connections themselves: they ask for ``read()`` or ``write()`` so that the
dialect-specific concurrency policy lives here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from mjproxy.store.migrations import upgrade
from mjproxy.store.postgres import PoolOptions, engine_options, is_postgres, retry_unavailable, with_driver

# The in-loop reader (see InLoopReader) must never stall the event loop for long; past this it gives
# up and the query goes the ordinary async way.
IN_LOOP_BUSY_TIMEOUT_MS = 50

# How long a SQLite connection waits for another *process* holding the write lock before failing
# with "database is locked". Writers inside this process never wait here: see Database.write.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _is_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or "mode=memory" in database


def _file_path(database: str) -> str:
    # Exactly how SQLAlchemy's pysqlite dialect resolves the file (abspath, no "~" expansion), so the
    # in-loop reader opens the very file the engine does.
    return os.path.abspath(database)


def _ensure_parent_dir(database: str) -> None:
    # A fresh install points at data/mjproxy.db; sqlite would fail with "unable to open database file".
    path = Path(_file_path(database))
    path.parent.mkdir(parents=True, exist_ok=True)
    # The database holds tokens and key hashes: created readable by its owner only. SQLite gives its -wal
    # and -shm files the database file's mode, so they are private too.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(memory: bool, *, background_checkpoints: bool = False) -> list[str]:
    pragmas = [
        # NORMAL is durable in WAL mode except for the last transactions on power loss, and avoids an
        # fsync per commit - which matters because every progress update is a commit.
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ]
    if not memory:
        # WAL: readers never block the writer nor each other, which the fetch endpoint relies on.
        pragmas.insert(0, "PRAGMA journal_mode=WAL")
        # No automatic checkpoint inside a commit: with ~10 index pages per task update, SQLite would
        # checkpoint (copy + fsync) in the middle of every ~100th write, stalling it for tens of ms.
        # WalCheckpointer does that work in the background instead.
        if background_checkpoints:
            pragmas.append("PRAGMA wal_autocheckpoint=0")
    return pragmas


class _GuardedConnection:
    """A plain sqlite3 connection used from worker threads, one caller at a time, closed only when idle.

    Why: ``asyncio.to_thread`` cannot be cancelled. When the awaiting task is cancelled (shutdown, a
    request timeout) the worker thread carries on with the connection; a second call or ``close()``
    from another thread would then use the same sqlite3 connection concurrently, which the sqlite3
    module does not survive (a segmentation fault, seen in CI). Every use and the close take this lock.
    """

    def __init__(self, path: str, pragmas: tuple[str, ...]) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        for pragma in pragmas:
            self._conn.execute(pragma)

    @contextlib.contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError("the connection is closed")
            yield self._conn

    def close(self) -> None:
        """Blocks until a call in flight has finished; call it from a worker thread, not the loop."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class WalCheckpointer:
    """Folds the WAL back into the database file in the background, off every commit's path.

    PASSIVE checkpoints never wait for (or block) readers and writers; they copy what they can. Once
    the WAL has grown past ``truncate_pages`` a TRUNCATE checkpoint resets it, which may wait briefly for
    readers but keeps the file from growing without bound under constant load.
    """

    def __init__(self, path: str, *, interval_seconds: float = 1.0, truncate_pages: int = 50_000) -> None:
        self._conn = _GuardedConnection(path, (f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",))
        self._interval = interval_seconds
        self._truncate_pages = truncate_pages
        self._job: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._job = asyncio.get_running_loop().create_task(self._loop(), name="sqlite-wal-checkpointer")

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, WAL pages, pages checkpointed) of one PASSIVE checkpoint; TRUNCATE when the WAL is large."""
        with self._conn.use() as conn:
            busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if log >= self._truncate_pages:
                busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy), int(log), int(done)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            # Busy or locked by another process: the next round catches up.
            with contextlib.suppress(sqlite3.Error):
                await asyncio.to_thread(self.checkpoint)

    async def close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            await asyncio.gather(self._job, return_exceptions=True)
            self._job = None
        with contextlib.suppress(sqlite3.Error):
            await asyncio.to_thread(self.checkpoint)
        await asyncio.to_thread(self._conn.close)


class InLoopReader:
    """Single-row indexed lookups on a plain sqlite3 connection, run directly on the event loop.

    Why: through aiosqlite every query is several hand-offs to its worker thread and back, about
    300 µs of mostly thread wake-ups on a small machine, while the lookup itself (a primary-key
    probe on a WAL database whose pages are cached) costs ~15 µs. The fetch endpoint has to sustain
    thousands of lookups a second, so for those - and only those - blocking the loop for microseconds
    is far cheaper than not blocking it. WAL readers never wait for the writer; should SQLite still
    report busy, the caller falls back to the async path rather than stall the loop. Anything that
    can scan (lists, counts) stays on the async path.
    """

    def __init__(self, path: str, dialect: sa.Dialect) -> None:
        # Autocommit (isolation_level=None): each SELECT reads the latest committed snapshot and no
        # read transaction is left open to pin the WAL. query_only: this connection cannot write.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={IN_LOOP_BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA query_only=ON")
        self._dialect = dialect
        self._compiled: dict[int, tuple[sa.Select[Any], SQLCompiler]] = {}

    def scalar(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> Any:
        """First column of the first row, or None. Raises sqlite3.Error on busy / locked."""
        entry = self._compiled.get(id(statement))
        if entry is None:
            compiled = statement.compile(dialect=self._dialect)
            assert isinstance(compiled, SQLCompiler)
            # The statement is kept in the entry so its id() cannot be reused by another object.
            entry = self._compiled[id(statement)] = (statement, compiled)
        compiled = entry[1]
        bound = compiled.construct_params(dict(params))
        positions = compiled.positiontup or ()
        row = self._conn.execute(compiled.string, [bound[name] for name in positions]).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self._conn.close()


def _compile_positional(statement: sa.ClauseElement, dialect: sa.Dialect) -> SQLCompiler:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


class ThreadWriter:
    """Batched writes on a plain sqlite3 connection: the whole transaction in one thread hand-off.

    Why: through aiosqlite a transaction is several hand-offs to its worker thread (begin, statement,
    commit), each one a chance to be descheduled; the group committer's batches sit on the path of every
    task change, so their latency is the task's latency. The same compiled SQL as the Core statement is
    used, so the schema still lives in one place. Callers hold the database's write lock.
    """

    def __init__(self, path: str, dialect: sa.Dialect) -> None:
        self._conn = _GuardedConnection(path, ("PRAGMA synchronous=NORMAL",
                                               f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
                                               "PRAGMA wal_autocheckpoint=0"))
        self._dialect = dialect
        self._compiled: dict[int, tuple[sa.ClauseElement, SQLCompiler]] = {}

    def prepare(self, statement: sa.ClauseElement, rows: list[dict[str, Any]]) -> tuple[str, list[list[Any]]]:
        """Compile once per statement and bind every row, on the caller's thread (cheap, pure Python)."""
        entry = self._compiled.get(id(statement))
        if entry is None:
            entry = self._compiled[id(statement)] = (statement, _compile_positional(statement, self._dialect))
        compiled = entry[1]
        positions = compiled.positiontup or ()
        params = []
        for row in rows:
            bound = compiled.construct_params(row)
            params.append([bound[name] for name in positions])
        return compiled.string, params

    def executemany(self, sql: str, params: list[list[Any]]) -> None:
        self.execute_batches([(sql, params)])

    def execute_batches(self, batches: Sequence[tuple[str, list[list[Any]]]]) -> None:
        """Several executemany calls in one transaction: all of them are stored, or none."""
        with self._conn.use() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in batches:
                    if params:
                        conn.executemany(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.close)


class Database:
    """The process's connection to the store. Create with ``await Database.connect(url)``."""

    def __init__(
        self,
        engine: AsyncEngine,
        schema_version: int,
        *,
        serialise_reads: bool = False,
        in_loop_reader: InLoopReader | None = None,
        checkpointer: WalCheckpointer | None = None,
        thread_writer: ThreadWriter | None = None,
        reconnect_seconds: float | None = None,
    ) -> None:
        self._engine = engine
        # PostgreSQL only: how long checkouts and batch writes keep retrying an unreachable database.
        self._reconnect_seconds = reconnect_seconds
        self._thread_writer = thread_writer
        self._in_loop_reader = in_loop_reader
        self._checkpointer = checkpointer
        self._schema_version = schema_version
        # SQLite has one writer per database. Serialising this process's writes on an asyncio.Lock
        # turns lock contention into a cheap FIFO wait on the event loop instead of threads spinning
        # in sqlite's busy handler (and, with several pooled connections, "database is locked" once
        # busy_timeout runs out under load). Transactions are one statement or one batch, so the lock
        # is held for well under a millisecond. PostgreSQL has row locks and gets no lock here.
        self._write_lock: asyncio.Lock | None = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else None
        )
        # In-memory SQLite shares one connection (StaticPool). Two coroutines interleaving on it
        # would share a transaction - a read's rollback-on-return could undo a write in flight - so
        # there every access takes the lock.
        self._serialise_reads = serialise_reads

    @classmethod
    async def connect(cls, url: str, *, echo: bool = False, pool: PoolOptions | None = None) -> Database:
        """Open the engine, tune SQLite, and migrate the schema (refusing a newer one).

        ``pool`` sizes the connection pool and sets the timeouts on PostgreSQL (see store/postgres.py).
        """
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        reconnect_seconds: float | None = None
        if is_postgres(parsed):
            parsed = with_driver(parsed)
            pool = pool or PoolOptions()
            kwargs.update(engine_options(pool))
            reconnect_seconds = pool.reconnect_seconds
        is_sqlite = parsed.get_backend_name() == "sqlite"
        memory = is_sqlite and _is_memory(parsed.database)
        if is_sqlite and memory:
            kwargs["poolclass"] = StaticPool  # one connection, or each session would see its own empty DB
        elif is_sqlite and parsed.database and not parsed.database.startswith("file:"):
            await asyncio.to_thread(_ensure_parent_dir, parsed.database)

        local_file = bool(is_sqlite and not memory and parsed.database
                          and not parsed.database.startswith("file:"))
        engine = create_async_engine(parsed, **kwargs)
        if is_sqlite:
            pragmas = _sqlite_pragmas(memory, background_checkpoints=local_file)

            @sa.event.listens_for(engine.sync_engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                try:
                    for pragma in pragmas:
                        cursor.execute(pragma)
                finally:
                    cursor.close()

        reader: InLoopReader | None = None
        checkpointer: WalCheckpointer | None = None
        writer: ThreadWriter | None = None
        try:
            if reconnect_seconds is None:
                version = await _migrate(engine)
            else:  # a node may start before its database is up (compose, failover): wait for it
                version = await retry_unavailable(lambda: _migrate(engine), within_seconds=reconnect_seconds)
            if local_file and parsed.database:
                reader = InLoopReader(_file_path(parsed.database), engine.dialect)
                checkpointer = WalCheckpointer(_file_path(parsed.database))
                checkpointer.start()
                writer = ThreadWriter(_file_path(parsed.database), engine.dialect)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, version, serialise_reads=memory, in_loop_reader=reader, checkpointer=checkpointer,
                   thread_writer=writer, reconnect_seconds=reconnect_seconds)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    @property
    def schema_version(self) -> int:
        return self._schema_version

    async def scalar(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> Any:
        """First column of the first row of a query that hits a unique index, or None.

        Only for single-row indexed lookups: on file-backed SQLite it runs on the event loop itself
        (see InLoopReader).
        """
        if self._in_loop_reader is not None:
            try:
                return self._in_loop_reader.scalar(statement, params)
            except sqlite3.OperationalError:
                pass  # busy or locked: take the async path, which may wait without blocking the loop
        async with self.read() as conn:
            return (await conn.execute(statement, dict(params))).scalar()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries. Nothing is committed; do not write through it."""
        if self._serialise_reads and self._write_lock is not None:
            async with self._write_lock, self._engine.connect() as conn:
                yield conn
        elif self._reconnect_seconds is not None:
            async with self._checkout() as conn:
                yield conn
        else:
            async with self._engine.connect() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success and rolled back on error.

        Keep the body short - statements only, no awaiting other I/O - because on SQLite it holds the
        process-wide write lock.
        """
        if self._write_lock is not None:
            async with self._write_lock, self._engine.begin() as conn:
                yield conn
        elif self._reconnect_seconds is not None:
            async with self._checkout() as conn, conn.begin():
                yield conn
        else:
            async with self._engine.begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _checkout(self) -> AsyncIterator[AsyncConnection]:
        """A pooled PostgreSQL connection, waiting out a database restart (see store/postgres.py)."""
        assert self._reconnect_seconds is not None
        conn = await retry_unavailable(lambda: self._engine.connect().start(), within_seconds=self._reconnect_seconds)
        try:
            yield conn
        finally:
            await asyncio.shield(conn.close())  # as AsyncConnection's __aexit__: back to the pool even if cancelled

    async def _retried(self, write: Callable[[], Awaitable[None]]) -> None:
        # A whole batch again when the connection died under it: the rows are complete documents.
        if self._reconnect_seconds is None:
            await write()
        else:
            await retry_unavailable(write, within_seconds=self._reconnect_seconds)

    async def execute_many(self, statement: UpdateBase, rows: list[dict[str, Any]]) -> None:
        """One statement for many rows in one transaction (the group committer's batches)."""
        if self._thread_writer is not None:
            sql, params = self._thread_writer.prepare(statement, rows)
            assert self._write_lock is not None
            async with self._write_lock:
                await asyncio.to_thread(self._thread_writer.executemany, sql, params)
            return

        async def write() -> None:
            async with self.write() as conn:
                await conn.execute(statement, rows)

        await self._retried(write)

    async def execute_batches(self, batches: Sequence[tuple[UpdateBase, list[dict[str, Any]]]]) -> None:
        """``execute_many`` for several statements in one transaction: a task change and the rows that must
        never exist without it (the callback outbox) are stored together or not at all."""
        batches = [(statement, rows) for statement, rows in batches if rows]
        if self._thread_writer is not None:
            writer = self._thread_writer
            prepared = [writer.prepare(statement, rows) for statement, rows in batches]
            assert self._write_lock is not None
            async with self._write_lock:
                await asyncio.to_thread(writer.execute_batches, prepared)
            return

        async def write() -> None:
            async with self.write() as conn:
                for statement, rows in batches:
                    await conn.execute(statement, rows)

        await self._retried(write)

    async def scrub(self) -> None:
        """Rewrite the SQLite file so that no old version of a row survives in free pages or the WAL.

        Used once after secrets stored in clear text were encrypted in place: an UPDATE leaves the old
        bytes in the file until SQLite happens to reuse the space. No-op on other databases.
        """
        if self.dialect_name != "sqlite":
            return
        assert self._write_lock is not None
        async with self._write_lock, self._engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM")
            await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._thread_writer is not None:
            await self._thread_writer.close()
            self._thread_writer = None
        if self._checkpointer is not None:
            await self._checkpointer.close()
            self._checkpointer = None
        if self._in_loop_reader is not None:
            self._in_loop_reader.close()
            self._in_loop_reader = None
        await self._engine.dispose()


async def _migrate(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite does not open a transaction before DDL; BEGIN IMMEDIATE makes the whole
            # migration atomic and takes the write lock up front, so two processes starting on the
            # same file cannot both migrate.
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            version = await conn.run_sync(upgrade)
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
        return version
