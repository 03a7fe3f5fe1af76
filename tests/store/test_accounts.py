from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from mjproxy.domain.account import AccountDefinition, FastExhaustedPolicy, SpeedMode
from mjproxy.store import Database
from mjproxy.store.accounts import AccountRepository
from mjproxy.store.codec import task_to_row
from mjproxy.store.errors import AccountConflict, AccountNotFound
from mjproxy.store.migrations import LATEST_VERSION
from mjproxy.store.schema import accounts as accounts_table
from mjproxy.store.schema import metadata, schema_version, tasks

from .factories import FakeClock, full_task


def account(channel_id: str = "1100000000000000001", **overrides: object) -> AccountDefinition:
    """A definition with every field set to a non-default value."""
    defn = AccountDefinition(
        channel_id=channel_id,
        guild_id="1000000000000000001",
        user_token="MTIz.secret-token.xyz",
        name="alpha",
        user_agent="Mozilla/5.0 test",
        core_size=5,
        queue_size=20,
        timeout_minutes=7.5,
        enabled=False,
        weight=3,
        remark="team a",
        modes=[SpeedMode.RELAX, SpeedMode.TURBO],
        daily_limit=200,
        min_interval_seconds=1.5,
        jitter_seconds=0.5,
        remix_auto_submit=True,
        fast_exhausted_policy=FastExhaustedPolicy.LEAVE_FAST_ROTATION,
        fast_hours_threshold=1.0,
    )
    for name, value in overrides.items():
        setattr(defn, name, value)
    return defn


@pytest.fixture
def accounts(db: Database, clock: FakeClock) -> AccountRepository:
    return AccountRepository(db, clock=clock)


async def test_insert_then_get_round_trips_every_field(accounts: AccountRepository, clock: FakeClock) -> None:
    original = account()
    await accounts.insert(original)
    stored = await accounts.get(original.id)
    assert stored == original
    assert stored.created_at == stored.updated_at == int(clock.value * 1000)
    assert stored.modes == [SpeedMode.RELAX, SpeedMode.TURBO]
    assert stored.fast_exhausted_policy is FastExhaustedPolicy.LEAVE_FAST_ROTATION


async def test_get_unknown_is_none(accounts: AccountRepository) -> None:
    assert await accounts.get("404") is None


async def test_insert_keeps_a_given_created_at(accounts: AccountRepository) -> None:
    await accounts.insert(account(created_at=123))
    stored = await accounts.get(account().id)
    assert stored is not None and stored.created_at == 123


async def test_insert_of_a_stored_id_is_a_conflict(accounts: AccountRepository) -> None:
    await accounts.insert(account(name="first"))
    with pytest.raises(AccountConflict, match="already exists") as info:
        await accounts.insert(account(name="second"))
    assert info.value.account_id == account().id
    stored = await accounts.get(account().id)
    assert stored is not None and stored.name == "first"


async def test_list_is_oldest_first_then_by_id(accounts: AccountRepository, clock: FakeClock) -> None:
    await accounts.insert(account("300"))
    clock.value += 1
    await accounts.insert(account("200"))
    await accounts.insert(account("100"))  # same millisecond as "200": the id breaks the tie
    assert [a.id for a in await accounts.list()] == ["300", "100", "200"]


async def test_list_of_an_empty_table(accounts: AccountRepository) -> None:
    assert await accounts.list() == []


async def test_update_replaces_and_restamps(accounts: AccountRepository, clock: FakeClock) -> None:
    await accounts.insert(account())
    created = int(clock.value * 1000)
    clock.value += 10
    # Rebuilt from a request, without created_at: the stored one is kept.
    await accounts.update(account(core_size=9, remark="moved", enabled=True, user_token="new-token-value"))
    stored = await accounts.get(account().id)
    assert stored is not None
    assert (stored.core_size, stored.remark, stored.enabled, stored.user_token) == (9, "moved", True,
                                                                                    "new-token-value")
    assert stored.created_at == created
    assert stored.updated_at == created + 10_000


async def test_update_of_an_unknown_account(accounts: AccountRepository) -> None:
    with pytest.raises(AccountNotFound, match="not in the store") as info:
        await accounts.update(account("404"))
    assert info.value.account_id == "404"
    assert await accounts.list() == []


async def test_delete(accounts: AccountRepository) -> None:
    await accounts.insert(account())
    assert await accounts.delete(account().id) is True
    assert await accounts.get(account().id) is None
    assert await accounts.delete(account().id) is False


