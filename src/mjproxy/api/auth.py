"""Who is calling: credentials from the request, resolved to a Principal with a scope.

Every dialect authenticates through ``require_user`` / ``require_admin`` so that the rules live in one
place. A credential is taken from ``Authorization: Bearer <credential>`` or, for midjourney-proxy
compatibility, the ``mj-api-secret`` header, or else from the dashboard's session cookie. The credential is
one of the configured shared secrets or an API key (``mjp_…``, see engine/keys.py). The rules, in order
(docs/security.md):

1. No secret configured and no API key ever created: the server is open and every caller is admin.
2. ``admin_secret`` → admin. ``api_secret`` → admin when no ``admin_secret`` is set, else a user that sees
   every task (the shared secret belongs to no one in particular).
3. An active API key → its scope; a user key sees only the tasks it created.
4. Only ``admin_secret`` is set and no API key was ever created: the task routes stay open (as before).
5. Anything else is refused (401). Once a key is created the server is no longer open, and revoking
   every key does not open it again (``mjproxy keys create`` works on the database when locked out).

401 means "no credential, or a wrong one"; a valid credential without the right (a user key on an admin
route) is a 403, on every face.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from fastapi import Request

from .dashboard.sessions import session_credential
from .errors import ApiError

if TYPE_CHECKING:
    from ..config import ServerSettings
    from ..engine.keys import KeyRing

Scope = Literal["admin", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    scope: Scope
    key_id: str | None = None  # None for the shared secrets and for an open server
    # No credential matched: the route is open to anyone (rules 1 and 4). Not part of equality: the scope is.
    anonymous: bool = field(default=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"

    @property
    def owner(self) -> str | None:
        """The owner stamped on tasks this caller creates, and the only owner it may read (None: all)."""
        return None if self.is_admin else self.key_id


OPEN = Principal("admin", anonymous=True)
OPEN_TASKS = Principal("user", anonymous=True)


def credential_of(request: Request) -> str:
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = request.headers.get("mj-api-secret", "")
    if header:
        return header
    # The dashboard's sign-in cookie, only when no header credential is present (api/dashboard/sessions.py).
    return session_credential(request)


def _matches(given: str, secret: str) -> bool:
    # Constant-time compare on bytes: str compare_digest refuses non-ASCII, which a header may carry.
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


class Authenticator:
    """Resolves a credential against the configured secrets and, once attached, the API keys."""

    def __init__(self, server: ServerSettings, keys: KeyRing | None = None) -> None:
        self._api_secret = server.api_secret
        self._admin_secret = server.admin_secret
        self._keys = keys

    def attach_keys(self, keys: KeyRing) -> None:
        """The key ring exists only once the runtime has opened the database."""
        self._keys = keys

    @property
    def keys(self) -> KeyRing | None:
        return self._keys

    async def open(self) -> bool:
        if self._api_secret or self._admin_secret:
            return False
        return self._keys is None or not await self._keys.in_use()

    async def authenticate(self, credential: str) -> Principal | None:
        keys_exist = self._keys is not None and await self._keys.in_use()
        if not self._api_secret and not self._admin_secret and not keys_exist:
            return OPEN
        if _matches(credential, self._admin_secret):
            return Principal("admin")
        if _matches(credential, self._api_secret):
            # Without a separate admin secret the API secret is the admin credential, as before.
            return Principal("admin") if not self._admin_secret else Principal("user", key_id=None)
        key = await self._keys.find(credential) if self._keys is not None else None
        if key is not None:
            return Principal(key.scope, key_id=key.id)
        if not self._api_secret and not keys_exist:
            return OPEN_TASKS  # only admin_secret is set: the task routes stay open, as before
        return None


def authenticator_of(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


async def require_user(request: Request) -> Principal:
    principal = await authenticator_of(request).authenticate(credential_of(request))
    if principal is None:
        raise ApiError(401, "missing or invalid credential: send the mj-api-secret header "
                            "or Authorization: Bearer <key>")
    request.state.principal = principal
    return principal


ADMIN_NEEDED = ("admin routes need an admin credential (an admin API key, server.admin_secret, or "
                "server.api_secret when no admin secret is set) in the mj-api-secret header or as a Bearer token")


async def require_admin(request: Request) -> Principal:
    principal = await authenticator_of(request).authenticate(credential_of(request))
    if principal is None or (principal.anonymous and not principal.is_admin):
        raise ApiError(401, ADMIN_NEEDED)
    if not principal.is_admin:
        raise ApiError(403, "this credential may not use admin routes: " + ADMIN_NEEDED)
    request.state.principal = principal
    return principal
