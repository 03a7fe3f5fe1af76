"""The API-key repository: ``api_keys`` rows (hash, scope, name); the key itself is never stored."""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from mjproxy.domain.api_keys import SCOPES, ApiKey, Scope, hash_key, key_hint, new_key, new_key_id
from mjproxy.domain.clock import Clock, SystemClock, now_ms
from mjproxy.store.database import Database
from mjproxy.store.schema import api_keys

_LIST = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
_ACTIVE = sa.select(api_keys).where(api_keys.c.revoked_at.is_(None))
_ANY = sa.select(api_keys.c.id).limit(1)
_BY_HASH = sa.select(api_keys.c.id).where(api_keys.c.key_hash == sa.bindparam("key_hash"))
_GET = sa.select(api_keys).where(api_keys.c.id == sa.bindparam("id"))
_REVOKE = (sa.update(api_keys)
           .where(api_keys.c.id == sa.bindparam("key_id"), api_keys.c.revoked_at.is_(None))
           .values(revoked_at=sa.bindparam("now")))


def _from_row(row: Any) -> ApiKey:
    scope = str(row["scope"])
    if scope not in SCOPES:
        raise ValueError(f"api key {row['id']} has an unknown scope {scope!r}")
    revoked = row["revoked_at"]
    return ApiKey(id=str(row["id"]), name=str(row["name"]), scope=scope, hint=str(row["hint"]),
                  key_hash=str(row["key_hash"]), created_at=int(row["created_at"]),
                  revoked_at=None if revoked is None else int(revoked))


class ApiKeyRepository:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or SystemClock()

    async def create(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """A new key: its record and the key itself, which the caller shows once and forgets."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key = new_key()
        record = ApiKey(id=new_key_id(), name=name, scope=scope, hint=key_hint(key), key_hash=hash_key(key),
                        created_at=now_ms(self._clock))
        async with self._db.write() as conn:
            await conn.execute(sa.insert(api_keys).values(
                id=record.id, name=record.name, scope=record.scope, hint=record.hint, key_hash=record.key_hash,
                created_at=record.created_at, revoked_at=None))
        return record, key

    async def seed(self, name: str, scope: Scope, key_hash: str, *, hint: str) -> bool:
        """Store a key given by the configuration unless its hash is stored already; True if inserted."""
        record = ApiKey(id="cfg_" + key_hash[:12], name=name, scope=scope, hint=hint, key_hash=key_hash,
                        created_at=now_ms(self._clock))
        async with self._db.write() as conn:
            if (await conn.execute(_BY_HASH, {"key_hash": key_hash})).first() is not None:
                return False
            await conn.execute(sa.insert(api_keys).values(
                id=record.id, name=record.name, scope=record.scope, hint=record.hint, key_hash=record.key_hash,
                created_at=record.created_at, revoked_at=None))
        return True

    async def list(self) -> builtins.list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        async with self._db.read() as conn:
            rows = (await conn.execute(_LIST)).mappings().all()
        return [_from_row(row) for row in rows]

    async def active(self) -> builtins.list[ApiKey]:
        async with self._db.read() as conn:
            rows = (await conn.execute(_ACTIVE)).mappings().all()
        return [_from_row(row) for row in rows]

    async def any(self) -> bool:
        """Whether a key was ever created, revoked ones included."""
        async with self._db.read() as conn:
            return (await conn.execute(_ANY)).first() is not None

    async def get(self, key_id: str) -> ApiKey | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_GET, {"id": key_id})).mappings().first()
        return None if row is None else _from_row(row)

    async def revoke(self, key_id: str) -> bool:
        """True if the key existed and was active; revoking twice is harmless."""
        async with self._db.write() as conn:
            result = await conn.execute(_REVOKE, {"key_id": key_id, "now": now_ms(self._clock)})
        return bool(result.rowcount)
