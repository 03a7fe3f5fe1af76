"""The account repository: operator-managed Discord accounts (``AccountDefinition``) in ``accounts``.

Accounts live in the database so that the admin API can add, edit and remove them at run time and the
edits survive a restart. The configuration file only *seeds* the table (``upsert_seed``): an account
that is already stored keeps its run-time edits even when the file says otherwise.

SECURITY: with ``security.encryption_key`` set, ``data`` holds the Discord user token encrypted
(store/secrets.py) and ``secure_tokens`` encrypts rows written before the key was configured. Without a
key the token is stored in clear text: protect the database like the configuration file then.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mjproxy.domain.account import AccountDefinition
from mjproxy.domain.clock import Clock, SystemClock, now_ms
from mjproxy.store.database import Database
from mjproxy.store.errors import AccountConflict, AccountNotFound, TokenKeyError
from mjproxy.store.schema import accounts
from mjproxy.store.secrets import ENCRYPTED_FIELD, PLAIN_FIELD, TokenCipher

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def account_to_row(defn: AccountDefinition, cipher: TokenCipher | None = None) -> dict[str, Any]:
    """All columns of ``accounts`` for one definition; ``data`` is the source of truth."""
    data = defn.to_json()
    if cipher is not None:
        data[ENCRYPTED_FIELD] = cipher.encrypt(data.pop(PLAIN_FIELD))
    return {
        "id": defn.id,
        "name": defn.name,
        "enabled": defn.enabled,
        "created_at": defn.created_at,
        "updated_at": defn.updated_at,
        "data": _encode(data),
    }


def account_from_data(data: str, cipher: TokenCipher | None = None) -> AccountDefinition:
    # from_json ignores keys it does not know, so a row written by a newer mjproxy still reads.
    decoded: dict[str, Any] = json.loads(data)
    encrypted = decoded.pop(ENCRYPTED_FIELD, None)
    if encrypted is not None:
        account_id = str(decoded.get("channel_id", "?"))
        if cipher is None:
            raise TokenKeyError(f"the Discord token of account {account_id} is stored encrypted but "
                                f"security.encryption_key is not set; configure the key it was stored with")
        decoded[PLAIN_FIELD] = cipher.decrypt(str(encrypted), account_id=account_id)
    return AccountDefinition.from_json(decoded)


_LIST = sa.select(accounts.c.data).order_by(accounts.c.created_at, accounts.c.id)
_GET = sa.select(accounts.c.data).where(accounts.c.id == sa.bindparam("id"))
_CREATED_AT = sa.select(accounts.c.created_at).where(accounts.c.id == sa.bindparam("id"))
_EXISTS = sa.select(accounts.c.id).where(accounts.c.id == sa.bindparam("id"))
_INSERT = sa.insert(accounts)
_UPDATE = (
    sa.update(accounts)
    .where(accounts.c.id == sa.bindparam("account_id"))
    .values({c.name: sa.bindparam(c.name) for c in accounts.columns if c.name != "id"})
)
_DELETE = sa.delete(accounts).where(accounts.c.id == sa.bindparam("account_id"))
_ROWS = sa.select(accounts.c.id, accounts.c.data)
_SET_DATA = sa.update(accounts).where(accounts.c.id == sa.bindparam("account_id")).values(data=sa.bindparam("data"))


class AccountRepository:
    """CRUD over ``accounts``. Writers stamp ``created_at`` / ``updated_at`` on the definition they are given.

    The table is small (hundreds of rows at most) and read rarely (start-up, admin calls), so every
    method takes the ordinary async path; nothing here is on a hot path.
    """

    def __init__(self, db: Database, *, clock: Clock | None = None, cipher: TokenCipher | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or SystemClock()
        self._cipher = cipher

    async def secure_tokens(self) -> int:
        """At start-up: check every stored token reads with the configured key; encrypt clear-text ones.

        Returns how many rows were encrypted. Raises ``TokenKeyError`` (and changes nothing) when a stored
        token is encrypted and the key is missing or another one.
        """
        async with self._db.write() as conn:
            rows = (await conn.execute(_ROWS)).all()
            plain = []
            for account_id, data in rows:
                account_from_data(data, self._cipher)  # raises on a missing or wrong key
                if self._cipher is not None and PLAIN_FIELD in json.loads(data):
                    plain.append(account_id)
            for account_id, data in rows:
                if account_id in plain:
                    row = account_to_row(account_from_data(data), self._cipher)
                    await conn.execute(_SET_DATA, {"account_id": account_id, "data": row["data"]})
        return len(plain)

    async def list(self) -> list[AccountDefinition]:
        """Every stored account, oldest first (ties by id), enabled or not."""
        async with self._db.read() as conn:
            rows = (await conn.execute(_LIST)).scalars().all()
        return [account_from_data(data, self._cipher) for data in rows]

    async def get(self, account_id: str) -> AccountDefinition | None:
        async with self._db.read() as conn:
            data = (await conn.execute(_GET, {"id": account_id})).scalar()
        return None if data is None else account_from_data(data, self._cipher)

    async def insert(self, defn: AccountDefinition) -> None:
        """Store a new account. Raises ``AccountConflict`` when its id (channel id) is already stored."""
        self._stamp(defn, created=True)
        try:
            async with self._db.write() as conn:
                await conn.execute(_INSERT, account_to_row(defn, self._cipher))
        except IntegrityError as error:
            raise AccountConflict(defn.id) from error

    async def update(self, defn: AccountDefinition) -> None:
        """Replace a stored account. Raises ``AccountNotFound`` when it is not stored.

        A definition built without ``created_at`` (0) keeps the stored one, so callers may rebuild a
        definition from a request without reading the old one first.
        """
        async with self._db.write() as conn:
            stored_created = (await conn.execute(_CREATED_AT, {"id": defn.id})).scalar()
            if stored_created is None:
                raise AccountNotFound(defn.id)
            if not defn.created_at:
                defn.created_at = int(stored_created)
            self._stamp(defn, created=False)
            row = account_to_row(defn, self._cipher)
            row["account_id"] = row.pop("id")
            await conn.execute(_UPDATE, row)

    async def delete(self, account_id: str) -> bool:
        """Remove an account; True if it was stored."""
        async with self._db.write() as conn:
            result = await conn.execute(_DELETE, {"account_id": account_id})
        return bool(result.rowcount)

    async def upsert_seed(self, defn: AccountDefinition) -> bool:
        """Insert an account from the configuration unless one with its id is stored; True if inserted.

        Never overwrites: once an account is in the database, the database wins, because the operator
        may have edited it at run time (new token, other core size, disabled) and a restart must not
        silently undo that. Deleting the row is how to let the configuration take over again.
        """
        try:
            async with self._db.write() as conn:
                if (await conn.execute(_EXISTS, {"id": defn.id})).scalar() is not None:
                    return False
                self._stamp(defn, created=True)
                await conn.execute(_INSERT, account_to_row(defn, self._cipher))
        except IntegrityError:
            # Another node seeded the same account between our check and our insert (PostgreSQL has no
            # process-wide write lock). It is stored either way, just not by us.
            return False
        return True

    def _stamp(self, defn: AccountDefinition, *, created: bool) -> None:
        now = now_ms(self._clock)
        if created and not defn.created_at:
            defn.created_at = now
        defn.updated_at = now
