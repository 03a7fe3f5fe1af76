"""Grid and SOLO buttons: U/V/🔄, upscales, vary, zoom, pan, bookmark, custom zoom, vary region."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from mjproxy.emulator import Emulator

from .conftest import RawGateway
from .flows import UUID, Flow, button, custom_ids, job_hash


@pytest.fixture(autouse=True)
def small_images(emu: Emulator) -> None:
    emu.config.grid_size = 256
    emu.config.preview_size = 32


async def fetch(url: str) -> Image.Image:
    async with httpx.AsyncClient() as raw:
        r = await raw.get(url)
        assert r.status_code == 200
        return Image.open(io.BytesIO(r.content)).convert("RGB")


@pytest.mark.parametrize("profile", ["legacy", "modern"])
async def test_upscale_pick(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, profile: str) -> None:
    emu.config.profile = profile  # type: ignore[assignment]
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    grid = await f.imagine("a red cat")
    h = job_hash(grid["attachments"][0]["url"])
    n = await f.click(grid, f"MJ::JOB::upsample::2::{h}")
    events, up = await f.final()
    assert [e["t"] for e in events] == ["INTERACTION_CREATE", "INTERACTION_SUCCESS", "MESSAGE_UPDATE",
                                        "MESSAGE_CREATE"]
    iid = events[0]["d"]["id"]
    restyled = events[2]["d"]
    assert restyled["id"] == grid["id"]
    assert button(restyled, f"MJ::JOB::upsample::2::{h}")["style"] == 1
    assert button(restyled, f"MJ::JOB::upsample::1::{h}")["style"] == 2
    assert up["type"] == 19 and up["content"] == f"**a red cat** - Image #2 <@{uid}>"
    assert up["message_reference"]["message_id"] == grid["id"]
    assert up["message_reference"]["guild_id"] == emu.sandbox.guild_id
    assert up["referenced_message"]["id"] == grid["id"]
    att = up["attachments"][0]
    h2 = job_hash(att["url"])
    assert re.fullmatch(UUID, h2) and h2 != h
    assert att["filename"] == f"sandbox_a_red_cat_{h2}.png" and (att["width"], att["height"]) == (256, 256)
    if profile == "legacy":
        assert "nonce" not in up and "interaction_metadata" not in up
    else:
        assert up["nonce"] == n and up["interaction_metadata"]["id"] == iid
        assert up["interaction_metadata"]["interacted_message_id"] == grid["id"]
    assert custom_ids(up) == [
        f"MJ::JOB::upsample_v6r1_2x_subtle::1::{h2}::SOLO", f"MJ::JOB::upsample_v6r1_2x_creative::1::{h2}::SOLO",
        f"MJ::JOB::low_variation::1::{h2}::SOLO", f"MJ::JOB::high_variation::1::{h2}::SOLO",
        f"MJ::Inpaint::1::{h2}::SOLO", f"MJ::Outpaint::50::1::{h2}::SOLO", f"MJ::Outpaint::75::1::{h2}::SOLO",
        f"MJ::CustomZoom::{h2}", *(f"MJ::JOB::pan_{d}::1::{h2}::SOLO" for d in ("left", "right", "up", "down")),
        f"MJ::BOOKMARK::{h2}"]
    assert [button(up, i).get("label") for i in custom_ids(up)[:5]] == [
        "Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)", "Vary (Strong)", "Vary (Region)"]
    # The image is quadrant 2 (top right) of the grid, upscaled to the grid's size.
    big, small = await fetch(grid["attachments"][0]["url"]), await fetch(att["url"])
    got = small.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    want = big.crop((128, 0, 256, 128)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(got, tuple) and isinstance(want, tuple)
    assert sum(abs(a - b) for a, b in zip(got, want, strict=True)) < 12
    job, parent = emu.jobs[-1], emu.jobs[-2]
    assert (job.action, job.index, job.parent_message_id, job.final_message_id) == ("upscale", 2, grid["id"], up["id"])
    assert job.seed == parent.seed and job.parent_job_id == parent.job_id and job.job_id == h2


async def test_upscale_old_style_and_web_button(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.config.upscale_style = "upscaled"
    emu.config.web_button = True
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    grid = await f.imagine("old style")
    n = await f.click(grid, f"MJ::JOB::upsample::1::{job_hash(grid['attachments'][0]['url'])}")
    events, up = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert m1["nonce"] == n and m1["content"] == f"Upscaling image #1 with **old style** - <@{uid}> (Waiting to start)"
    assert up["content"] == f"**old style** - Upscaled by <@{uid}> (fast)"
    web = up["components"][-1]["components"][-1]
    assert web["style"] == 5 and web["label"] == "Web" and "custom_id" not in web
    assert web["url"] == f"https://www.midjourney.com/app/jobs/{job_hash(up['attachments'][0]['url'])}/"


@pytest.mark.parametrize(("knob", "label"), [("strong", "Variations (Strong) by"),
                                             ("subtle", "Variations (Subtle) by"), ("plain", "Variations by")])
async def test_variation_lifecycle(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, knob: str,
                                   label: str) -> None:
    emu.config.variation_label = knob  # type: ignore[assignment]
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    grid = await f.imagine("blue bird")
    h = job_hash(grid["attachments"][0]["url"])
    n = await f.click(grid, f"MJ::JOB::variation::3::{h}")
    events, final = await f.final()
    kinds = [e["t"] for e in events]
    assert kinds == ["INTERACTION_CREATE", "INTERACTION_SUCCESS", "MESSAGE_UPDATE", "MESSAGE_CREATE",
                     *["MESSAGE_UPDATE"] * 7, "MESSAGE_DELETE", "MESSAGE_CREATE"]
    assert button(events[2]["d"], f"MJ::JOB::variation::3::{h}")["style"] == 1
    m1 = events[3]["d"]
    assert m1["nonce"] == n and m1["content"] == f"**blue bird** - {label} <@{uid}> (Waiting to start)"
    assert m1["message_reference"]["message_id"] == grid["id"]
    assert m1["interaction_metadata"]["type"] == 3 and m1["interaction_metadata"]["interacted_message_id"] == grid["id"]
    assert events[6]["d"]["content"] == f"**blue bird** - {label} <@{uid}> (31%) (fast)"
    assert final["type"] == 19 and final["content"] == f"**blue bird** - {label} <@{uid}> (fast)"
    assert final["message_reference"]["message_id"] == grid["id"] and final["referenced_message"]["id"] == grid["id"]
    h2 = job_hash(final["attachments"][0]["url"])
    assert custom_ids(final)[0] == f"MJ::JOB::upsample::1::{h2}" and len(custom_ids(final)) == 9
    job = emu.jobs[-1]
    assert (job.action, job.index, job.nonce, job.parent_message_id) == ("variation", 3, n, grid["id"])


async def test_reroll(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    grid = await f.imagine("rerolled --ar 2:1")
    h = job_hash(grid["attachments"][0]["url"])
    n = await f.click(grid, f"MJ::JOB::reroll::0::{h}::SOLO")
    events, final = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert m1["nonce"] == n and m1["content"] == f"**rerolled --ar 2:1** - <@{uid}> (Waiting to start)"
    assert m1["interaction_metadata"]["interacted_message_id"] == grid["id"]
    assert final["content"] == f"**rerolled --ar 2:1** - <@{uid}> (fast)"
    assert job_hash(final["attachments"][0]["url"]) != h and final["attachments"][0]["height"] == 128
    assert emu.jobs[-1].action == "reroll" and emu.jobs[-1].parent_job_id == h


@pytest.mark.parametrize(("variant", "word"), [("subtle", "Subtle"), ("creative", "Creative")])
async def test_upscale_subtle_creative(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, variant: str,
                                       word: str) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    up = await f.upscale(await f.imagine("castle"))
    h = job_hash(up["attachments"][0]["url"])
    n = await f.click(up, f"MJ::JOB::upsample_v6r1_2x_{variant}::1::{h}::SOLO")
    events, final = await f.final()
    creates = [e["d"] for e in events if e["t"] == "MESSAGE_CREATE"]
    assert creates[0]["nonce"] == n
    assert creates[0]["content"] == f"**castle** - Upscaling by <@{uid}> (Waiting to start)"
    assert any(e["d"].get("content") == f"**castle** - Upscaling by <@{uid}> (46%) (fast)" for e in events)
    assert final["content"] == f"**castle** - Upscaled ({word}) by <@{uid}> (fast)"
    assert (final["attachments"][0]["width"], final["attachments"][0]["height"]) == (512, 512)
    assert final["type"] == 19 and final["message_reference"]["message_id"] == up["id"]
    ids = custom_ids(final)
    assert not any("upsample" in i for i in ids) and any("high_variation" in i for i in ids)
    assert emu.jobs[-1].action == f"upscale_{variant}"


async def test_upscale_ids_follow_version(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    up = await f.upscale(await f.imagine("old model --v 5.2"))
    h = job_hash(up["attachments"][0]["url"])
    assert custom_ids(up)[:2] == [f"MJ::JOB::upsample_v5_2x::1::{h}::SOLO", f"MJ::JOB::upsample_v5_4x::1::{h}::SOLO"]
    await f.click(up, f"MJ::JOB::upsample_v5_4x::1::{h}::SOLO")
    _, final = await f.final()
    assert final["content"] == f"**old model --v 5.2** - Upscaled (4x) by <@{uid}> (fast)"
    assert final["attachments"][0]["width"] == 1024


@pytest.mark.parametrize(("custom", "label", "action"), [
    ("MJ::JOB::high_variation::1::{h}::SOLO", "Variations (Strong) by", "vary_strong"),
    ("MJ::JOB::low_variation::1::{h}::SOLO", "Variations (Subtle) by", "vary_subtle"),
    ("MJ::Outpaint::50::1::{h}::SOLO", "Zoom Out by", "zoom_out"),
    ("MJ::Outpaint::75::1::{h}::SOLO", "Zoom Out by", "zoom_out"),
    ("MJ::JOB::pan_left::1::{h}::SOLO", "Pan Left by", "pan_left"),
    ("MJ::JOB::pan_down::1::{h}::SOLO", "Pan Down by", "pan_down"),
])
async def test_solo_grid_jobs(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, custom: str, label: str,
                              action: str) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    up = await f.upscale(await f.imagine("lighthouse"))
    h = job_hash(up["attachments"][0]["url"])
    n = await f.click(up, custom.format(h=h))
    events, final = await f.final()
    assert events[2]["t"] == "MESSAGE_UPDATE" and button(events[2]["d"], custom.format(h=h))["style"] == 1
    m1 = events[3]["d"]
    assert m1["nonce"] == n and m1["content"] == f"**lighthouse** - {label} <@{uid}> (Waiting to start)"
    assert final["content"] == f"**lighthouse** - {label} <@{uid}> (fast)"
    assert final["message_reference"]["message_id"] == up["id"] and len(custom_ids(final)) == 9
    att = final["attachments"][0]
    if action == "pan_left":
        assert att["width"] > att["height"]
    elif action == "pan_down":
        assert att["height"] > att["width"]
    else:
        assert att["width"] == att["height"] == 256
    assert emu.jobs[-1].action == action and emu.jobs[-1].parent_message_id == up["id"]


async def test_bookmark(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f = Flow(emu, http, gw)
    up = await f.upscale(await f.imagine("heart"))
    h = job_hash(up["attachments"][0]["url"])
    jobs = len(emu.jobs)
    n = await f.click(up, f"MJ::BOOKMARK::{h}")
    assert (await f.event("INTERACTION_SUCCESS", n))["nonce"] == n
    upd = await f.event("MESSAGE_UPDATE")
    assert upd["id"] == up["id"] and button(upd, f"MJ::BOOKMARK::{h}")["style"] == 1
    assert len(emu.jobs) == jobs


async def test_custom_zoom(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    up = await f.upscale(await f.imagine("canyon"))
    h = job_hash(up["attachments"][0]["url"])
    n = await f.click(up, f"MJ::CustomZoom::{h}")
    create = await f.event("INTERACTION_CREATE", n)
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["id"] == create["id"] and modal["custom_id"] == f"MJ::OutpaintCustomZoomModal::{h}"
    field = modal["components"][0]["components"][0]
    assert field["custom_id"] == "MJ::OutpaintCustomZoomModal::prompt" and field["value"] == "canyon --zoom 2"
    assert modal["application"]["id"] == "936929561302675456"
    assert (await f.event("INTERACTION_SUCCESS", n))["id"] == create["id"]
    # Invalid zoom: red embed on the submit's response message.
    bad = await f.submit(create["id"], f"MJ::OutpaintCustomZoomModal::{h}", field["custom_id"], "canyon --zoom 3")
    notice = await f.event("MESSAGE_CREATE", bad)
    assert notice["embeds"][0]["title"] == "Invalid parameter" and notice["embeds"][0]["color"] == 16711680
    n2 = await f.submit(create["id"], f"MJ::OutpaintCustomZoomModal::{h}", field["custom_id"], "canyon --zoom 1.5")
    events, final = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert m1["nonce"] == n2 and m1["content"] == f"**canyon --zoom 1.5** - Zoom Out by <@{uid}> (Waiting to start)"
    assert m1["interaction_metadata"]["type"] == 5
    assert m1["interaction_metadata"]["triggering_interaction_metadata"]["id"] == create["id"]
    assert final["content"] == f"**canyon --zoom 1.5** - Zoom Out by <@{uid}> (fast)"
    assert final["message_reference"]["message_id"] == up["id"]
    assert emu.jobs[-1].action == "custom_zoom" and emu.jobs[-1].nonce == n2


def _mask(size: tuple[int, int]) -> str:
    img = Image.new("L", size, 0)
    img.paste(255, (0, 0, size[0] // 2, size[1] // 2))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


async def test_vary_region(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    up = await f.upscale(await f.imagine("garden"))
    h = job_hash(up["attachments"][0]["url"])
    n = await f.click(up, f"MJ::Inpaint::1::{h}::SOLO")
    create = await f.event("INTERACTION_CREATE", n)
    iframe = await f.event("INTERACTION_IFRAME_MODAL_CREATE", n)
    assert iframe["id"] == create["id"] and iframe["title"] == "Vary Region"
    assert iframe["channel_id"] == emu.sandbox.channel_id and iframe["iframe_path"].startswith("/inpaint/?")
    assert iframe["application"]["id"] == "936929561302675456" and "modal_size" in iframe
    token = iframe["custom_id"].removeprefix("MJ::iframe::")
    await f.event("INTERACTION_SUCCESS", n)
    url = emu.activity_base_url + "/inpaint/api/submit-job"
    body: dict[str, Any] = {"customId": token, "mask": _mask((256, 256)), "prompt": "garden", "userId": "0",
                            "username": "0"}
    async with httpx.AsyncClient() as raw:
        r = await raw.post(url, json={**body, "customId": "nope"})
        assert r.status_code == 400 and r.json()["success"] is False
        r = await raw.post(url, json={**body, "mask": base64.b64encode(b"not a png").decode()})
        assert r.status_code == 400
        r = await raw.post(url, json={**body, "mask": _mask((100, 100))})
        assert r.status_code == 400
        r = await raw.post(url, json=body)
        assert r.status_code == 200 and r.json() == {"success": True}
        assert (await raw.post(url, json=body)).status_code == 400  # single-use token
    events, final = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert "nonce" not in m1 and m1["content"] == f"**garden** - Variations (Region) by <@{uid}> (Waiting to start)"
    meta = m1["interaction_metadata"]
    assert meta["id"] == create["id"] and meta["type"] == 3 and meta["interacted_message_id"] == up["id"]
    assert m1["message_reference"]["message_id"] == up["id"]
    assert final["content"] == f"**garden** - Variations (Region) by <@{uid}> (fast)" and "nonce" not in final
    assert final["message_reference"]["message_id"] == up["id"]
    job = emu.jobs[-1]
    assert (job.action, job.nonce, job.interaction_id) == ("vary_region", None, create["id"])
