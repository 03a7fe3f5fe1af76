"""Who is calling: credentials from the request, resolved to a Principal with a scope.

Every dialect authenticates through ``require_user`` / ``require_admin`` so that the rules live in one
place. A credential is taken from ``Authorization: Bearer <credential>`` or, for midjourney-proxy
compatibility, the ``mj-api-secret`` header. The configured shared secrets are admin-equivalent (they
see every task); when no secret is configured at all the server is open and every caller is admin.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fastapi import Request

from .errors import ApiError

if TYPE_CHECKING:
    from ..config import ServerSettings

Scope = Literal["admin", "user"]


@dataclass(frozen=True, slots=True)
class Principal:
    scope: Scope
    key_id: str | None = None  # None for the shared secrets and for an open server

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"

    @property
    def owner(self) -> str | None:
        """The owner stamped on tasks this caller creates, and the only owner it may read (None: all)."""
        return None if self.is_admin else self.key_id


OPEN = Principal("admin")


def credential_of(request: Request) -> str:
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("mj-api-secret", "")


def _matches(given: str, secret: str) -> bool:
    # Constant-time compare on bytes: str compare_digest refuses non-ASCII, which a header may carry.
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


class Authenticator:
    """Resolves a credential against the configured secrets (API keys extend this)."""

    def __init__(self, server: ServerSettings) -> None:
        self._api_secret = server.api_secret
        self._admin_secret = server.admin_secret

    @property
    def open(self) -> bool:
        return not self._api_secret and not self._admin_secret

    async def authenticate(self, credential: str) -> Principal | None:
        if self.open:
            return OPEN
        if _matches(credential, self._admin_secret):
            return Principal("admin")
        if _matches(credential, self._api_secret):
            # Without a separate admin secret the API secret is the admin credential, as before.
            return Principal("admin") if not self._admin_secret else Principal("user", key_id=None)
        if not self._api_secret:
            return Principal("user")  # only admin_secret is set: the task routes stay open, as before
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


async def require_admin(request: Request) -> Principal:
    principal = await authenticator_of(request).authenticate(credential_of(request))
    if principal is None or not principal.is_admin:
        raise ApiError(401, "admin routes need an admin credential (server.admin_secret, or server.api_secret "
                            "when no admin secret is set) in the mj-api-secret header or as a Bearer token")
    request.state.principal = principal
    return principal
