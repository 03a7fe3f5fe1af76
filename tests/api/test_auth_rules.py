"""The authentication rules of api/auth.py with API keys attached (docs/security.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mjproxy.api.auth import Authenticator, Principal
from mjproxy.config import ServerSettings
from mjproxy.engine.keys import KeyRing
from mjproxy.store import Database
from mjproxy.store.api_keys import ApiKeyRepository


@pytest.fixture
async def ring() -> AsyncIterator[KeyRing]:
    db = await Database.connect("sqlite+aiosqlite:///:memory:")
    keys = KeyRing(ApiKeyRepository(db))
    await keys.load()
    yield keys
    await db.close()


async def test_open_until_the_first_key(ring: KeyRing) -> None:
    auth = Authenticator(ServerSettings(), ring)
    assert await auth.open() and await auth.authenticate("") == Principal("admin")
    record, key = await ring.create("u", "user")
    assert not await auth.open()
    assert await auth.authenticate("") is None
    assert await auth.authenticate("anything") is None
    assert await auth.authenticate(key) == Principal("user", key_id=record.id)
    assert (await auth.authenticate(key)).owner == record.id  # type: ignore[union-attr]


async def test_secrets_keep_their_meaning_next_to_keys(ring: KeyRing) -> None:
    auth = Authenticator(ServerSettings(api_secret="api-secret", admin_secret="admin-secret"), ring)
    admin_record, admin_key = await ring.create("ops", "admin")
    assert await auth.authenticate("admin-secret") == Principal("admin")
    assert await auth.authenticate("api-secret") == Principal("user")  # shared: sees all, not admin
    assert (await auth.authenticate("api-secret")).owner is None  # type: ignore[union-attr]
    principal = await auth.authenticate(admin_key)
    assert principal == Principal("admin", key_id=admin_record.id) and principal.owner is None


async def test_admin_secret_alone_leaves_task_routes_open_only_until_a_key_is_created(ring: KeyRing) -> None:
    auth = Authenticator(ServerSettings(admin_secret="admin-secret"), ring)
    assert await auth.authenticate("") == Principal("user")  # as before keys existed
    await ring.create("u", "user")
    assert await auth.authenticate("") is None
    await ring.revoke((await ring.list())[0].id)
    assert await auth.authenticate("") is None  # revoking every key does not re-open the server


async def test_without_a_key_ring_the_old_rules_hold() -> None:
    assert await Authenticator(ServerSettings()).authenticate("") == Principal("admin")
    assert await Authenticator(ServerSettings(api_secret="s")).authenticate("mjp_whatever") is None
