"""PostgreSQL (asyncpg): the pool, its timeouts and its recovery after the database restarts.

SQLite's tuning lives in database.py; everything PostgreSQL needs is here, selected by the URL's backend
(``postgresql+asyncpg://user@host:port/db``). The repositories are the same on both: SQLAlchemy Core
statements that render for either dialect.

- Pool: ``size`` connections kept open, up to ``max_overflow`` more under bursts; a request waits at most
  ``timeout_seconds`` for one, then fails rather than queueing without end.
- Statement timeout: set per connection (``statement_timeout``), so a runaway query (a scan on a huge table,
  a lock held by a stuck node) fails after ``statement_timeout_seconds`` instead of holding a connection and
  its caller forever. Migrations lift it for their own transaction: building an index may take longer.
- Reconnect: ``pool_pre_ping`` checks a pooled connection before handing it out, so after a database
  restart each dead connection is replaced instead of failing the request that drew it. While the database
  is unreachable (restarting, failing over) taking a connection is retried with backoff for up to
  ``reconnect_seconds``, and so are whole batch writes (the group committer's), so that a restart delays
  task changes instead of dropping them; past that the caller gets ``DatabaseUnavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from mjproxy.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

# Arbitrary constant key of the migration lock (ASCII "mjpr"): nodes starting together migrate one at a time.
MIGRATION_LOCK_KEY = 0x6D6A7072


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """Connection pool and timeouts; only PostgreSQL uses them (SQLite has its own policy in database.py)."""

    size: int = 10
    max_overflow: int = 10
    timeout_seconds: float = 30.0  # waiting for a free pooled connection
    recycle_seconds: float = 1800.0  # replace connections older than this (server-side idle limits, failovers)
    statement_timeout_seconds: float = 30.0  # 0 = no limit
    connect_timeout_seconds: float = 10.0
    reconnect_seconds: float = 15.0  # how long to keep retrying while the database is unreachable


def is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def with_driver(url: URL) -> URL:
    """``postgresql://…`` means asyncpg here (SQLAlchemy's default would be psycopg2, which is not async)."""
    if url.drivername == "postgresql":
        return url.set(drivername="postgresql+asyncpg")
    if url.get_driver_name() != "asyncpg":
        raise ValueError(f"PostgreSQL needs the asyncpg driver: write postgresql+asyncpg://… (got {url.drivername})")
    return url


def engine_options(options: PoolOptions) -> dict[str, Any]:
    """Keyword arguments for ``create_async_engine`` on a PostgreSQL URL."""
    server_settings = {"application_name": "mjproxy",
                       "statement_timeout": str(int(options.statement_timeout_seconds * 1000))}
    return {
        "pool_size": options.size,
        "max_overflow": options.max_overflow,
        "pool_timeout": options.timeout_seconds,
        "pool_recycle": options.recycle_seconds,
        "pool_pre_ping": True,
        "connect_args": {"timeout": options.connect_timeout_seconds, "server_settings": server_settings},
    }


def prepare_migration(conn: Connection) -> None:
    """Inside the migration's transaction, before anything is read: no statement timeout, then the lock.

    ``pg_advisory_xact_lock`` waits until no other node holds it and is released by this transaction's
    commit or rollback - also when the process dies - so a node that starts while another migrates waits,
    then finds the schema current and does nothing.
    """
    conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


# SQLSTATEs that mean "this server cannot serve you right now", not "your statement is wrong": connection
# exceptions (08…), and admin / crash shutdown or start-up in progress (57P01…57P03).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached or dropped the connection (worth a retry)."""
    seen: BaseException | None = error
    for _ in range(5):  # SQLAlchemy wraps the driver's error, which may wrap the socket's
        if seen is None:
            return False
        if isinstance(seen, OSError):  # refused, reset, unreachable, connect timeout
            return True
        if isinstance(seen, sa.exc.DBAPIError) and seen.connection_invalidated:
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


async def retry_unavailable(operation: Callable[[], Awaitable[T]], *, within_seconds: float) -> T:
    """Run ``operation``; while it fails because the database is unreachable, again with backoff.

    Only for operations that are safe to repeat: taking a connection (nothing was sent yet) and the
    batch writes, which store whole task documents. Gives up with ``DatabaseUnavailable`` after
    ``within_seconds``; any other error is raised at once.
    """
    deadline = time.monotonic() + within_seconds
    delay = 0.05
    while True:
        try:
            return await operation()
        except Exception as error:
            if not is_unavailable(error):
                raise
            if time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(f"PostgreSQL unreachable for {within_seconds:g} s: {error}") from error
            log.warning("PostgreSQL unreachable (%s); retrying in %.2f s", type(error).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
