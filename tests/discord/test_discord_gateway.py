"""GatewayClient against a scripted local websocket server speaking zlib-stream."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from mjproxy.discord import AuthenticationFailed, GatewayClient, GatewayState

from .discord_fakes import FakeGateway, Peer, RecordingClock, eventually

TOKEN = "MTIzNDU2Nzg5.gateway-secret-token.XYZ"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.states: list[tuple[GatewayState, str | None]] = []

    async def on_dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.events.append((event, data))

    async def on_state(self, state: GatewayState, reason: str | None) -> None:
        self.states.append((state, reason))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@asynccontextmanager
async def running(
    script: Callable[[Peer], Awaitable[None]],
    recorder: Recorder | None = None,
    on_dispatch: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> AsyncIterator[tuple[FakeGateway, GatewayClient, Recorder]]:
    recorder = recorder or Recorder()
    async with FakeGateway(script) as server:
        options: dict[str, Any] = {
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "invalid_session_delay": (0.01, 0.02),
        }
        options.update(kwargs)
        client = GatewayClient(
            url=server.url,
            token=TOKEN,
            on_dispatch=on_dispatch or recorder.on_dispatch,
            on_state=recorder.on_state,
            **options,
        )
        await client.start()
        try:
            yield server, client, recorder
        finally:
            await client.close()
            assert not server.errors, server.errors


async def test_identify_ready_and_ordered_dispatch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    identify: dict[str, Any] = {}
    seen: list[str] = []

    async def slow_consumer(event: str, data: dict[str, Any]) -> None:
        if event == "MESSAGE_CREATE" and data["n"] == 1:
            await asyncio.sleep(0.05)  # a slow consumer must not reorder later events
        if data.get("n") == 2:
            raise RuntimeError("consumer bug")  # logged, never kills the connection
        seen.append(f"{event}:{data.get('n', '')}")

    async def script(peer: Peer) -> None:
        await peer.hello()
        identify.update(await peer.recv(op=2))
        await peer.ready(resume_url="ws://unused.invalid")
        for n in range(1, 6):
            await peer.dispatch("MESSAGE_CREATE", {"n": n, "content": "x" * 300}, seq=n + 1)
        await peer.wait_closed()

    async with running(script, on_dispatch=slow_consumer) as (server, client, recorder):
        await client.wait_ready(timeout=5)
        await eventually(lambda: len(seen) == 5)
        assert seen == ["READY:", "MESSAGE_CREATE:1", "MESSAGE_CREATE:3", "MESSAGE_CREATE:4", "MESSAGE_CREATE:5"]
        assert client.session_id == "sess-1"
        assert client.user == {"id": "42", "username": "alice"}
        assert client.sequence == 6
        assert client.state is GatewayState.READY
        assert server.peers[0].path == "/?encoding=json&v=9&compress=zlib-stream"

    d = identify["d"]
    assert d["token"] == TOKEN
    assert d["capabilities"] == 16381
    assert {"os", "browser", "device", "browser_user_agent"} <= d["properties"].keys()
    assert d["compress"] is False
    assert "intents" not in d
    assert "presence" in d and "client_state" in d
    states = [state for state, _ in recorder.states]
    assert states[:4] == [
        GatewayState.CONNECTING,
        GatewayState.IDENTIFYING,
        GatewayState.READY,
        GatewayState.CLOSED,
    ]
    assert TOKEN not in caplog.text


async def test_text_frames_without_compression() -> None:
    async def script(peer: Peer) -> None:
        assert not peer.compress
        await peer.hello()
        await peer.recv(op=2)
        await peer.ready()
        await peer.wait_closed()

    async with running(script, compress=False) as (server, client, _):
        await client.wait_ready(timeout=5)
        assert server.peers[0].path == "/?encoding=json&v=9"


async def test_zombie_connection_resumes_with_last_seq() -> None:
    resumes: list[dict[str, Any]] = []
    close_codes: list[int | None] = []

    async def script(peer: Peer) -> None:
        if peer.index == 0:
            peer.auto_ack = False  # never ACK: the client must detect the zombie
            await peer.hello(interval_ms=40)
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer) + "/resume-here")
            await peer.dispatch("MESSAGE_CREATE", {"n": 1}, seq=2)
            close_codes.append(await peer.wait_closed())
        else:
            await peer.hello()
            resumes.append(await peer.recv(op=6))
            await peer.dispatch("RESUMED", {}, seq=3)
            await peer.wait_closed()

    async with running(script) as (server, client, recorder):
        await eventually(lambda: "RESUMED" in recorder.names())
        assert client.state is GatewayState.READY
        assert server.peers[1].path.startswith("/resume-here?encoding=json&v=9&compress=zlib-stream")
        assert server.peers[0].heartbeats  # at least one beat was sent before giving up
        assert server.peers[0].heartbeats[-1] == 2  # d = last sequence
    assert close_codes == [4000]  # never 1000/1001: that would kill the session
    assert resumes[0]["d"] == {"token": TOKEN, "session_id": "sess-1", "seq": 2}


def peer_url(peer: Peer) -> str:
    host, port = peer.ws.local_address[:2]
    return f"ws://{host}:{port}"


async def test_server_heartbeat_request_is_answered_at_once() -> None:
    async def script(peer: Peer) -> None:
        await peer.hello()
        await peer.recv(op=2)
        await peer.ready()
        await peer.dispatch("MESSAGE_CREATE", {}, seq=2)
        await peer.send({"op": 1, "d": None})
        beat = await peer.recv(op=1)
        assert beat["d"] == 2
        await peer.send({"op": 11, "d": {}})  # an ACK with {} must be accepted too
        await peer.dispatch("DONE", {}, seq=3)
        await peer.wait_closed()

    async with running(script) as (_, client, recorder):
        await eventually(lambda: "DONE" in recorder.names())
        assert client.latency is not None


async def test_op7_reconnect_resumes() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        if peer.index == 0:
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer))
            await peer.send({"op": 7, "d": None})
            await peer.wait_closed()
        else:
            payloads.append(await peer.recv())
            await peer.dispatch("RESUMED", {}, seq=2)
            await peer.wait_closed()

    async with running(script) as (server, _client, recorder):
        await eventually(lambda: "RESUMED" in recorder.names())
        assert len(server.peers) == 2
    assert payloads[0]["op"] == 6
    assert payloads[0]["d"]["seq"] == 1


async def test_invalid_session_false_identifies_again() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        if peer.index == 0:
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer))
            await peer.send({"op": 7, "d": None})
            await peer.wait_closed()
        elif peer.index == 1:
            payloads.append(await peer.recv())
            await peer.send({"op": 9, "d": False})
            await peer.wait_closed()
        else:
            payloads.append(await peer.recv())
            await peer.ready(session_id="sess-2")
            await peer.wait_closed()

    async with running(script) as (server, client, recorder):
        await eventually(lambda: client.session_id == "sess-2")
        assert len(server.peers) == 3
    assert [p["op"] for p in payloads] == [6, 2]
    assert recorder.names().count("READY") == 2


async def test_invalid_session_true_resumes_again() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        if peer.index == 0:
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer))
            await peer.send({"op": 9, "d": True})
            await peer.wait_closed()
        else:
            payloads.append(await peer.recv())
            await peer.dispatch("RESUMED", {}, seq=2)
            await peer.wait_closed()

    async with running(script) as (_, _client, recorder):
        await eventually(lambda: "RESUMED" in recorder.names())
    assert payloads[0]["op"] == 6


async def test_4004_is_fatal_without_retries() -> None:
    async def script(peer: Peer) -> None:
        await peer.hello()
        await peer.recv(op=2)
        await peer.close(4004, "Authentication failed")

    async with running(script) as (server, client, recorder):
        with pytest.raises(AuthenticationFailed):
            await client.wait_ready(timeout=5)
        assert client.state is GatewayState.FATAL
        assert client.fatal_reason and "4004" in client.fatal_reason
        assert TOKEN not in client.fatal_reason
        await asyncio.sleep(0.1)
        assert len(server.peers) == 1
        assert recorder.states[-1][0] is GatewayState.FATAL


async def test_4009_starts_a_new_session() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        if peer.index == 0:
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer))
            await peer.close(4009, "Session timed out")
        else:
            payloads.append(await peer.recv())
            await peer.ready(session_id="sess-2")
            await peer.wait_closed()

    async with running(script) as (_, client, _recorder):
        await eventually(lambda: client.session_id == "sess-2")
    assert payloads[0]["op"] == 2


async def test_1006_drop_resumes() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        if peer.index == 0:
            await peer.recv(op=2)
            await peer.ready(resume_url=peer_url(peer))
            peer.ws.transport.abort()  # no close frame at all
        else:
            payloads.append(await peer.recv())
            await peer.dispatch("RESUMED", {}, seq=2)
            await peer.wait_closed()

    async with running(script) as (_, _client, recorder):
        await eventually(lambda: "RESUMED" in recorder.names())
    assert payloads[0]["op"] == 6


class AlmostOne(random.Random):
    def random(self) -> float:
        return 0.999


async def test_backoff_grows_and_resets_after_ready() -> None:
    clock = RecordingClock()

    async def script(peer: Peer) -> None:
        if peer.index < 4 or peer.index == 5:
            await peer.close(4000, "flaky")  # before HELLO: no session progress
            return
        await peer.hello()
        await peer.recv(op=2)
        await peer.ready()
        await peer.close(4000, "flaky after ready")

    async with running(script, clock=clock, rng=AlmostOne(), backoff_base=0.01, backoff_cap=0.06) as (
        server,
        _client,
        _recorder,
    ):
        await eventually(lambda: len(server.peers) >= 7)
    backoffs = [delay for delay in clock.sleeps if delay < 1][:6]  # drop the 45 s heartbeat waits
    assert backoffs[:4] == pytest.approx([0.00999, 0.01998, 0.03996, 0.05994])  # doubling, capped
    assert backoffs[4:] == pytest.approx([0.00999, 0.01998])  # READY reset the failure count


async def test_wait_ready_times_out() -> None:
    async def script(peer: Peer) -> None:
        await peer.hello()
        await peer.recv(op=2)
        await peer.wait_closed()  # never READY

    async with running(script) as (_, client, _recorder):
        with pytest.raises(asyncio.TimeoutError):
            await client.wait_ready(timeout=0.1)
