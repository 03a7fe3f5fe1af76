"""Gateway sessions kept across processes: a saved session is RESUMEd, the processed sequence is reported,
and the session file is written atomically, privately, and forgets stale sessions."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from mjproxy.discord import GatewayClient
from mjproxy.discord.sessions import SessionFile, SessionSnapshot

from .discord_fakes import FakeGateway, Peer, eventually
from .test_discord_gateway import peer_url


async def test_a_saved_session_is_resumed_and_its_progress_reported() -> None:
    payloads: list[dict[str, Any]] = []
    reported: list[SessionSnapshot | None] = []
    urls: list[str] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        payloads.append(await peer.recv())
        await peer.dispatch("MESSAGE_CREATE", {"id": "1", "content": "replayed"}, seq=42)
        await peer.dispatch("RESUMED", {}, seq=43)
        await peer.wait_closed()

    async def on_dispatch(event: str, data: dict[str, Any]) -> None:
        urls.append(event)

    async with FakeGateway(script) as server:
        snapshot = SessionSnapshot("sess-old", 41, server.url, "user-1", time.time())
        client = GatewayClient(url=server.url, token="tok", on_dispatch=on_dispatch, resume_from=snapshot,
                               on_session=reported.append, backoff_base=0.01, backoff_cap=0.05)
        await client.start()
        try:
            await client.wait_ready(5)
            await eventually(lambda: len(urls) == 2)
        finally:
            await client.close()
        assert not server.errors, server.errors
    assert payloads[0]["op"] == 6
    assert payloads[0]["d"]["session_id"] == "sess-old" and payloads[0]["d"]["seq"] == 41
    assert urls == ["MESSAGE_CREATE", "RESUMED"]
    sequences = [r.sequence for r in reported if r is not None]
    assert sequences == [42, 43]
    assert all(r.user_id == "user-1" for r in reported if r is not None)
    assert reported[-1] is None  # a clean close ends the session


async def test_an_unknown_saved_session_falls_back_to_identify() -> None:
    payloads: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.hello()
        payload = await peer.recv()
        payloads.append(payload)
        if payload["op"] == 6:
            await peer.send({"op": 9, "d": False})
            await peer.wait_closed()
        else:
            await peer.ready(resume_url=peer_url(peer))
            await peer.wait_closed()

    async with FakeGateway(script) as server:
        async def ignore(event: str, data: dict[str, Any]) -> None:
            return None

        client = GatewayClient(url=server.url, token="tok", on_dispatch=ignore,
                               resume_from=SessionSnapshot("gone", 7, server.url), invalid_session_delay=(0.01, 0.02),
                               backoff_base=0.01, backoff_cap=0.05)
        await client.start()
        try:
            await client.wait_ready(5)
        finally:
            await client.close()
    assert [p["op"] for p in payloads] == [6, 2]


def test_session_file_round_trip_is_private_and_forgets_stale_sessions(tmp_path: Path) -> None:
    path = tmp_path / "gateway-sessions.json"
    sessions = SessionFile(path, max_age_seconds=60)
    sessions.update("a", SessionSnapshot("s-a", 5, "wss://resume", "u", time.time()))
    sessions.update("b", SessionSnapshot("s-b", 9, "wss://resume", None, time.time() - 3600))
    sessions.flush()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = SessionFile(path, max_age_seconds=60)
    again.load()
    assert again.get("a") == sessions.get("a")
    assert again.get("b") is None  # too old to be resumable
    again.update("a", None)
    again.flush()
    assert json.loads(path.read_text()) == {}
    path.write_text("{not json")
    broken = SessionFile(path)
    broken.load()  # a damaged file is ignored, not fatal
    assert broken.get("a") is None
