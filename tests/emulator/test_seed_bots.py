"""/show + ✉️ seed DM, the niji bot, the InsightFace bot."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mjproxy.emulator import Emulator

from .conftest import RawGateway
from .flows import FACE, MJ, NIJI, Flow, custom_ids, job_hash, png_bytes

SEED_RE = re.compile(r"\*\*Job ID\*\*:\s*([a-f0-9-]{36})\s*\*\*seed\*\*\s*(\d+)")
ENVELOPE = "%E2%9C%89%EF%B8%8F"


@pytest.fixture(autouse=True)
def small_images(emu: Emulator) -> None:
    emu.config.grid_size = 256
    emu.config.preview_size = 32


async def test_show_and_seed_dm(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    dms = (await http.get("/users/@me/channels")).json()
    dm = next(c for c in dms if c["recipients"][0]["id"] == MJ)
    opened = (await http.post("/users/@me/channels", json={"recipients": [MJ]})).json()
    assert opened["id"] == dm["id"] and opened["type"] == 1
    up = await f.upscale(await f.imagine("seeded --seed 1234"))
    h = job_hash(up["attachments"][0]["url"])
    n = await f.slash("show", [{"type": 3, "name": "job_id", "value": h}], channel_id=dm["id"], guild=False)
    shown = await f.event("MESSAGE_CREATE", n)
    assert shown["channel_id"] == dm["id"] and "guild_id" not in shown and shown["author"]["id"] == MJ
    assert shown["content"] == up["content"] and custom_ids(shown) == custom_ids(up)
    assert job_hash(shown["attachments"][0]["url"]) == h
    r = await http.put(f"/channels/{dm['id']}/messages/{shown['id']}/reactions/{ENVELOPE}/@me",
                       params={"location": "Message", "type": 0})
    assert r.status_code == 204
    react = await f.event("MESSAGE_REACTION_ADD")
    assert react["emoji"]["name"] == "✉️" and react["message_id"] == shown["id"]
    seed_dm = await f.event("MESSAGE_CREATE")
    assert seed_dm["channel_id"] == dm["id"] and seed_dm["author"]["id"] == MJ
    m = SEED_RE.search(seed_dm["content"])
    assert m and m[1] == h and int(m[2]) == 1234 == emu.jobs[-1].seed
    assert seed_dm["content"] == f"**seeded --seed 1234**\n**Job ID**: {h}\n**seed** 1234"
    # Reacting on the original guild message works too (knob, default on), here for the grid's random seed.
    grid_job = emu.jobs[-2]
    r = await http.put(f"/channels/{emu.sandbox.channel_id}/messages/{grid_job.final_message_id}/reactions/"
                       f"{ENVELOPE}/@me")
    assert r.status_code == 204

    def is_seed(d: dict[str, Any]) -> bool:
        return d.get("channel_id") == dm["id"] and "Job ID" in d.get("content", "")
    second = (await gw.wait_for("MESSAGE_CREATE", pred=is_seed))["d"]
    assert SEED_RE.search(second["content"])[2] == str(grid_job.seed)  # type: ignore[index]
    # Unknown job id -> error embed.
    n = await f.slash("show", [{"type": 3, "name": "job_id", "value": "00000000-0000-0000-0000-000000000000"}],
                      channel_id=dm["id"], guild=False)
    assert (await f.event("MESSAGE_CREATE", n))["embeds"][0]["color"] == 16711680
    assert uid


async def test_niji_bot(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    index = (await http.get(f"/guilds/{emu.sandbox.guild_id}/application-command-index")).json()
    assert {a["id"] for a in index["applications"]} >= {MJ, NIJI, FACE}
    niji = {c["name"]: c for c in index["application_commands"] if c["application_id"] == NIJI}
    assert niji["imagine"]["id"] == "1023054140580057099" and niji["imagine"]["version"] == "1248805223892254774"
    assert {"describe", "blend", "shorten", "info", "settings"} <= set(niji)
    final = await f.imagine("anime girl", app=NIJI)
    assert final["author"]["id"] == NIJI and final["author"]["username"] == "niji・journey Bot"
    assert final["content"] == f"**anime girl --niji 6** - <@{uid}> (fast)"
    up = await f.upscale(final)
    assert up["author"]["id"] == NIJI and up["content"] == f"**anime girl --niji 6** - Image #1 <@{uid}>"
    emu.config.index_applications = [MJ]
    index = (await http.get(f"/guilds/{emu.sandbox.guild_id}/application-command-index")).json()
    assert [a["id"] for a in index["applications"]] == [MJ]
    assert {c["application_id"] for c in index["application_commands"]} == {MJ}


async def test_insightface(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    face, target = png_bytes((250, 200, 150), (64, 64)), png_bytes((20, 40, 200), (200, 300))
    up_face, up_target = await f.upload(face, "face.png"), await f.upload(target, "target.png")

    def opts(name: str) -> list[dict[str, Any]]:
        return [{"type": 3, "name": "idname", "value": name}, {"type": 11, "name": "image", "value": 0}]

    n = await f.slash("saveid", opts("alice"), app=FACE,
                      attachments=[{"id": "0", "filename": "face.png", "uploaded_filename": up_face}])
    saved = await f.event("MESSAGE_CREATE", n)
    assert saved["content"] == "idname alice created" and saved["author"]["id"] == FACE
    assert saved["interaction"]["name"] == "saveid"
    n = await f.slash("swapid", opts("bob"), app=FACE,
                      attachments=[{"id": "0", "filename": "target.png", "uploaded_filename": up_target}])
    assert (await f.event("MESSAGE_CREATE", n))["content"] == "idname bob not found"
    n = await f.slash("swapid", opts("alice"), app=FACE,
                      attachments=[{"id": "0", "filename": "target.png", "uploaded_filename": up_target}])
    placeholder = await f.event("MESSAGE_CREATE", n)
    assert placeholder["content"] == "" and placeholder["interaction"]["name"] == "swapid"
    done = await f.event("MESSAGE_UPDATE")
    assert done["id"] == placeholder["id"] and done["content"] == f"<@{uid}>"
    att = done["attachments"][0]
    assert re.fullmatch(r"alice_[0-9a-f-]{36}\.png", att["filename"]) and (att["width"], att["height"]) == (200, 300)
    async with httpx.AsyncClient() as raw:
        swapped = (await raw.get(att["url"])).content
    assert swapped != target and swapped.startswith(b"\x89PNG")
    assert emu.jobs[-1].action == "swap_face" and emu.jobs[-1].final_message_id == done["id"]
