"""Gateway vocabulary (§2.3, §2.8): opcodes, the URL we dial, and what each close code means for us."""

from __future__ import annotations

import enum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

GATEWAY_VERSION = 9


class Opcode(enum.IntEnum):
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class CloseAction(enum.Enum):
    RESUME = "resume"  # reconnect and RESUME if a session exists (else IDENTIFY)
    IDENTIFY = "identify"  # reconnect with a fresh session
    FATAL = "fatal"  # stop: reconnecting cannot help


#: Close code the client uses when it intends to RESUME (1000/1001 would invalidate the session).
RESUMABLE_CLOSE_CODE = 4000

_CLOSE_REASONS: dict[int, str] = {
    4000: "unknown error",
    4001: "unknown opcode",
    4002: "decode error",
    4003: "not authenticated",
    4004: "authentication failed",
    4005: "already authenticated",
    4007: "invalid seq",
    4008: "rate limited",
    4009: "session timed out",
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents",
    4015: "too many user sessions",
    4016: "connection request cancelled",
}

_IDENTIFY_CODES = frozenset({4003, 4005, 4007, 4009, 4015, 4016})
_FATAL_CODES = frozenset({4004, 4010, 4011, 4012, 4013, 4014})


def close_action(code: int | None) -> CloseAction:
    """mjproxy's policy (reference §2.8): RESUME on 1xxx/4000–4002/4008, IDENTIFY on codes that kill
    the session, FATAL on 4004 and 4010–4014. Unknown codes try RESUME: if the session is gone the
    server says so with op 9 and we IDENTIFY then, which costs one round trip, not an outage."""
    if code in _FATAL_CODES:
        return CloseAction.FATAL
    if code in _IDENTIFY_CODES:
        return CloseAction.IDENTIFY
    return CloseAction.RESUME


def describe_close(code: int | None, reason: str | None = None) -> str:
    if code is None:
        return "connection dropped without a close frame"
    meaning = _CLOSE_REASONS.get(code, "")
    text = f"close {code}"
    if meaning:
        text += f" ({meaning})"
    if reason:
        text += f": {reason}"
    return text


def gateway_url(base: str, *, compress: bool) -> str:
    """``base`` with ``/?encoding=json&v=9[&compress=zlib-stream]`` (base may carry a path or query)."""
    parts = urlsplit(base)
    query = dict(parse_qsl(parts.query))
    query["encoding"] = "json"
    query.setdefault("v", str(GATEWAY_VERSION))
    if compress:
        query["compress"] = "zlib-stream"
    else:
        query.pop("compress", None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))