async def test_upsert_seed_inserts_only_what_is_missing(accounts: AccountRepository) -> None:
    assert await accounts.upsert_seed(account(core_size=3)) is True
    # An operator edit at run time ...
    edited = await accounts.get(account().id)
    assert edited is not None
    edited.core_size = 8
    await accounts.update(edited)
    # ... survives the configuration seeding the same account again on the next start.
    assert await accounts.upsert_seed(account(core_size=3)) is False
    stored = await accounts.get(account().id)
    assert stored is not None and stored.core_size == 8
    assert await accounts.upsert_seed(account("2")) is True
    assert [a.id for a in await accounts.list()] == [account().id, "2"]


async def test_columns_project_the_document(db: Database, accounts: AccountRepository) -> None:
    await accounts.insert(account(name="beta", enabled=False))
    async with db.read() as conn:
        row = (await conn.execute(sa.text("SELECT id, name, enabled, created_at, updated_at FROM accounts"))).one()
    stored = await accounts.get(account().id)
    assert stored is not None
    assert tuple(row) == (account().id, "beta", False, stored.created_at, stored.updated_at)  # 0 on SQLite


async def test_unknown_keys_from_a_newer_version_are_ignored(db: Database, accounts: AccountRepository) -> None:
    await accounts.insert(account())
    async with db.write() as conn:  # what a newer mjproxy would write: one key this version does not know
        data = json.loads((await conn.execute(sa.select(accounts_table.c.data))).scalar_one())
        await conn.execute(sa.update(accounts_table).values(data=json.dumps({**data, "from_the_future": 1})))
    stored = await accounts.get(account().id)
    assert stored is not None and stored.name == "alpha"


async def test_accounts_survive_a_reopen(db_url: str, clock: FakeClock) -> None:
    db = await Database.connect(db_url)
    try:
        await AccountRepository(db, clock=clock).insert(account())
    finally:
        await db.close()
    db = await Database.connect(db_url)
    try:
        assert await AccountRepository(db).list() == [account(created_at=int(clock.value * 1000),
                                                              updated_at=int(clock.value * 1000))]
    finally:
        await db.close()


# -- migration 2 ------------------------------------------------------------------------------------

async def _make_v1_database(url: str) -> None:
    """A database exactly as mjproxy with schema version 1 left it: tasks and schema_version only."""
    # Database.connect builds the latest schema; take it back to version 1's shape by hand.
    db = await Database.connect(url)
    try:
        async with db.write() as conn:
            for later in ("accounts", "api_keys", "webhook_events"):  # every table a later version added
                await conn.exec_driver_sql(f"DROP TABLE {later}")
            await conn.execute(sa.delete(schema_version))
            await conn.execute(sa.insert(schema_version).values(version=1, applied_at=0, description="v1"))
            await conn.execute(sa.insert(tasks).values(task_to_row(full_task())))
    finally:
        await db.close()


async def test_upgrades_a_version_1_database(db_url: str) -> None:
    await _make_v1_database(db_url)
    db = await Database.connect(db_url)
    try:
        assert db.schema_version == LATEST_VERSION
        async with db.read() as conn:
            versions = (await conn.execute(sa.select(schema_version.c.version).order_by("version"))).scalars().all()
            kept = (await conn.execute(sa.select(tasks.c.id))).scalars().all()
        assert list(versions) == list(range(1, LATEST_VERSION + 1))
        assert list(kept) == [full_task().id]  # the tasks of version 1 are untouched
        repo = AccountRepository(db)
        await repo.insert(account())
        assert [a.id for a in await repo.list()] == [account().id]
    finally:
        await db.close()


async def _shape(db: Database, table: str) -> list[tuple[str, str, bool, object]]:
    def read(conn: sa.Connection) -> list[tuple[str, str, bool, object]]:
        inspector = sa.inspect(conn)
        return [(c["name"], str(c["type"]), bool(c["nullable"]), c.get("default"))
                for c in inspector.get_columns(table)]

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_migrated_accounts_table_matches_a_fresh_one(db_url: str, new_db_url: Callable[[], str]) -> None:
    # A fresh database is built from schema.py, an old one by the migrations: they must end up alike,
    # or the two paths have drifted apart (an edit to schema.py without its migration, say).
    await _make_v1_database(db_url)
    migrated = await Database.connect(db_url)
    fresh = await Database.connect(new_db_url())
    try:
        assert await _shape(migrated, "accounts") == await _shape(fresh, "accounts")
        assert "accounts" in metadata.tables
    finally:
        await migrated.close()
        await fresh.close()
