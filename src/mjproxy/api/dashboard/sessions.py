"""Dashboard sign-in: a cookie session that stands for the API key it was opened with.

``POST /dashboard/login`` checks the key like any request would (api/auth.py) and answers with the
``mjproxy_session`` cookie: an opaque random token (HttpOnly, SameSite=Strict, Path=/). The server keeps
token → credential in memory and authenticates the credential again on every request, so revoking the
key ends its sessions at once; a restart ends every session (sign in again).

CSRF: SameSite=Strict already keeps other sites' requests from carrying the cookie; on top of that a
state-changing request (anything but GET/HEAD/OPTIONS) authenticated *by the cookie* must carry the
session's CSRF token in the ``X-CSRF-Token`` header. The dashboard puts it in a ``<meta>`` tag and its
script and htmx send it with every request. Header credentials (API clients) are unaffected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request

COOKIE = "mjproxy_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_TTL_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000  # a bound on memory: the oldest session goes first


@dataclass(frozen=True, slots=True)
class Session:
    credential: str
    csrf: str
    expires: float


def _digest(token: str) -> str:
    # Only the token's hash is a key of the table: a dump of memory does not hand out live cookies.
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._sessions: dict[str, Session] = {}

    def open(self, credential: str) -> tuple[str, Session]:
        """A new session for this credential: (cookie token, session)."""
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        token = secrets.token_urlsafe(32)
        session = Session(credential, secrets.token_urlsafe(24), time.monotonic() + self._ttl)
        self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires < time.monotonic():
            del self._sessions[key]
            return None
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_digest(token), None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if s.expires < now]:
            del self._sessions[key]


def sessions_of(request: Request) -> SessionStore | None:
    store: SessionStore | None = getattr(request.app.state, "sessions", None)
    return store


def session_of(request: Request) -> Session | None:
    store = sessions_of(request)
    return None if store is None else store.get(request.cookies.get(COOKIE))


def session_credential(request: Request) -> str:
    """The credential behind the session cookie, or "" (no session, or a state change without CSRF token)."""
    session = session_of(request)
    if session is None:
        return ""
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), session.csrf.encode()):
            return ""
    return session.credential
