"""Gateway client for one Discord user account (reference §2).

Shape of a connection: dial → HELLO → IDENTIFY (or RESUME when a session exists) → READY/RESUMED →
dispatches. Three tasks cooperate:

* the *runner* owns the reconnect loop: one connection at a time, backoff between attempts;
* a per-connection *heartbeat* task beats every interval and detects zombies (an un-ACKed beat);
* the *dispatcher* delivers dispatches to ``on_dispatch`` one at a time, in receive order. It is
  decoupled from the socket so a slow consumer can never delay heartbeat ACKs into a false zombie,
  and it lives across reconnects so replayed events after RESUME stay in order.

Whoever decides to drop a connection (op 7, op 9, zombie) records *why* on the connection before
closing it with 4000 — never 1000/1001, which would invalidate the session we want to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from mjproxy.discord.backoff import full_jitter
from mjproxy.discord.errors import AuthenticationFailed, GatewayClosed, GatewayError
from mjproxy.discord.gateway_protocol import (
    RESUMABLE_CLOSE_CODE,
    CloseAction,
    Opcode,
    close_action,
    describe_close,
    gateway_url,
)
from mjproxy.discord.identity import DEFAULT_USER_AGENT, build_identify, default_properties
from mjproxy.discord.ratelimit import WindowRateLimiter
from mjproxy.discord.sessions import SessionSnapshot
from mjproxy.discord.zlib_stream import ZlibStreamInflater
from mjproxy.domain.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: Discord allows 120 client payloads per 60 s; keep headroom for heartbeats (as discord.py does).
SEND_LIMIT: Final = 110
SEND_PERIOD: Final = 60.0

DispatchHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class GatewayState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    IDENTIFYING = "identifying"
    RESUMING = "resuming"
    READY = "ready"
    DISCONNECTED = "disconnected"
    FATAL = "fatal"
    CLOSED = "closed"


StateHandler = Callable[[GatewayState, str | None], Awaitable[None]]
SessionHandler = Callable[[SessionSnapshot | None], None]


@dataclass(slots=True)
class _Reconnect:
    """Why a connection ended and how the next one should start."""

    action: CloseAction  # RESUME or IDENTIFY
    reason: str
    delay: float | None = None  # fixed wait (op 9) instead of exponential backoff


class _Fatal(Exception):
    def __init__(self, error: GatewayClosed) -> None:
        super().__init__(str(error))
        self.error = error


class _Connection:
    """Per-socket state: the inflate context, heartbeat bookkeeping and send budget."""

    def __init__(self, ws: ClientConnection, inflater: ZlibStreamInflater | None, clock: Clock) -> None:
        self.ws = ws
        self.inflater = inflater
        self.limiter = WindowRateLimiter(SEND_LIMIT, SEND_PERIOD, clock)
        self.heartbeat: asyncio.Task[None] | None = None
        self.acked = True
        self.last_beat: float | None = None
        self.planned: _Reconnect | None = None


class GatewayClient:
    """One gateway session for one user token, kept alive across drops until :meth:`close`."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        on_dispatch: DispatchHandler,
        on_state: StateHandler | None = None,
        properties: dict[str, Any] | None = None,
        user_agent: str | None = None,
        compress: bool = True,
        clock: Clock | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        invalid_session_delay: tuple[float, float] = (1.0, 5.0),
        rng: random.Random | None = None,
        open_timeout: float = 30.0,
        resume_from: SessionSnapshot | None = None,
        on_session: SessionHandler | None = None,
    ) -> None:
        """``resume_from``: a session saved by an earlier process; the first connection RESUMEs it (and falls
        back to IDENTIFY if Discord says it is gone). ``on_session`` hears of the session after every
        processed dispatch (None once it is gone), so it can be saved for the next process."""
        self._url = url
        self._token = token
        self._on_dispatch = on_dispatch
        self._on_state = on_state
        self._user_agent = user_agent or DEFAULT_USER_AGENT
        # Caller-given properties override the Chrome defaults field by field, so a partial dict
        # (just os/browser, say) still yields the full set a web client sends.
        self._properties = {**default_properties(self._user_agent), **(properties or {})}
        self._compress = compress
        self._clock = clock or SystemClock()
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._invalid_session_delay = invalid_session_delay
        self._rng = rng or random.Random()
        self._open_timeout = open_timeout

        self.session_id: str | None = None
        self.user: dict[str, Any] | None = None
        self.sequence: int | None = None
        self.resume_gateway_url: str | None = None
        self.state: GatewayState = GatewayState.IDLE
        self.fatal_reason: str | None = None
        self.latency: float | None = None  # seconds between the last heartbeat and its ACK
        self.reconnects = 0  # connections lost and retried since start (metrics read it)

        self._fatal_error: GatewayClosed | None = None
        self._conn: _Connection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._state_changed = asyncio.Event()
        self._closing = False
        self._failures = 0  # consecutive connection attempts without READY/RESUMED
        self._on_session = on_session
        self._queue_items: asyncio.Queue[tuple[str, dict[str, Any], int | None]] = asyncio.Queue()
        if resume_from is not None:
            self.session_id = resume_from.session_id
            self.sequence = resume_from.sequence
            self.resume_gateway_url = resume_from.resume_gateway_url
            if resume_from.user_id:
                self.user = {"id": resume_from.user_id}

    def __repr__(self) -> str:
        return f"GatewayClient(state={self.state}, session={self.session_id})"

    # --- public --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Launch the background connection loop and return at once."""
        if self._runner is not None:
            raise GatewayError("gateway client already started")
        self._closing = False
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="gateway-dispatch")
        self._runner = asyncio.create_task(self._run(), name="gateway-runner")

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Return once READY (or RESUMED); raise the fatal error if the client stopped for good."""

        async def settled() -> None:
            while True:
                if self.state is GatewayState.READY:
                    return
                if self.state is GatewayState.FATAL and self._fatal_error is not None:
                    raise self._fatal_error
                if self.state is GatewayState.CLOSED:
                    raise GatewayError("gateway client is closed")
                await self._state_changed.wait()

        await asyncio.wait_for(settled(), timeout)

    async def close(self) -> None:
        """Shut down for good: close the socket, stop every task, state CLOSED."""
        self._closing = True
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.ws.close(1000, "client shutdown")
        for task in (self._runner, self._dispatcher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._runner = self._dispatcher = None
        self._report_session(None)  # a clean close (1000) ends the session at Discord
        if self.state is not GatewayState.FATAL:
            await self._set_state(GatewayState.CLOSED, "closed by client")

    async def send(self, op: int, data: Any) -> None:
        """Send a payload on the live connection (e.g. op 3 presence), within the send budget."""
        conn = self._conn
        if conn is None:
            raise GatewayError("gateway is not connected")
        await self._send(conn, op, data)

    # --- connection loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._closing:
                outcome = await self._run_connection()
                if self._closing:
                    return
                self.reconnects += 1
                if outcome.action is CloseAction.IDENTIFY:
                    self._forget_session()
                if outcome.delay is not None:
                    delay = outcome.delay
                else:
                    delay = full_jitter(
                        self._failures, base=self._backoff_base, cap=self._backoff_cap, rng=self._rng
                    )
                self._failures += 1
                await self._set_state(
                    GatewayState.DISCONNECTED,
                    f"{outcome.reason}; will {outcome.action.value} in {delay:.2f}s",
                )
                await self._clock.sleep(delay)
        except _Fatal as fatal:
            self._fatal_error = fatal.error
            self.fatal_reason = str(fatal.error)
            log.error("gateway stopped: %s", fatal.error)
            await self._set_state(GatewayState.FATAL, self.fatal_reason)

    async def _run_connection(self) -> _Reconnect:
        resuming = self.session_id is not None and self.resume_gateway_url is not None
        url = gateway_url(
            self.resume_gateway_url if resuming and self.resume_gateway_url else self._url,
            compress=self._compress,
        )
        await self._set_state(GatewayState.CONNECTING, f"connecting to {urlsplit(url).netloc}")
        try:
            ws = await connect(
                url,
                user_agent_header=self._user_agent,
                additional_headers={
                    "Accept-Language": "en-US,en;q=0.9",
                    "Cache-Control": "no-cache",
                    "Pragma": "no-cache",
                },
                open_timeout=self._open_timeout,
                ping_interval=None,  # Discord's own heartbeat is the keep-alive
                close_timeout=2.0,
                max_size=None,  # READY of a busy user account is several MB
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            return _Reconnect(CloseAction.RESUME, f"could not connect: {type(exc).__name__}: {exc}")

        conn = _Connection(ws, ZlibStreamInflater() if self._compress else None, self._clock)
        self._conn = conn
        try:
            return await self._receive_loop(conn)
        except _Fatal:
            raise
        except Exception as exc:  # a bug must not take the account down for good
            log.exception("gateway connection failed unexpectedly")
            return _Reconnect(CloseAction.RESUME, f"internal error: {type(exc).__name__}")
        finally:
            self._conn = None
            if conn.heartbeat is not None:
                conn.heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn.heartbeat
            with contextlib.suppress(Exception):
                await ws.close(RESUMABLE_CLOSE_CODE, "reconnecting")

    async def _receive_loop(self, conn: _Connection) -> _Reconnect:
        while True:
            try:
                raw = await conn.ws.recv()
            except ConnectionClosed as exc:
                if conn.planned is not None:
                    return conn.planned
                return self._closed(exc)
            try:
                payload = self._decode(conn, raw)
            except (ValueError, zlib.error) as exc:
                await self._plan(conn, _Reconnect(CloseAction.RESUME, f"undecodable payload: {exc}"))
                continue
            if payload is not None and conn.planned is None:
                await self._handle(conn, payload)

    def _closed(self, exc: ConnectionClosed) -> _Reconnect:
        code = exc.rcvd.code if exc.rcvd is not None else None
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        action = close_action(code)
        description = describe_close(code, reason)
        if action is CloseAction.FATAL:
            if code == 4004:
                raise _Fatal(AuthenticationFailed(reason or "Authentication failed"))
            raise _Fatal(GatewayClosed(code, reason or description, fatal=True))
        return _Reconnect(action, f"gateway {description}")

    async def _plan(self, conn: _Connection, outcome: _Reconnect) -> None:
        """Drop this connection on purpose, remembering how to come back."""
        if conn.planned is not None:
            return
        conn.planned = outcome
        log.info("gateway reconnecting: %s", outcome.reason)
        with contextlib.suppress(Exception):
            await conn.ws.close(RESUMABLE_CLOSE_CODE, outcome.reason[:120])

    # --- payloads ------------------------------------------------------------------------------------

    def _decode(self, conn: _Connection, raw: str | bytes) -> dict[str, Any] | None:
        if isinstance(raw, bytes):
            if conn.inflater is not None:
                text = conn.inflater.feed(raw)
                if text is None:
                    return None  # the payload continues in the next frame
            else:
                text = raw.decode("utf-8")
        else:
            text = raw
        payload = json.loads(text)
        if not isinstance(payload, dict):
            raise ValueError("gateway payload is not an object")
        return payload

    async def _handle(self, conn: _Connection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == Opcode.DISPATCH:
            await self._handle_dispatch(payload)
        elif op == Opcode.HELLO:
            if conn.heartbeat is not None:
                return  # a second HELLO on one socket: keep the first heartbeat and session
            interval = float((data or {}).get("heartbeat_interval", 41250)) / 1000.0
            conn.heartbeat = asyncio.create_task(
                self._heartbeat_loop(conn, interval), name="gateway-heartbeat"
            )
            await self._authenticate(conn)
        elif op == Opcode.HEARTBEAT:
            await self._send_heartbeat(conn)  # the server asks for one now
        elif op == Opcode.HEARTBEAT_ACK:
            conn.acked = True
            if conn.last_beat is not None:
                self.latency = self._clock.monotonic() - conn.last_beat
        elif op == Opcode.RECONNECT:
            await self._plan(conn, _Reconnect(CloseAction.RESUME, "server asked to reconnect (op 7)"))
        elif op == Opcode.INVALID_SESSION:
            if data is True:
                await self._plan(conn, _Reconnect(CloseAction.RESUME, "session invalid but resumable (op 9)"))
            else:
                self._forget_session()
                low, high = self._invalid_session_delay
                delay = low + self._rng.random() * (high - low)
                await self._plan(
                    conn, _Reconnect(CloseAction.IDENTIFY, "session invalidated (op 9)", delay=delay)
                )
        else:
            log.debug("ignoring gateway op %s", op)

    async def _handle_dispatch(self, payload: dict[str, Any]) -> None:
        seq = payload.get("s")
        if isinstance(seq, int):
            self.sequence = seq
        event = payload.get("t")
        data = payload.get("d")
        if not isinstance(event, str):
            return
        if not isinstance(data, dict):
            data = {}
        if event == "READY":
            self.session_id = data.get("session_id")
            self.resume_gateway_url = data.get("resume_gateway_url")
            self.user = data.get("user")
            self._failures = 0
            user_id = (self.user or {}).get("id")
            await self._set_state(GatewayState.READY, f"ready as user {user_id}")
        elif event == "RESUMED":
            self._failures = 0
            await self._set_state(GatewayState.READY, f"resumed session at seq {self.sequence}")
        self._queue_items.put_nowait((event, data, seq if isinstance(seq, int) else None))

    async def _authenticate(self, conn: _Connection) -> None:
        if self.session_id is not None and self.sequence is not None:
            await self._set_state(GatewayState.RESUMING, f"resuming from seq {self.sequence}")
            resume = {"token": self._token, "session_id": self.session_id, "seq": self.sequence}
            await self._send(conn, Opcode.RESUME, resume)
        else:
            await self._set_state(GatewayState.IDENTIFYING, "identifying")
            await self._send(conn, Opcode.IDENTIFY, build_identify(self._token, self._properties))

    async def _heartbeat_loop(self, conn: _Connection, interval: float) -> None:
        # Jitter the first beat so a fleet of accounts reconnecting together does not beat in lockstep.
        await self._clock.sleep(interval * self._rng.random())
        while conn.planned is None:
            if not conn.acked:
                await self._plan(
                    conn, _Reconnect(CloseAction.RESUME, "heartbeat not acknowledged (zombie connection)")
                )
                return
            await self._send_heartbeat(conn)
            await self._clock.sleep(interval)

    async def _send_heartbeat(self, conn: _Connection) -> None:
        conn.acked = False
        conn.last_beat = self._clock.monotonic()
        conn.limiter.record()  # heartbeats never wait, but they use up the budget
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(json.dumps({"op": Opcode.HEARTBEAT, "d": self.sequence}))

    async def _send(self, conn: _Connection, op: int, data: Any) -> None:
        await conn.limiter.acquire()
        log.debug("gateway send op %d", op)  # never the payload: IDENTIFY/RESUME carry the token
        with contextlib.suppress(ConnectionClosed):
            await conn.ws.send(json.dumps({"op": int(op), "d": data}))

    # --- state and delivery --------------------------------------------------------------------------

    def _forget_session(self) -> None:
        self.session_id = None
        self.sequence = None
        self.resume_gateway_url = None
        self._report_session(None)

    async def _set_state(self, state: GatewayState, reason: str | None) -> None:
        self.state = state
        log.info("gateway %s: %s", state.value, reason)
        # Wake every wait_ready() and give later ones a fresh event to wait on.
        self._state_changed.set()
        self._state_changed = asyncio.Event()
        if self._on_state is not None:
            try:
                await self._on_state(state, reason)
            except Exception:
                log.exception("on_state callback failed")

    async def _dispatch_loop(self) -> None:
        while True:
            event, data, seq = await self._queue_items.get()
            try:
                await self._on_dispatch(event, data)
            except Exception:
                log.exception("on_dispatch callback failed for %s", event)
            if seq is not None:
                self._report_session(seq)

    def _report_session(self, processed: int | None) -> None:
        if self._on_session is None:
            return
        if self.session_id is None or self.resume_gateway_url is None or processed is None:
            self._on_session(None)
            return
        user_id = (self.user or {}).get("id")
        self._on_session(SessionSnapshot(self.session_id, processed, self.resume_gateway_url,
                                         str(user_id) if user_id else None, time.time()))
