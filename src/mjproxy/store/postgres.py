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
  restart each dead connection is replaced instead of failing the request that drew it; while the database
  is down, requests fail fast with an error and the server keeps answering the moment it is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

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
