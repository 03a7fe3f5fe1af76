"""Fakes for the discord-layer tests: controllable clocks and a scripted local gateway server."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class AutoClock:
    """Sleeping advances time at once (and yields), recording every requested delay."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return 1_700_000_000.0 + self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


class ManualClock:
    """Sleepers wait until the test calls :meth:`advance` past their deadline."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return 1_700_000_000.0 + self.t

    def monotonic(self) -> float:
        return self.t

    @property
    def sleeping(self) -> int:
        return sum(1 for _, fut in self._sleepers if not fut.done())

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, fut))
        await fut

    async def advance(self, seconds: float) -> None:
        self.t += seconds
        for deadline, fut in self._sleepers:
            if deadline <= self.t and not fut.done():
                fut.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        for _ in range(20):
            await asyncio.sleep(0)


class RecordingClock:
    """Real time, but remembers every sleep (to observe backoff)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> float:
        import time

        return time.time()

    def monotonic(self) -> float:
        import time

        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds)


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class Peer:
    """Server side of one gateway connection: zlib-stream frames split in pieces, JSON in."""

    def __init__(self, ws: ServerConnection, index: int, compress: bool) -> None:
        self.ws = ws
        self.index = index
        self.path = ws.request.path if ws.request is not None else ""
        self.compress = compress and "compress=zlib-stream" in self.path
        self._deflate = zlib.compressobj()
        self.auto_ack = True
        self.heartbeats: list[Any] = []

    async def send(self, payload: dict[str, Any], pieces: int = 3) -> None:
        raw = json.dumps(payload).encode()
        if not self.compress:
            await self.ws.send(raw.decode())
            return
        data = self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        size = max(1, len(data) // pieces)
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        for chunk in chunks:
            await self.ws.send(chunk)

    async def hello(self, interval_ms: int = 45_000) -> None:
        await self.send({"op": 10, "d": {"heartbeat_interval": interval_ms}, "s": None, "t": None})

    async def dispatch(self, event: str, data: dict[str, Any], seq: int) -> None:
        await self.send({"op": 0, "t": event, "s": seq, "d": data})

    async def ready(self, seq: int = 1, session_id: str = "sess-1", resume_url: str | None = None) -> None:
        await self.dispatch(
            "READY",
            {
                "v": 9,
                "user": {"id": "42", "username": "alice"},
                "session_id": session_id,
                "resume_gateway_url": resume_url,
                "private_channels": [],
            },
            seq,
        )

    async def recv(self, op: int | None = None) -> dict[str, Any]:
        """Next client payload (of ``op`` if given); heartbeats are recorded and ACKed on the way."""
        while True:
            payload: dict[str, Any] = json.loads(await self.ws.recv())
            if payload.get("op") == 1 and op != 1:
                self.heartbeats.append(payload.get("d"))
                if self.auto_ack:
                    await self.send({"op": 11, "d": None, "s": None, "t": None})
                continue
            if op is None or payload.get("op") == op:
                return payload

    async def close(self, code: int, reason: str = "") -> None:
        await self.ws.close(code, reason)

    async def wait_closed(self) -> int | None:
        try:
            while True:
                payload = json.loads(await self.ws.recv())
                if payload.get("op") == 1:
                    self.heartbeats.append(payload.get("d"))
                    if self.auto_ack:
                        await self.send({"op": 11, "d": None, "s": None, "t": None})
        except ConnectionClosed:
            pass
        return self.ws.close_code


Script = Callable[[Peer], Awaitable[None]]


class FakeGateway:
    """Local websocket server; ``script(peer)`` runs for each connection (``peer.index`` counts them)."""

    def __init__(self, script: Script, compress: bool = True) -> None:
        self._script = script
        self._compress = compress
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self._server: Server | None = None
        self.url = ""

    async def _handler(self, ws: ServerConnection) -> None:
        peer = Peer(ws, len(self.peers), self._compress)
        self.peers.append(peer)
        try:
            await self._script(peer)
        except ConnectionClosed:
            pass
        except BaseException as exc:  # surfaced by the test through .errors
            self.errors.append(exc)
            raise

    async def __aenter__(self) -> FakeGateway:
        self._server = await serve(self._handler, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
