"""Versioned schema: an ordered list of migrations, applied in one transaction at startup.

A fresh database is created straight from ``schema.metadata`` (migration 1, the baseline) and stamped
with the latest version, so the baseline never has to be frozen in time. An existing database runs
only the migrations newer than its stamp, in order. A database stamped newer than this code knows is
refused: older code writing to a newer schema is how data gets silently lost.

To change the schema: edit ``schema.py`` and append a ``Migration`` whose steps bring a database at
the previous version to the new shape (DDL strings, or callables for dialect-specific or data work).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mjproxy.store import schema
from mjproxy.store.errors import SchemaTooNewError
from mjproxy.store.postgres import prepare_migration

Step = str | Callable[[Connection], None]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    steps: Sequence[Step]


def _create_all(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _create_accounts_v2(conn: Connection) -> None:
    # The table exactly as version 2 defined it, frozen here rather than taken from schema.accounts:
    # once a later migration alters the table, schema.accounts describes the *final* shape and that
    # later migration would fail on (or silently skip over) a table created in that shape already.
    frozen = sa.MetaData(naming_convention=schema.metadata.naming_convention)
    sa.Table(
        "accounts",
        frozen,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("data", sa.Text, nullable=False),
    ).create(conn)


def _create_webhook_events_v4(conn: Connection) -> None:
    # Frozen like _create_accounts_v2: the outbox table exactly as version 4 defined it.
    frozen = sa.MetaData(naming_convention=schema.metadata.naming_convention)
    table = sa.Table(
        "webhook_events",
        frozen,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("task_status", sa.String(16), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("give_up_at", sa.BigInteger, nullable=False),
        sa.Column("last_attempt_at", sa.BigInteger),
        sa.Column("delivered_at", sa.BigInteger),
        sa.Column("last_http_status", sa.Integer),
        sa.Column("last_error", sa.Text),
    )
    sa.Index(None, table.c.task_id, table.c.sequence, unique=True)
    sa.Index(None, table.c.status, table.c.next_attempt_at)
    table.create(conn)


def _create_api_keys_v3(conn: Connection) -> None:
    # Frozen like the accounts table above, for the same reason.
    frozen = sa.MetaData(naming_convention=schema.metadata.naming_convention)
    sa.Table(
        "api_keys",
        frozen,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("hint", sa.String(32), nullable=False, server_default=""),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
        sa.Index(None, "key_hash", unique=True),
    ).create(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "tasks and schema_version", (_create_all,)),
    Migration(2, "accounts", (_create_accounts_v2,)),
    Migration(3, "api_keys", (_create_api_keys_v3,)),
    Migration(4, "webhook outbox", (_create_webhook_events_v4,)),
)

LATEST_VERSION = MIGRATIONS[-1].version


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, got {versions}")


def current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table(schema.schema_version.name):
        return 0
    version = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar_one()
    return int(version or 0)


def _run(conn: Connection, step: Step) -> None:
    if isinstance(step, str):
        conn.exec_driver_sql(step)
    else:
        step(conn)


def _stamp(conn: Connection, migration: Migration) -> None:
    conn.execute(
        sa.insert(schema.schema_version).values(
            version=migration.version, applied_at=int(time.time() * 1000), description=migration.description
        )
    )


def upgrade(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to the latest version; returns it. The caller owns the transaction."""
    _check_order(migrations)
    latest = migrations[-1].version
    if conn.dialect.name == "postgresql":
        prepare_migration(conn)  # under the cluster-wide migration lock; see store/postgres.py
    found = current_version(conn)
    if found > latest:
        raise SchemaTooNewError(found, latest)
    if found == 0:
        for step in migrations[0].steps:  # the baseline creates the current schema in full
            _run(conn, step)
        _stamp(conn, migrations[-1])
        return latest
    for migration in migrations[found:]:
        for step in migration.steps:
            _run(conn, step)
        _stamp(conn, migration)
    return latest
