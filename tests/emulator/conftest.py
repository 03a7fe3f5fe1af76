"""Raw Discord client for emulator tests: plain httpx + websockets + zlib (deliberately NOT mjproxy's client,
so a misunderstanding cannot hide on both sides)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import websockets

from mjproxy.emulator import Emulator, EmulatorConfig, SandboxAccount

IMAGINE_ID = "938956540159881230"
IMAGINE_VERSION = "1237876415471554623"
MJ = "936929561302675456"
ZLIB_SUFFIX = b"\x00\x00\xff\xff"


def nonce() -> str:
    return str(random.randrange(10**17, 10**19))


class RawGateway:
    def __init__(self, url: str, compress: bool = False) -> None:
        self.url = url + "/?encoding=json&v=9" + ("&compress=zlib-stream" if compress else "")
        self.compress = compress
        self.ws: Any = None
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames: list[bytes | str] = []
        self.seq: int | None = None
        self.session_id: str | None = None
        self.hello: dict[str, Any] | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._inflate = zlib.decompressobj()
        self._buf = bytearray()

    async def open(self, heartbeat: bool = True) -> None:
        self.ws = await websockets.connect(self.url, max_size=None)
        self._tasks.append(asyncio.create_task(self._reader()))
        if heartbeat:
            self._tasks.append(asyncio.create_task(self._heartbeater()))

    async def _reader(self) -> None:
        try:
            async for frame in self.ws:
                self.frames.append(frame)
                if isinstance(frame, bytes):
                    assert self.compress, "binary frame without compress"
                    self._buf.extend(frame)
                    if not self._buf.endswith(ZLIB_SUFFIX):
                        continue
                    text = self._inflate.decompress(bytes(self._buf)).decode()
                    self._buf.clear()
                else:
                    assert not self.compress, "text frame with compress=zlib-stream"
                    text = frame
                payload = json.loads(text)
                if payload.get("s") is not None:
                    self.seq = payload["s"]
                if payload["op"] == 10:
                    self.hello = payload["d"]
                if payload.get("t") == "READY":
                    self.session_id = payload["d"]["session_id"]
                await self.queue.put(payload)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def _heartbeater(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                interval = (self.hello or {}).get("heartbeat_interval", 1000) / 1000
                await asyncio.sleep(interval / 2)
                await self.ws.send(json.dumps({"op": 1, "d": self.seq}))

    def pending(self) -> list[dict[str, Any]]:
        """Everything received but not consumed yet (non-blocking)."""
        out: list[dict[str, Any]] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    async def send(self, op: int, d: Any) -> None:
        await self.ws.send(json.dumps({"op": op, "d": d}))

    async def identify(self, token: str) -> dict[str, Any]:
        await self.send(2, {"token": token, "capabilities": 16381,
                            "properties": {"os": "Linux", "browser": "Chrome", "device": ""}, "compress": False})
        return await self.wait_for("READY")

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def wait_for(self, t: str | None = None, op: int | None = None, timeout: float = 5.0,
                       pred: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            payload = await self.recv(max(0.01, deadline - loop.time()))
            if t is not None and payload.get("t") != t:
                continue
            if op is not None and payload.get("op") != op:
                continue
            if pred is not None and not pred(payload["d"]):
                continue
            return payload

    async def dispatches_until(self, stop: Callable[[dict[str, Any]], bool],
                               timeout: float = 10.0) -> list[dict[str, Any]]:
        """Collect op-0 payloads until `stop(payload)` is true (inclusive)."""
        out: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            payload = await self.recv(max(0.01, deadline - loop.time()))
            if payload["op"] != 0:
                continue
            out.append(payload)
            if stop(payload):
                return out

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self, code: int = 1000) -> None:
        for t in self._tasks:
            if t is not asyncio.current_task():
                t.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close(code)


def imagine_body(acc: SandboxAccount, prompt: str, session_id: str | None, n: str | None = None,
                 version: str = IMAGINE_VERSION) -> dict[str, Any]:
    return {
        "type": 2, "application_id": MJ, "guild_id": acc.guild_id, "channel_id": acc.channel_id,
        "session_id": session_id or "8bb7f5b79c7a49f7d0824ab4b8773a81", "nonce": n or nonce(),
        "data": {"version": version, "id": IMAGINE_ID, "name": "imagine", "type": 1,
                 "options": [{"type": 3, "name": "prompt", "value": prompt}], "attachments": []},
    }


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    e = Emulator(EmulatorConfig(heartbeat_interval_ms=1000, job_duration_s=0, interaction_ack_timeout_s=0.5,
                                session_resume_ttl_s=10))
    await e.start()
    try:
        yield e
    finally:
        await e.stop()


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emu.base_url + "/api/v9",
                                 headers={"Authorization": emu.sandbox.token}) as client:
        yield client


@pytest.fixture
async def gw(emu: Emulator) -> AsyncIterator[RawGateway]:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.identify(emu.sandbox.token)
    await g.wait_for("READY_SUPPLEMENTAL")
    try:
        yield g
    finally:
        await g.close()
