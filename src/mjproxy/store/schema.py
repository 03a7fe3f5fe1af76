"""The whole storage schema in one place (arq style): every table and index mjproxy persists.

SQLAlchemy Core ``Table`` objects rather than ORM classes: the repository reads one ``data`` column
and decodes JSON itself, so ORM identity maps and object hydration would be pure overhead on the
hottest path (``GET /mj/task/{id}/fetch``). Core also renders portable DDL, so the same metadata
creates the schema on SQLite today and PostgreSQL tomorrow.

Changing anything here means adding a migration in ``migrations.py`` and bumping nothing else: a
fresh database is created from this metadata directly and stamped with the latest version.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    # Deterministic constraint names, so later migrations can drop or alter them by name on any dialect.
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

schema_version = sa.Table(
    "schema_version",
    metadata,
    # One row per applied migration; the current version is the maximum.
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("description", sa.Text, nullable=False, server_default=""),
)

tasks = sa.Table(
    "tasks",
    metadata,
    # 16-digit time-ordered ids (epoch ms + counter) of equal length: ordering by id is ordering by
    # submission, so "newest first" is an index walk on the primary key, no sort.
    sa.Column("id", sa.String(32), primary_key=True),
    # Projections of ``data`` that queries filter or sort on. They are written by the codec on every
    # insert/update from the same Task, so they cannot drift from ``data``.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("account_id", sa.String(64)),
    sa.Column("submit_time", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("nonce", sa.String(32)),
    sa.Column("parent_id", sa.String(32)),
    sa.Column("message_id", sa.String(32)),
    sa.Column("message_hash", sa.String(64)),
    sa.Column("owner", sa.String(64)),  # API key / tenant, for per-key isolation
    sa.Column("updated_at", sa.BigInteger, nullable=False),  # epoch ms
    # Kept as a column (not only in data) so a conditional "WHERE version = :seen" update can be added
    # for optimistic locking across nodes without a migration.
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    # The complete task as JSON text: new Task fields need no migration. Plain TEXT (not the JSON type)
    # so the hot read path does exactly one json.loads and no type-processor round trip.
    sa.Column("data", sa.Text, nullable=False),
    # Composite with id where a filter is followed by "newest first", so SQLite walks one index in order.
    sa.Index(None, "status", "id"),
    sa.Index(None, "owner", "id"),
    sa.Index(None, "account_id", "status"),
    sa.Index(None, "action"),
    sa.Index(None, "submit_time"),
    # Unique but nullable: NULLs never collide on SQLite or PostgreSQL, and a reused nonce is a bug.
    sa.Index(None, "nonce", unique=True),
    sa.Index(None, "parent_id"),
    sa.Index(None, "message_id"),
    sa.Index(None, "message_hash"),
    sa.Index(None, "updated_at"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    # The channel id: midjourney-proxy's account / instance id, and what accountFilter.instanceId names.
    sa.Column("id", sa.String(64), primary_key=True),
    # Projections of ``data`` for listing and for a future "enabled accounts only" query; the codec in
    # accounts.py writes them from the same AccountDefinition, so they cannot drift from ``data``.
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    # Creation order is the order the admin API lists accounts in; a column so SQL can sort on it.
    sa.Column("created_at", sa.BigInteger, nullable=False, server_default="0"),  # epoch ms
    sa.Column("updated_at", sa.BigInteger, nullable=False, server_default="0"),  # epoch ms
    # AccountDefinition.to_json() as text: new account fields need no migration. It holds the Discord
    # user token in clear text for now (see store/accounts.py).
    sa.Column("data", sa.Text, nullable=False),
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    # The durable callback outbox (notify/outbox.py). A row is written in the same transaction as the task
    # change it reports, so a change that was stored can never lose its callback.
    sa.Column("id", sa.String(40), primary_key=True),  # the event id: stable across retries
    sa.Column("task_id", sa.String(32), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),  # 1, 2, 3… per task, in the order of the changes
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the exact bytes POSTed (and signed), rendered once
    sa.Column("task_status", sa.String(16), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("give_up_at", sa.BigInteger, nullable=False),  # epoch ms: dead once a retry would start later
    sa.Column("last_attempt_at", sa.BigInteger),
    sa.Column("delivered_at", sa.BigInteger),
    sa.Column("last_http_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Index(None, "task_id", "sequence", unique=True),
    # The delivery worker's scan: due pending events, soonest first.
    sa.Index(None, "status", "next_attempt_at"),
)


api_keys = sa.Table(
    "api_keys",
    metadata,
    # The key id is what tasks are stamped with (tasks.owner); the key itself is never stored.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("hint", sa.String(32), nullable=False, server_default=""),  # "mjp_AbCd…" for lists
    sa.Column("key_hash", sa.String(64), nullable=False),  # SHA-256 hex of the key
    sa.Column("created_at", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("revoked_at", sa.BigInteger),  # epoch ms; NULL while the key works
    sa.Index(None, "key_hash", unique=True),
)
