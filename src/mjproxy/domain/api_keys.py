"""API keys: how they look, how they are hashed, and what is stored about them.

A key is ``mjp_`` followed by 43 url-safe characters (256 random bits). Only its SHA-256 digest is ever
stored: the key is shown once, at creation. A plain hash is enough (no salt, no slow KDF) because the
key is random and long, so there is no dictionary to attack; it also makes lookup a single index probe.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

KEY_PREFIX = "mjp_"
KEY_ID_LENGTH = 16
Scope = Literal["admin", "user"]
SCOPES: tuple[Scope, ...] = ("admin", "user")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return secrets.token_hex(KEY_ID_LENGTH // 2)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX) and len(credential) > len(KEY_PREFIX)


def key_hint(key: str) -> str:
    """What lists show so that an operator can tell keys apart: the prefix and four characters."""
    return key[:len(KEY_PREFIX) + 4] + "…"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    hint: str
    key_hash: str
    created_at: int  # epoch ms
    revoked_at: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, object]:
        """The public view: never the hash, never the key."""
        return {"id": self.id, "name": self.name, "scope": self.scope, "hint": self.hint,
                "createdAt": self.created_at, "revokedAt": self.revoked_at, "active": self.active}
