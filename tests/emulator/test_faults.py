"""Emulator fault knobs, seen from a raw Discord client: slow REST, lost dispatches, lost heartbeat ACKs,
the seeded chaos mode, and the channel history that recovery relies on."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from mjproxy.emulator import Emulator
from mjproxy.emulator.chaos import ChaosConfig

from .conftest import RawGateway, imagine_body


async def test_slow_rest_delays_then_serves(emu: Emulator, http: httpx.AsyncClient) -> None:
    fault = emu.slow_rest("/users/@me", 0.4, count=1)
    started = time.monotonic()
    r = await http.get("/users/@me")
    assert time.monotonic() - started >= 0.4  # a lower bound only: the latency is a sleep, never shorter
    assert r.status_code == 200 and r.json()["id"] == emu.sandbox.user_id
    assert fault.remaining == 0 and emu.faults.faults == []  # only the first call was slowed


async def test_fault_arguments_are_validated(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="scope"):
        emu.inject_rest_fault("/interactions", 429, scope="planet")
    with pytest.raises(ValueError, match="status"):
        emu.inject_rest_fault("/interactions", 200)
    with pytest.raises(ValueError, match="fraction"):
        emu.drop_events(["MESSAGE_CREATE"], fraction=2)


async def test_global_and_shared_429_shapes(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.inject_rest_fault("/users/@me", 429, retry_after=1.5, scope="global")
    r = await http.get("/users/@me")
    assert r.status_code == 429 and r.headers["x-ratelimit-global"] == "true"
    assert r.json() == {"message": "You are being rate limited.", "retry_after": 1.5, "global": True}
    emu.inject_rest_fault("/users/@me", 429, retry_after=2.06, scope="shared")
    r = await http.get("/users/@me")
    assert r.headers["x-ratelimit-scope"] == "shared" and "x-ratelimit-global" not in r.headers
    assert r.json()["message"] == "The resource is being rate limited."


async def test_a_lost_final_result_is_never_replayed_but_stays_in_history(
        emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    rule = emu.drop_events(["MESSAGE_CREATE"], count=1, final_only=True)
    assert (await http.post("/interactions", json=imagine_body(emu.sandbox, "a lost parcel", gw.session_id))
            ).status_code == 204
    for _ in range(500):
        if emu.jobs and emu.jobs[0].status == "done":
            break
        await asyncio.sleep(0.02)
    final_id = emu.jobs[0].final_message_id
    assert rule.dropped == [("MESSAGE_CREATE", final_id)]
    seen = [p for p in gw.pending() if p.get("t") == "MESSAGE_CREATE"]
    assert final_id not in [p["d"]["id"] for p in seen]
    seqs = [p["s"] for p in seen]
    assert seqs == sorted(seqs)
    history = (await http.get(f"/channels/{emu.sandbox.channel_id}/messages", params={"limit": 5})).json()
    assert history[0]["id"] == final_id and history[0]["components"]


async def test_lost_heartbeat_ack(emu: Emulator, gw: RawGateway) -> None:
    emu.lose_heartbeat_acks(emu.sandbox.user_id, 1)
    gw.pending()
    await gw.send(1, gw.seq)
    await gw.send(1, gw.seq)
    ack = await gw.wait_for(op=11, timeout=3)
    assert ack["op"] == 11
    assert emu.world.gateway.loss.ack_losses[emu.sandbox.user_id] == 0


async def test_chaos_is_reproducible_from_its_seed(emu: Emulator) -> None:
    def rolls(seed: int) -> list[tuple[int, float] | None]:
        emu.update_config(chaos=ChaosConfig(seed=seed, rest_429=0.3, rest_5xx=0.3, rest_slow=0.2))
        out: list[tuple[int, float] | None] = []
        for _ in range(40):
            fault = emu.world.gateway.chaos.rest_fault("POST", "/interactions")
            out.append(None if fault is None else (fault.status, fault.latency))
        emu.update_config(chaos=ChaosConfig(seed=seed + 1000))  # a new seed restarts the sequence
        return out

    first = rolls(7)
    assert first == rolls(7)
    assert {f[0] for f in first if f is not None} >= {0, 429} and None in first
    assert first != rolls(8)


async def test_chaos_drops_sockets_at_random(emu: Emulator, gw: RawGateway) -> None:
    emu.update_config(chaos=ChaosConfig(seed=1, gateway_drop=1.0, gateway_tick_s=0.1))
    await gw.wait_closed(timeout=5)  # cut without a close frame
    assert emu.chaos_counts.get("gateway_drop", 0) >= 1
    emu.update_config(chaos=ChaosConfig())
    assert emu.chaos_counts == {}


async def test_control_api_for_event_faults(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url) as control:
        r = await control.post("/_emulator/faults/events", json={"events": ["MESSAGE_CREATE"], "count": 2,
                                                                 "final_only": True})
        assert r.status_code == 200
        assert (await control.post("/_emulator/faults/events", json={"fraction": 3})).status_code == 400
        assert (await control.post("/_emulator/hooks/lose_acks", json={"user_id": emu.sandbox.user_id,
                                                                       "count": 2})).status_code == 200
        state = (await control.get("/_emulator/state")).json()
        assert state["event_faults"] == [{"events": ["MESSAGE_CREATE"], "remaining": 2, "fraction": 1.0,
                                          "final_only": True, "user_id": None, "dropped": 0}]
        r = await control.post("/_emulator/config", json={"chaos": {"seed": 3, "rest_5xx": 0.5}})
        assert r.status_code == 200 and emu.config.chaos.rest_5xx == 0.5
        assert (await control.post("/_emulator/config", json={"chaos": {"rest_5xx": 5}})).status_code == 400
        await control.delete("/_emulator/faults")
        assert emu.world.gateway.loss.rules == [] and emu.world.gateway.loss.ack_losses == {}


async def test_history_pages_like_discord(emu: Emulator, http: httpx.AsyncClient) -> None:
    cid = emu.sandbox.channel_id
    ids = [(await http.post(f"/channels/{cid}/messages", json={"content": str(i), "nonce": str(10**17 + i)})
            ).json()["id"] for i in range(7)]
    newest = (await http.get(f"/channels/{cid}/messages")).json()
    assert [m["id"] for m in newest] == ids[::-1]  # newest first, default limit 50
    assert all("nonce" not in m for m in newest)  # fetched messages never carry the nonce
    after = (await http.get(f"/channels/{cid}/messages", params={"after": ids[1], "limit": 2})).json()
    assert [m["id"] for m in after] == [ids[3], ids[2]]  # the oldest ones right after, newest first
    around = (await http.get(f"/channels/{cid}/messages", params={"around": ids[3], "limit": 3})).json()
    assert [m["id"] for m in around] == [ids[4], ids[3], ids[2]]
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"before": "abc"}):
        r = await http.get(f"/channels/{cid}/messages", params=bad)
        assert r.status_code == 400 and r.json()["code"] == 50035
    assert re.fullmatch(r"\d+", ids[0])


async def test_a_lost_204_and_the_retry_with_the_same_nonce_run_the_job_once(
        emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.inject_rest_fault("/interactions", 502, after_processing=True)
    body = imagine_body(emu.sandbox, "a twice-sent letter", gw.session_id)
    assert (await http.post("/interactions", json=body)).status_code == 502  # ... but it went through
    assert (await http.post("/interactions", json=body)).status_code == 204  # the retry, same nonce
    fresh = imagine_body(emu.sandbox, "a twice-sent letter", gw.session_id)  # a new nonce is a new job
    assert (await http.post("/interactions", json=fresh)).status_code == 204
    for _ in range(200):
        if len(emu.jobs) == 2:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert sorted(j.nonce for j in emu.jobs) == sorted([body["nonce"], fresh["nonce"]])
