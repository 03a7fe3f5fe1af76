from __future__ import annotations

import io
import re
from typing import Any

import httpx
from PIL import Image

from mjproxy.emulator import Emulator

from .conftest import RawGateway, imagine_body, nonce

MJ = "936929561302675456"


def is_final(p: dict[str, Any]) -> bool:
    return p["t"] == "MESSAGE_CREATE" and bool(p["d"].get("components"))


def job_hash(url: str) -> str:
    path = url.split("?", 1)[0]
    return path.rsplit("_", 1)[1].rsplit(".", 1)[0]


async def run_imagine(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, prompt: str,
                      n: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    n = n or nonce()
    r = await http.post("/interactions", json=imagine_body(emu.sandbox, prompt, gw.session_id, n))
    assert r.status_code == 204 and r.content == b""
    events = await gw.dispatches_until(is_final)
    return n, events


async def test_imagine_lifecycle_legacy(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    uid = emu.sandbox.user_id
    n, events = await run_imagine(emu, http, gw, "a red   cat — on a mat")
    kinds = [e["t"] for e in events]
    assert kinds == ["INTERACTION_CREATE", "INTERACTION_SUCCESS", "MESSAGE_CREATE"] + ["MESSAGE_UPDATE"] * 7 + [
        "MESSAGE_DELETE", "MESSAGE_CREATE"]
    seqs = [e["s"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    create, success, m1 = events[0]["d"], events[1]["d"], events[2]["d"]
    iid = create["id"]
    assert create == {"id": iid, "nonce": n} and success == {"id": iid, "nonce": n}
    p = "a red cat -- on a mat"
    assert m1["nonce"] == n
    assert m1["content"] == f"**{p}** - <@{uid}> (Waiting to start)"
    assert m1["author"]["id"] == MJ and m1["author"]["bot"] is True
    assert m1["webhook_id"] == MJ and m1["application_id"] == MJ
    assert m1["mentions"][0]["id"] == uid and m1["guild_id"] == emu.sandbox.guild_id
    assert m1["interaction"]["id"] == iid and m1["interaction"]["name"] == "imagine"
    assert m1["interaction"]["user"]["id"] == uid
    meta = m1["interaction_metadata"]
    assert meta["id"] == iid and meta["type"] == 2 and meta["command_type"] == 1 and meta["name"] == "imagine"
    assert meta["authorizing_integration_owners"] == {"0": emu.sandbox.guild_id}
    updates = [e["d"] for e in events[3:10]]
    assert [u["content"] for u in updates] == [
        f"**{p}** - <@{uid}> ({pc}%) (fast)" for pc in (0, 15, 31, 46, 62, 78, 93)]
    for u in updates:
        assert u["id"] == m1["id"] and "nonce" not in u and u["edited_timestamp"]
        assert u["interaction_metadata"]["id"] == iid
    assert updates[0]["attachments"] == []
    preview = updates[1]["attachments"][0]
    assert "/ephemeral-attachments/" in preview["url"] and preview["content_type"] == "image/webp"
    assert preview["filename"].endswith("_grid_0.webp")
    delete = events[10]["d"]
    assert delete == {"id": m1["id"], "channel_id": emu.sandbox.channel_id, "guild_id": emu.sandbox.guild_id}
    final = events[11]["d"]
    assert final["id"] != m1["id"] and int(final["id"]) > int(m1["id"])
    assert final["content"] == f"**{p}** - <@{uid}> (fast)"
    assert "nonce" not in final and "interaction" not in final and "interaction_metadata" not in final
    assert final["type"] == 0 and final["flags"] == 0
    att = final["attachments"][0]
    h = job_hash(att["url"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", h)
    assert att["filename"] == f"sandbox_a_red_cat_on_a_mat_{h}.png"
    assert re.search(r"\?ex=[0-9a-f]{8}&is=[0-9a-f]{8}&hm=[0-9a-f]{64}&$", att["url"])
    assert job_hash(preview["url"].split("?")[0].replace("_grid_0.webp", "_x.webp")) == "x"
    assert preview["filename"] == f"{h}_grid_0.webp"
    assert att["content_type"] == "image/png" and att["width"] == 1024 and att["height"] == 1024
    rows = final["components"]
    assert [[c.get("label") for c in row["components"]] for row in rows] == [
        ["U1", "U2", "U3", "U4", None], ["V1", "V2", "V3", "V4"]]
    assert [c["custom_id"] for c in rows[0]["components"]] == [
        *(f"MJ::JOB::upsample::{i}::{h}" for i in range(1, 5)), f"MJ::JOB::reroll::0::{h}::SOLO"]
    assert [c["custom_id"] for c in rows[1]["components"]] == [f"MJ::JOB::variation::{i}::{h}" for i in range(1, 5)]
    assert rows[0]["components"][4]["emoji"] == {"name": "🔄"}
    assert all(c["style"] == 2 and c["type"] == 2 for row in rows for c in row["components"])
    async with httpx.AsyncClient() as raw:
        img = await raw.get(att["url"])
        assert img.status_code == 200 and img.headers["content-type"] == "image/png"
        assert len(img.content) == att["size"]
        with Image.open(io.BytesIO(img.content)) as pic:
            assert pic.size == (1024, 1024)
        prev = await raw.get(preview["proxy_url"])
        assert prev.status_code == 200
        Image.open(io.BytesIO(prev.content)).verify()
    job = emu.jobs[-1]
    assert (job.nonce, job.interaction_id, job.job_id, job.status) == (n, iid, h, "done")
    assert (job.progress_message_id, job.final_message_id) == (m1["id"], final["id"])
    # REST history: final present, deleted progress message absent, newest first.
    hist = (await http.get(f"/channels/{emu.sandbox.channel_id}/messages", params={"limit": 10})).json()
    assert [m["id"] for m in hist] == [final["id"]]


async def test_imagine_zlib_and_modern_profile(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.config.profile = "modern"
    g = RawGateway(emu.gateway_url, compress=True)
    await g.open()
    await g.identify(emu.sandbox.token)
    await g.wait_for("READY_SUPPLEMENTAL")
    n, events = await run_imagine(emu, http, g, "a blue dog")
    iid = events[0]["d"]["id"]
    final = events[-1]["d"]
    h = job_hash(final["attachments"][0]["url"])
    assert final["nonce"] == n and final["interaction_metadata"]["id"] == iid
    assert final["content"] == (
        f"**a blue dog** - <@{emu.sandbox.user_id}> [(Open on website for full quality)]"
        f"(<https://midjourney.com/jobs/{h}>) (fast)"
        "\n-# Create, explore, and organize on [midjourney.com](<https://midjourney.com>)")
    assert all(isinstance(f, bytes) for f in g.frames)
    await g.close()


async def test_success_after_message_and_rewrite(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.config.interaction_success_after_message = True
    emu.config.suffix = "--v 6.1"
    _, events = await run_imagine(emu, http, gw, "  see https://example.com/a.png   now --relax --ar 16:9")
    assert [e["t"] for e in events[:3]] == ["INTERACTION_CREATE", "MESSAGE_CREATE", "INTERACTION_SUCCESS"]
    final = events[-1]["d"]
    m = re.fullmatch(r"\*\*see <https://s\.mj\.run/\w{11}> now --ar 16:9 --v 6\.1\*\* - <@\d+> \(relaxed\)",
                     final["content"])
    assert m, final["content"]
    att = final["attachments"][0]
    assert (att["width"], att["height"]) == (1024, 576)
    assert emu.jobs[-1].final_prompt.startswith("see <https://s.mj.run/")


async def test_identical_prompts_get_distinct_images(emu: Emulator, http: httpx.AsyncClient,
                                                     gw: RawGateway) -> None:
    emu.config.grid_size = 256
    sizes = set()
    for _ in range(3):
        _, events = await run_imagine(emu, http, gw, "same prompt")
        sizes.add(events[-1]["d"]["attachments"][0]["url"])
    seeds = {j.seed for j in emu.jobs}
    assert len(seeds) == 3 and len(sizes) == 3
    _, events = await run_imagine(emu, http, gw, "same prompt --seed 42")
    assert emu.jobs[-1].seed == 42


async def _notice(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, prompt: str) -> dict[str, Any]:
    n = nonce()
    r = await http.post("/interactions", json=imagine_body(emu.sandbox, prompt, gw.session_id, n))
    assert r.status_code == 204
    msg = await gw.wait_for("MESSAGE_CREATE")
    assert msg["d"]["nonce"] == n
    data: dict[str, Any] = msg["d"]
    return data


async def test_banned_prompt_embed_is_ephemeral(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    d = await _notice(emu, http, gw, "some gore here")
    emb = d["embeds"][0]
    assert emb["title"] == "Banned prompt detected" and emb["color"] == 16711680
    assert emb["footer"]["text"] == "/imagine some gore here"
    assert d["flags"] & 64
    hist = (await http.get(f"/channels/{emu.sandbox.channel_id}/messages")).json()
    assert hist == []  # ephemerals never show up in REST history
    assert emu.jobs[-1].status == "failed"


async def test_invalid_parameter_embeds(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    d = await _notice(emu, http, gw, "cat --size 3")
    assert d["embeds"][0]["title"] == "Invalid parameter"
    assert d["embeds"][0]["description"] == "Unrecognized parameter(s): `size`"
    d = await _notice(emu, http, gw, "cat --ar 0:0")
    assert d["embeds"][0]["description"].startswith("Invalid value for --ar")


async def test_trigger_map(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.config.trigger_embeds = {"please block me": "blocked", "boom": "internal_error"}
    assert (await _notice(emu, http, gw, "please block me"))["embeds"][0]["title"] == "Blocked"
    assert (await _notice(emu, http, gw, "boom boom"))["embeds"][0]["title"] == "Internal error"


async def test_job_queued_and_queue_full(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.config.job_duration_s = 0.4
    emu.config.grid_size = 128
    emu.config.queue_size = 1
    nonces = [nonce() for _ in range(5)]
    for n in nonces:
        r = await http.post("/interactions", json=imagine_body(emu.sandbox, f"job {n}", gw.session_id, n))
        assert r.status_code == 204
    finals: list[dict[str, Any]] = []
    creates: list[dict[str, Any]] = []

    def stop(p: dict[str, Any]) -> bool:
        if p["t"] == "MESSAGE_CREATE":
            creates.append(p["d"])
            if p["d"].get("components") and p["d"]["attachments"]:
                finals.append(p["d"])
        return len(finals) == 4

    await gw.dispatches_until(stop, timeout=10)
    by_nonce = {c.get("nonce"): c for c in creates if c.get("nonce")}
    queued = by_nonce[nonces[3]]["embeds"][0]
    assert queued["title"] == "Job queued" and queued["footer"]["text"] == f"/imagine job {nonces[3]}"
    assert "maximum allowed number of concurrent jobs" in queued["description"]
    full = by_nonce[nonces[4]]["embeds"][0]
    assert full["title"] == "Queue full" and full["color"] == 16711680
    # The queued job later got its own start message without a nonce but with interaction_metadata.
    start = [c for c in creates if c["content"].startswith(f"**job {nonces[3]}**") and "Waiting" in c["content"]]
    assert len(start) == 1 and "nonce" not in start[0]
    assert start[0]["interaction_metadata"]["id"] == emu.jobs[3].interaction_id
    assert [j.status for j in emu.jobs] == ["done"] * 4 + ["failed"]


async def test_never_ack_gives_failure_reason_2(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.config.never_ack_triggers = ["silent"]
    n = nonce()
    await http.post("/interactions", json=imagine_body(emu.sandbox, "silent cat", gw.session_id, n))
    fail = await gw.wait_for("INTERACTION_FAILURE", timeout=3)
    assert fail["d"]["nonce"] == n and fail["d"]["reason_code"] == 2


async def test_button_click_validation(emu: Emulator, http: httpx.AsyncClient,
                                                         gw: RawGateway) -> None:
    _, events = await run_imagine(emu, http, gw, "clickable")
    final = events[-1]["d"]
    cid = final["components"][0]["components"][0]["custom_id"]
    body = {"type": 3, "application_id": MJ, "guild_id": emu.sandbox.guild_id,
            "channel_id": emu.sandbox.channel_id, "message_flags": 0, "message_id": final["id"],
            "session_id": gw.session_id, "nonce": nonce(), "data": {"component_type": 2, "custom_id": "MJ::nope"}}
    r = await http.post("/interactions", json=body)
    assert r.status_code == 400 and r.json()["code"] == 50035
    body["data"]["custom_id"] = cid
    r = await http.post("/interactions", json=body)
    assert r.status_code == 204
    assert (await gw.wait_for("INTERACTION_CREATE"))["d"]["nonce"] == body["nonce"]
    assert (await gw.wait_for("INTERACTION_SUCCESS"))["d"]["nonce"] == body["nonce"]


async def test_two_accounts_isolated(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    other = emu.add_account("bob")
    g2 = RawGateway(emu.gateway_url)
    await g2.open()
    ready = await g2.identify(other.token)
    assert ready["d"]["user"]["username"] == "bob"
    await run_imagine(emu, http, gw, "private to sandbox")
    assert all(p.get("t") not in ("MESSAGE_CREATE", "INTERACTION_CREATE") for p in g2.pending())
    r = await http.post("/interactions", json=imagine_body(other, "x", gw.session_id))
    assert r.status_code == 403 and r.json() == {"message": "Missing Access", "code": 50001}
    await g2.close()
