"""What reaches the database file: API keys only as hashes, Discord tokens only encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mjproxy.domain.account import AccountDefinition
from mjproxy.domain.api_keys import hash_key
from mjproxy.engine.keys import KeyRing
from mjproxy.store import Database
from mjproxy.store.accounts import AccountRepository
from mjproxy.store.api_keys import ApiKeyRepository
from mjproxy.store.errors import TokenKeyError
from mjproxy.store.schema import accounts
from mjproxy.store.secrets import TokenCipher, generate_key

from .factories import FakeClock

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAx.GzSecretPart.abcdefghijklmnopqrstuvwxyz0123456789"


def raw_bytes(db_url: str) -> bytes:
    """The database file and its WAL, as anyone who copies them would read them."""
    path = Path(str(make_url(db_url).database))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def account(channel_id: str = "1100000000000000001", token: str = TOKEN) -> AccountDefinition:
    return AccountDefinition(channel_id=channel_id, guild_id="1000000000000000001", user_token=token, name="alpha")


async def test_api_keys_are_stored_only_as_hashes(sqlite_url: str) -> None:
    db_url = sqlite_url  # about the bytes in the file
    db = await Database.connect(db_url)
    try:
        repo = ApiKeyRepository(db)
        record, key = await repo.create("ci", "user")
        assert key.startswith("mjp_") and len(key) >= 40
        assert record.key_hash == hash_key(key) and record.hint == key[:8] + "…"
        listed = await repo.list()
        assert [k.id for k in listed] == [record.id] and listed[0].active
        assert "key" not in listed[0].to_json() and "key_hash" not in listed[0].to_json()
    finally:
        await db.close()
    content = raw_bytes(db_url)
    assert key.encode() not in content
    assert key[len("mjp_"):].encode() not in content
    assert hash_key(key).encode() in content  # what is stored instead


async def test_every_key_is_different_and_revocation_is_recorded(db: Database) -> None:
    repo = ApiKeyRepository(db)
    keys = [await repo.create(f"k{n}", "user") for n in range(5)]
    assert len({key for _, key in keys}) == 5
    first = keys[0][0]
    assert await repo.revoke(first.id) is True
    assert await repo.revoke(first.id) is False  # already revoked
    assert await repo.revoke("nope") is False
    stored = await repo.get(first.id)
    assert stored is not None and not stored.active
    assert [k.id for k in await repo.active()] == [r.id for r, _ in keys[1:]]
    with pytest.raises(ValueError, match="scope"):
        await repo.create("x", "root")  # type: ignore[arg-type]


async def test_key_ring_answers_from_memory_and_sees_other_processes_revocations(db: Database) -> None:
    clock = FakeClock()
    ring = KeyRing(ApiKeyRepository(db), refresh_seconds=5, clock=clock)
    await ring.load()
    assert not await ring.in_use()
    record, key = await ring.create("a", "user")
    found = await ring.find(key)
    assert found is not None and found.id == record.id and found.scope == "user"
    assert await ring.find(key + "x") is None
    assert await ring.find("not-a-key") is None

    # Another process (the CLI) revokes the key in the same database: the ring holds it until the refresh.
    assert await ApiKeyRepository(db).revoke(record.id)
    assert await ring.find(key) is not None
    clock.value += 5
    assert await ring.find(key) is None

    # Revoking through the ring itself takes effect at once.
    other, other_key = await ring.create("b", "admin")
    assert await ring.find(other_key) is not None
    await ring.revoke(other.id)
    assert await ring.find(other_key) is None


async def test_tokens_are_encrypted_at_rest(db_url: str, backend: str) -> None:
    key = generate_key()
    db = await Database.connect(db_url)
    try:
        repo = AccountRepository(db, cipher=TokenCipher(key))
        await repo.insert(account())
        stored = await repo.get(account().id)
        assert stored is not None and stored.user_token == TOKEN  # read back in clear
        async with db.read() as conn:
            data = (await conn.execute(sa.select(accounts.c.data))).scalar_one()
        assert TOKEN not in data and "user_token_enc" in data
    finally:
        await db.close()
    if backend == "sqlite":  # and in the file itself; PostgreSQL's files are the server's business
        assert TOKEN.encode() not in raw_bytes(db_url)
        assert b"GzSecretPart" not in raw_bytes(db_url)


async def test_clear_text_rows_are_encrypted_when_a_key_is_configured(db_url: str, backend: str) -> None:
    db = await Database.connect(db_url)
    try:
        await AccountRepository(db).insert(account())  # stored before any key was configured
        await AccountRepository(db).insert(account("1100000000000000002", token=TOKEN + "2"))
        async with db.read() as conn:
            assert TOKEN in (await conn.execute(sa.select(accounts.c.data))).scalars().first()
        repo = AccountRepository(db, cipher=TokenCipher(generate_key()))
        assert await repo.secure_tokens() == 2
        assert await repo.secure_tokens() == 0  # idempotent
        assert sorted(a.user_token for a in await repo.list()) == [TOKEN, TOKEN + "2"]
        async with db.read() as conn:
            rows = (await conn.execute(sa.select(accounts.c.data))).scalars().all()
        assert all(TOKEN not in row for row in rows)
        await db.scrub()
        if backend == "sqlite":
            assert b"GzSecretPart" not in raw_bytes(db_url)  # no old version left in free pages or the WAL
    finally:
        await db.close()
    if backend == "sqlite":
        assert b"GzSecretPart" not in raw_bytes(db_url)


async def test_a_wrong_or_missing_key_stops_start_up_and_changes_nothing(db: Database) -> None:
    original = generate_key()
    await AccountRepository(db, cipher=TokenCipher(original)).insert(account())
    async with db.read() as conn:
        before = (await conn.execute(sa.select(accounts.c.data))).scalar_one()

    with pytest.raises(TokenKeyError, match="another key"):
        await AccountRepository(db, cipher=TokenCipher(generate_key())).secure_tokens()
    with pytest.raises(TokenKeyError, match="encryption_key is not set"):
        await AccountRepository(db).secure_tokens()
    with pytest.raises(TokenKeyError):
        await AccountRepository(db).list()  # never a silently dropped or garbled account

    async with db.read() as conn:
        assert (await conn.execute(sa.select(accounts.c.data))).scalar_one() == before
    assert (await AccountRepository(db, cipher=TokenCipher(original)).list())[0].user_token == TOKEN


def test_a_malformed_key_is_refused_with_a_clear_message() -> None:
    with pytest.raises(TokenKeyError, match="gen-encryption-key"):
        TokenCipher("not-a-fernet-key")
