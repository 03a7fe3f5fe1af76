from __future__ import annotations

import asyncio
import json
import re
import zlib

import httpx
import websockets

from mjproxy.emulator import Emulator

from .conftest import RawGateway


async def test_hello_ready_plain_text_frames(emu: Emulator) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    hello = await g.recv()
    assert hello == {"op": 10, "d": {"heartbeat_interval": 1000, "_trace": hello["d"]["_trace"]},
                     "s": None, "t": None}
    ready = await g.identify(emu.sandbox.token)
    assert ready["s"] == 1
    d = ready["d"]
    assert d["v"] == 9 and d["user"]["id"] == emu.sandbox.user_id
    assert re.fullmatch(r"[0-9a-f]{32}", d["session_id"])
    assert d["resume_gateway_url"] == emu.gateway_url
    assert [gd["id"] for gd in d["guilds"]] == [emu.sandbox.guild_id]
    dm = d["private_channels"][0]
    assert dm["type"] == 1 and dm["recipients"][0]["id"] == "936929561302675456"
    sup = await g.wait_for("READY_SUPPLEMENTAL")
    assert sup["s"] == 2
    assert all(isinstance(f, str) for f in g.frames)
    await g.close()


async def test_zlib_stream_shared_context(emu: Emulator, http: httpx.AsyncClient) -> None:
    g = RawGateway(emu.gateway_url, compress=True)
    await g.open()
    await g.identify(emu.sandbox.token)
    await http.post(f"/channels/{emu.sandbox.channel_id}/messages", json={"content": "hello"})
    msg = await g.wait_for("MESSAGE_CREATE")
    assert msg["d"]["content"] == "hello"
    assert all(isinstance(f, bytes) and f.endswith(b"\x00\x00\xff\xff") for f in g.frames)
    # One shared stream: a fresh inflater cannot decode a later frame on its own.
    try:
        last = g.frames[-1]
        assert isinstance(last, bytes)
        zlib.decompressobj().decompress(last)
        independent = True
    except zlib.error:
        independent = False
    assert not independent
    await g.close()


async def test_identify_before_hello_and_heartbeats(emu: Emulator) -> None:
    ws = await websockets.connect(emu.gateway_url + "/any/path?v=9&encoding=json")
    await ws.send(json.dumps({"op": 2, "d": {"token": emu.sandbox.token, "properties": {}}}))
    frames = [json.loads(await ws.recv()) for _ in range(3)]
    assert [f["op"] for f in frames] == [10, 0, 0]
    assert frames[1]["t"] == "READY"
    await ws.send(json.dumps({"op": 1, "d": 12345}))  # counters as `d` are fine (erictik quirk)
    assert json.loads(await ws.recv()) == {"op": 11, "d": None, "s": None, "t": None}
    await ws.send(json.dumps({"op": 40, "d": {"seq": 2, "qos": {"active": True}}}))
    assert json.loads(await ws.recv())["op"] == 11
    for op in (3, 4, 8, 14, 37):
        await ws.send(json.dumps({"op": op, "d": {}}))
    await ws.send(json.dumps({"op": 1, "d": None}))
    assert json.loads(await ws.recv())["op"] == 11  # ignored ops did not close the socket
    await ws.close()


async def test_bad_token_4004(emu: Emulator) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.send(2, {"token": "nope", "properties": {}})
    assert await g.wait_closed() == 4004


async def test_second_identify_4005_and_payload_before_identify_4003(emu: Emulator) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.identify(emu.sandbox.token)
    await g.send(2, {"token": emu.sandbox.token, "properties": {}})
    assert await g.wait_closed() == 4005

    g2 = RawGateway(emu.gateway_url)
    await g2.open()
    await g2.send(3, {"status": "online"})
    assert await g2.wait_closed() == 4003


async def test_heartbeat_timeout_4009(emu: Emulator) -> None:
    emu.config.heartbeat_interval_ms = 200
    emu.config.heartbeat_grace_ms = 0
    g = RawGateway(emu.gateway_url)
    await g.open(heartbeat=False)
    await g.identify(emu.sandbox.token)
    assert await g.wait_closed(3) == 4009


async def test_resume_replays_missed_dispatches(emu: Emulator, http: httpx.AsyncClient) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.identify(emu.sandbox.token)
    await g.wait_for("READY_SUPPLEMENTAL")
    sid, seq = g.session_id, g.seq
    assert seq is not None
    await emu.drop_sessions(emu.sandbox.user_id)
    assert await g.wait_closed() == 1006  # TCP cut, no close frame
    for text in ("one", "two"):
        r = await http.post(f"/channels/{emu.sandbox.channel_id}/messages", json={"content": text})
        assert r.status_code == 200
    g2 = RawGateway(emu.gateway_url, compress=True)
    await g2.open()
    await g2.send(6, {"token": emu.sandbox.token, "session_id": sid, "seq": seq})
    got = await g2.dispatches_until(lambda p: p["t"] == "RESUMED")
    assert [(p["t"], p["s"], p["d"].get("content")) for p in got] == [
        ("MESSAGE_CREATE", seq + 1, "one"), ("MESSAGE_CREATE", seq + 2, "two"), ("RESUMED", seq + 3, None)]
    await g2.close()


async def test_resume_unknown_session_op9(emu: Emulator) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.send(6, {"token": emu.sandbox.token, "session_id": "0" * 32, "seq": 5})
    assert (await g.wait_for(op=9))["d"] is False
    await g.identify(emu.sandbox.token)  # re-IDENTIFY on the same socket is allowed
    await g.close()


async def test_op7_reconnect_then_resume(emu: Emulator, gw: RawGateway) -> None:
    sid, seq = gw.session_id, gw.seq
    await emu.send_reconnect(emu.sandbox.user_id)
    assert (await gw.wait_for(op=7))["d"] is None
    assert await gw.wait_closed() == 4000
    g2 = RawGateway(emu.gateway_url)
    await g2.open()
    await g2.send(6, {"token": emu.sandbox.token, "session_id": sid, "seq": seq})
    assert (await g2.wait_for("RESUMED"))["s"] == (seq or 0) + 1
    await g2.close()


async def test_hooks_invalid_session_heartbeat_close(emu: Emulator, gw: RawGateway) -> None:
    await emu.request_heartbeat(emu.sandbox.user_id)
    assert (await gw.wait_for(op=1))["op"] == 1
    await emu.send_invalid_session(emu.sandbox.user_id, resumable=False)
    assert (await gw.wait_for(op=9))["d"] is False
    await gw.identify(emu.sandbox.token)  # fresh session on the same socket
    await emu.close_sessions(emu.sandbox.user_id, 1011)
    assert await gw.wait_closed() == 1011


async def test_revoked_token_rest_401_gateway_4004(emu: Emulator, http: httpx.AsyncClient,
                                                    gw: RawGateway) -> None:
    emu.set_token_valid(emu.sandbox.token, False)
    assert await gw.wait_closed() == 4004
    r = await http.get("/users/@me")
    assert r.status_code == 401 and r.json() == {"message": "401: Unauthorized", "code": 0}


async def test_clean_close_invalidates_session(emu: Emulator) -> None:
    g = RawGateway(emu.gateway_url)
    await g.open()
    await g.identify(emu.sandbox.token)
    sid, seq = g.session_id, g.seq
    await g.close(1000)
    await asyncio.sleep(0.1)
    g2 = RawGateway(emu.gateway_url)
    await g2.open()
    await g2.send(6, {"token": emu.sandbox.token, "session_id": sid, "seq": seq})
    assert (await g2.wait_for(op=9))["d"] is False
    await g2.close()
