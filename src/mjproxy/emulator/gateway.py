"""The Discord gateway (discord.md §2): sessions, zlib-stream framing, heartbeats, replay/RESUME, routing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from .chaos import Chaos
from .config import EmulatorConfig
from .event_loss import EventLoss
from .state import JsonDict, User, WorldState

log = logging.getLogger(__name__)

IGNORED_OPS = {3, 4, 8, 14, 37}
SUPPORTED_VERSIONS = {"6", "7", "8", "9", "10"}
TRACE = ['["gateway-prd-emulator-0",{"micros":1000,"calls":[]}]']


@dataclass
class Session:
    id: str
    user_id: str
    seq: int = 0
    buffer: deque[JsonDict] = field(default_factory=deque)
    connection: Connection | None = None
    disconnected_at: float | None = None
    invalid: bool = False


class Connection:
    """One WebSocket. All outgoing frames go through one writer task so that the shared zlib stream
    sees payloads in order and concurrent dispatchers never interleave sends."""

    def __init__(self, ws: WebSocket, compress: bool) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if compress else None
        self.outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.session: Session | None = None
        self.last_heartbeat = time.monotonic()
        self.closed = False
        self.recent: deque[float] = deque()

    def send(self, payload: JsonDict) -> None:
        if not self.closed:
            self.outbox.put_nowait(("send", payload))

    def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(("close", (code, reason)))

    def drop(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(("drop", None))

    def _abort_transport(self) -> bool:
        # uvicorn passes its protocol's bound `asgi_send` as the ASGI `send`; its transport lets us
        # cut the TCP connection without a close frame, which is what a real network drop looks like.
        # Starlette/FastAPI wrap `send` in closures, so walk bound-method owners and closure cells.
        stack: list[Any] = [getattr(self.ws, "_send", None)]
        seen: set[int] = set()
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in seen:
                continue
            seen.add(id(fn))
            owner = getattr(fn, "__self__", None)
            transport = getattr(owner, "transport", None)
            if transport is not None and hasattr(transport, "abort"):
                transport.abort()
                return True
            for cell in getattr(fn, "__closure__", None) or ():
                with contextlib.suppress(ValueError):
                    if callable(cell.cell_contents):
                        stack.append(cell.cell_contents)
        return False

    async def run_writer(self) -> None:
        try:
            while True:
                kind, item = await self.outbox.get()
                if kind == "send":
                    data = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
                    if self.compressor is not None:
                        raw = self.compressor.compress(data.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                        await self.ws.send_bytes(raw)
                    else:
                        await self.ws.send_text(data)
                elif kind == "close":
                    code, reason = item
                    await self.ws.close(code, reason)
                    return
                else:
                    if not self._abort_transport():
                        await self.ws.close(1011, "dropped")
                    return
        except Exception:  # the peer went away mid-send; the reader notices the disconnect
            return


class Gateway:
    def __init__(self, state: WorldState, config: Callable[[], EmulatorConfig], gateway_url: Callable[[], str]):
        self._state = state
        self._config = config
        self._gateway_url = gateway_url
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.loss = EventLoss()
        self.chaos = Chaos(lambda: self._config().chaos)

    # --- session bookkeeping -----------------------------------------------------------------------
    def _prune(self) -> None:
        ttl = self._config().session_resume_ttl_s
        now = time.monotonic()
        for sid, s in list(self.sessions.items()):
            if s.invalid or (s.connection is None and s.disconnected_at is not None and now - s.disconnected_at > ttl):
                del self.sessions[sid]

    def sessions_of(self, user_id: str) -> list[Session]:
        self._prune()
        return [s for s in self.sessions.values() if s.user_id == user_id]

    def _invalidate(self, session: Session) -> None:
        session.invalid = True
        self.sessions.pop(session.id, None)

    def _detach(self, conn: Connection) -> None:
        session = conn.session
        conn.session = None
        if session is not None and session.connection is conn:
            session.connection = None
            session.disconnected_at = time.monotonic()

    # --- sending -----------------------------------------------------------------------------------
    def dispatch(self, session: Session, event: str, data: JsonDict) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(payload)
        while len(session.buffer) > self._config().replay_buffer_size:
            session.buffer.popleft()
        if session.connection is not None:
            session.connection.send(payload)

    def dispatch_to_user(self, user_id: str, event: str, data: JsonDict) -> None:
        if self.loss.should_drop(user_id, event, data) or self.chaos.lose(event, data):
            log.info("fault: %s %s for user %s lost", event, data.get("id"), user_id)
            return
        for session in self.sessions_of(user_id):
            # Each session gets its own copy: a client mutating one must not affect another's replay.
            self.dispatch(session, event, json.loads(json.dumps(data)))

    def dispatch_interaction(self, user_id: str, session_id: str | None, event: str, data: JsonDict) -> None:
        """INTERACTION_* go to the session named in the POST; unknown ids fall back to all sessions."""
        sessions = self.sessions_of(user_id)
        chosen = [s for s in sessions if s.id == session_id]
        if not chosen and not self._config().strict_session_routing:
            chosen = sessions
        for session in chosen:
            self.dispatch(session, event, dict(data))

    # --- test hooks --------------------------------------------------------------------------------
    def _connections_of(self, user_id: str) -> list[Connection]:
        return [s.connection for s in self.sessions_of(user_id) if s.connection is not None]

    def send_reconnect(self, user_id: str) -> None:
        for conn in self._connections_of(user_id):
            conn.send({"op": 7, "d": None, "s": None, "t": None})
            conn.close(4000, "Reconnect requested")  # session stays resumable

    def send_invalid_session(self, user_id: str, resumable: bool) -> None:
        for session in self.sessions_of(user_id):
            conn = session.connection
            if not resumable:
                self._invalidate(session)
            if conn is not None:
                conn.send({"op": 9, "d": resumable, "s": None, "t": None})
                # The socket stays open: the client may IDENTIFY (or RESUME) on it again.
                self._detach(conn)

    def request_heartbeat(self, user_id: str) -> None:
        for conn in self._connections_of(user_id):
            conn.send({"op": 1, "d": conn.session.seq if conn.session else None, "s": None, "t": None})

    def close_sessions(self, user_id: str, code: int, reason: str = "") -> None:
        for session in self.sessions_of(user_id):
            conn = session.connection
            if code in (4004, 4009, 4010, 4011, 4012, 4013, 4014, 4007):
                self._invalidate(session)
            if conn is not None:
                conn.close(code, reason)

    def drop_sessions(self, user_id: str) -> None:
        for conn in self._connections_of(user_id):
            conn.drop()

    def revoke(self, user_id: str) -> None:
        """Token revoked: live sockets close with 4004 and sessions die."""
        self.close_sessions(user_id, 4004, "Authentication failed.")

    # --- the socket --------------------------------------------------------------------------------
    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        params = ws.query_params
        conn = Connection(ws, compress=params.get("compress") == "zlib-stream")
        writer = asyncio.create_task(conn.run_writer())
        monitor = asyncio.create_task(self._heartbeat_monitor(conn))
        self.connections.add(conn)
        try:
            if params.get("encoding", "json") != "json" or params.get("compress") not in (None, "", "zlib-stream"):
                conn.close(4002, "Unsupported encoding or compression")
            elif params.get("v") not in (None, *SUPPORTED_VERSIONS):
                conn.close(4012, "Invalid API version")
            else:
                interval = self._config().heartbeat_interval_ms
                conn.send({"op": 10, "d": {"heartbeat_interval": interval, "_trace": TRACE}, "s": None, "t": None})
            await self._read_loop(conn)
        finally:
            monitor.cancel()
            self.connections.discard(conn)
            self._detach(conn)
            if not writer.done():
                conn.closed = True
                conn.outbox.put_nowait(("close", (1000, "")))
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(writer, 1.0)
                writer.cancel()

    async def _read_loop(self, conn: Connection) -> None:
        while True:
            message = await conn.ws.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code") in (1000, 1001) and conn.session is not None:
                    self._invalidate(conn.session)  # a clean client close ends the session (§2.7)
                return
            if conn.closed:
                continue
            raw = message.get("text")
            if raw is None and message.get("bytes") is not None:
                raw = message["bytes"].decode("utf-8", "replace")
            try:
                payload = json.loads(raw or "")
                op = payload["op"]
            except (ValueError, TypeError, KeyError):
                conn.close(4002, "Error while decoding payload.")
                continue
            if self._rate_limited(conn):
                conn.close(4008, "Rate limited.")
                continue
            self._on_payload(conn, op, payload.get("d"))

    def _rate_limited(self, conn: Connection) -> bool:
        limit = self._config().gateway_rate_limit
        if limit <= 0:
            return False
        now = time.monotonic()
        conn.recent.append(now)
        while conn.recent and now - conn.recent[0] > 60:
            conn.recent.popleft()
        return len(conn.recent) > limit

    async def _heartbeat_monitor(self, conn: Connection) -> None:
        while not conn.closed:
            cfg = self._config()
            interval = cfg.heartbeat_interval_ms / 1000
            deadline = interval * cfg.heartbeat_timeout_factor + cfg.heartbeat_grace_ms / 1000
            await asyncio.sleep(min(max(interval / 4, 0.02), 1.0))
            if time.monotonic() - conn.last_heartbeat > deadline:
                if conn.session is not None:
                    self._invalidate(conn.session)
                conn.close(4009, "Session timed out.")
                return

    def _on_payload(self, conn: Connection, op: Any, d: Any) -> None:
        if op in (1, 40):
            conn.last_heartbeat = time.monotonic()
            if conn.session is not None and self.loss.take_ack_loss(conn.session.user_id):
                return  # fault: the ACK is lost, the client must notice the zombie connection
            conn.send({"op": 11, "d": None, "s": None, "t": None})
            return
        if op == 2:
            self._identify(conn, d)
        elif op == 6:
            self._resume(conn, d)
        elif conn.session is None:
            conn.close(4003, "Not authenticated.")
        elif op in IGNORED_OPS:
            return
        else:
            conn.close(4001, "Unknown opcode.")

    def _identify(self, conn: Connection, d: Any) -> None:
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if not isinstance(d, dict) or not isinstance(d.get("properties"), dict) or "token" not in d:
            conn.close(4002, "Error while decoding payload.")
            return
        user = self._state.user_by_token(d.get("token") if isinstance(d.get("token"), str) else None)
        if user is None:
            conn.close(4004, "Authentication failed.")
            return
        session = Session(id=secrets.token_hex(16), user_id=user.id)
        self.sessions[session.id] = session
        session.connection = conn
        conn.session = session
        self.dispatch(session, "READY", self._ready(user, session))
        self.dispatch(session, "READY_SUPPLEMENTAL", self._ready_supplemental(user))

    def _resume(self, conn: Connection, d: Any) -> None:
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if not isinstance(d, dict):
            conn.close(4002, "Error while decoding payload.")
            return
        user = self._state.user_by_token(d.get("token") if isinstance(d.get("token"), str) else None)
        if user is None:
            conn.close(4004, "Authentication failed.")
            return
        self._prune()
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        seq = seq if isinstance(seq, int) else 0
        oldest = session.buffer[0]["s"] if session is not None and session.buffer else None
        if (
            session is None
            or session.user_id != user.id
            or seq > session.seq
            or (seq < session.seq and (oldest is None or oldest > seq + 1))
        ):
            conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not conn:
            old = session.connection
            self._detach(old)
            old.close(4000, "Session resumed elsewhere")
        session.connection = conn
        session.disconnected_at = None
        conn.session = session
        for payload in list(session.buffer):
            if payload["s"] > seq:
                conn.send(payload)
        self.dispatch(session, "RESUMED", {"_trace": TRACE})

    # --- READY -------------------------------------------------------------------------------------
    def _ready(self, user: User, session: Session) -> JsonDict:
        state = self._state
        return {
            "v": 9,
            "user": user.to_json(private=True),
            "session_id": session.id,
            "resume_gateway_url": self._gateway_url(),
            "session_type": "normal",
            "guilds": [state.guild_json(state.guilds[g]) for g in user.guild_ids],
            "private_channels": [state.channel_json(state.channels[c]) for c in user.dm_channel_ids],
            "relationships": [],
            "users": [state.user_json(u) for c in user.dm_channel_ids
                      for u in state.channels[c].recipient_ids if u != user.id],
            "user_settings": {},
            "user_settings_proto": "",
            "read_state": {"entries": [], "partial": False, "version": 0},
            "user_guild_settings": {"entries": [], "partial": False, "version": 0},
            "connected_accounts": [],
            "analytics_token": secrets.token_urlsafe(24),
            "auth_session_id_hash": secrets.token_urlsafe(32),
            "country_code": "US",
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "sessions": [],
            "experiments": [],
            "guild_experiments": [],
            "guild_join_requests": [],
            "merged_members": [],
            "_trace": TRACE,
        }

    def _ready_supplemental(self, user: User) -> JsonDict:
        return {
            "merged_presences": {"guilds": [], "friends": []},
            "merged_members": [],
            "lazy_private_channels": [],
            "guilds": [{"id": g, "voice_states": [], "embedded_activities": []} for g in user.guild_ids],
            "_trace": TRACE,
        }
