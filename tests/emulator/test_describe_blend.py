"""/describe (upload, link, picks, retry, imagine all), /shorten, /blend, image prompts, upload validation."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from mjproxy.emulator import Emulator

from .conftest import RawGateway
from .flows import Flow, custom_ids, png_bytes

KEYCAP = "\ufe0f\u20e3"


@pytest.fixture(autouse=True)
def small_images(emu: Emulator) -> None:
    emu.config.grid_size = 256
    emu.config.preview_size = 32


async def describe(f: Flow, options: list[dict[str, Any]], attachments: list[dict[str, Any]] | None = None
                   ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    n = await f.slash("describe", options, attachments=attachments)
    create = await f.event("MESSAGE_CREATE", n)
    update = await f.event("MESSAGE_UPDATE")
    return n, create, update


async def test_describe_upload_pick_retry_all(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    data = png_bytes((200, 30, 30), (300, 200))
    up = await f.upload(data, "cat.png")
    n, create, update = await describe(f, [{"type": 11, "name": "image", "value": 0}],
                                       [{"id": "0", "filename": "cat.png", "uploaded_filename": up}])
    assert create["nonce"] == n and create["interaction"]["name"] == "describe" and create["flags"] == 0
    assert create["content"] == "" and create["embeds"] == []
    assert update["id"] == create["id"] and "nonce" not in update and update["interaction"]["name"] == "describe"
    emb = update["embeds"][0]
    parts = emb["description"].split("\n\n")
    assert len(parts) == 4
    for i, part in enumerate(parts):
        assert part.startswith(f"{i + 1}{KEYCAP} ") and part.endswith(" --ar 3:2")
    assert re.search(r"/ephemeral-attachments/1092492867185950852/\d+/cat\.png\?", emb["image"]["url"])
    assert (emb["image"]["width"], emb["image"]["height"]) == (300, 200) and "color" in emb
    async with httpx.AsyncClient() as raw:
        assert (await raw.get(emb["image"]["url"])).content == data
    assert custom_ids(update) == [*(f"MJ::Job::PicReader::{i}" for i in range(1, 5)), "MJ::Picread::Retry",
                                  "MJ::Job::PicReader::all"]
    all_button = update["components"][1]["components"][1]
    assert all_button["label"] == "Imagine all" and all_button["emoji"]["name"] == "🎉"
    # Pick 3 -> modal -> imagine keyed by the submit's nonce.
    prompt3 = parts[2][len(f"3{KEYCAP} "):]
    n = await f.click(update, "MJ::Job::PicReader::3")
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == "MJ::Picreader::Modal::3"
    field = modal["components"][0]["components"][0]
    assert field["custom_id"] == "MJ::Picreader::Modal::PromptField" and field["value"] == prompt3
    n2 = await f.submit(modal["id"], "MJ::Picreader::Modal::3", field["custom_id"], prompt3)
    events, final = await f.final()
    assert next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")["nonce"] == n2
    assert final["content"] == f"**{prompt3}** - <@{uid}> (fast)"
    # Retry -> a new placeholder carrying the click's nonce, then its update.
    n = await f.click(update, "MJ::Picread::Retry")
    again = await f.event("MESSAGE_CREATE", n)
    upd2 = await f.event("MESSAGE_UPDATE")
    assert again["id"] != create["id"] and upd2["id"] == again["id"] and len(upd2["embeds"][0]["description"].split(
        "\n\n")) == 4
    # Imagine all -> four jobs; the first start message carries the click's nonce.
    n = await f.click(update, "MJ::Job::PicReader::all")
    click = await f.event("INTERACTION_CREATE", n)
    starts: list[dict[str, Any]] = []
    finals: list[dict[str, Any]] = []

    def stop(p: dict[str, Any]) -> bool:
        if p["t"] == "MESSAGE_CREATE":
            (finals if p["d"].get("components") else starts).append(p["d"])
        return len(finals) == 4

    await gw.dispatches_until(stop, timeout=10)
    assert [s.get("nonce") for s in starts] == [n, None, None, None]
    assert all(s["interaction_metadata"]["id"] == click["id"] for s in starts)
    assert sorted(fi["content"].split("**")[1] for fi in finals) == sorted(p[len(f"1{KEYCAP} "):] for p in parts)


async def test_describe_link_and_errors(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f = Flow(emu, http, gw)
    grid = await f.imagine("source image")
    _, _, update = await describe(f, [{"type": 3, "name": "link", "value": grid["attachments"][0]["url"]}])
    assert update["embeds"][0]["description"].count("--ar 1:1") == 4
    _, _, update = await describe(f, [{"type": 3, "name": "link", "value": "https://example.com/pics/dog.jpg"}])
    assert update["embeds"][0]["image"]["url"].split("?")[0].endswith("/dog.jpg.png")
    n = await f.slash("describe", [{"type": 3, "name": "link", "value": "https://example.com/expired-link.png"}])
    notice = await f.event("MESSAGE_CREATE", n)
    assert notice["embeds"][0]["title"] == "Invalid link" and notice["embeds"][0]["color"] == 16711680
    # Unknown upload -> 400 50035 at the REST layer.
    body = f.base(2, "1234567")
    cmd = emu.world.commands.get("936929561302675456", "describe")
    assert cmd is not None
    body["data"] = {"version": cmd["version"], "id": cmd["id"], "name": "describe", "type": 1,
                    "options": [{"type": 11, "name": "image", "value": 0}],
                    "attachments": [{"id": "0", "filename": "x.png", "uploaded_filename": "nope/x.png"}]}
    r = await http.post("/interactions", json=body)
    assert r.status_code == 400 and r.json()["code"] == 50035


async def test_describe_multipart_upload(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f = Flow(emu, http, gw)
    cmd = emu.world.commands.get("936929561302675456", "describe")
    assert cmd is not None
    body = f.base(2, "7654321")
    body["data"] = {"version": cmd["version"], "id": cmd["id"], "name": "describe", "type": 1,
                    "options": [{"type": 11, "name": "image", "value": 0}],
                    "attachments": [{"id": "0", "filename": "direct.png"}]}
    data = png_bytes((10, 200, 10), (128, 256))
    r = await http.post("/interactions", data={"payload_json": json.dumps(body)},
                        files={"files[0]": ("direct.png", data, "image/png")})
    assert r.status_code == 204
    await f.event("MESSAGE_CREATE", "7654321")
    update = await f.event("MESSAGE_UPDATE")
    assert update["embeds"][0]["description"].endswith("--ar 1:2")
    assert any(k.startswith("direct/") and v.data == data for k, v in emu.world.cdn.uploads.items())


@pytest.mark.parametrize("headings", ["caps", "markdown"])
async def test_shorten_and_pick(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, headings: str) -> None:
    emu.config.shorten_headings = headings  # type: ignore[assignment]
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    n = await f.slash("shorten", [{"type": 3, "name": "prompt",
                                   "value": "a very beautiful portrait of an old sailor with a pipe --ar 2:3"}])
    create = await f.event("MESSAGE_CREATE", n)
    update = await f.event("MESSAGE_UPDATE")
    assert create["interaction"]["name"] == "shorten" and update["interaction"]["name"] == "shorten"
    assert "nonce" not in update
    emb = update["embeds"][0]
    desc = emb["description"]
    if headings == "caps":
        assert desc.startswith("**IMPORTANT TOKENS**\n") and "\n\n**SHORTENED OPTIONS**\n" in desc
    else:
        assert desc.startswith("## Important tokens\n") and "\n\n## Shortened prompts\n" in desc
    assert "**sailor**" in desc and "~~a~~" in desc
    options = re.findall(r"(\d️⃣ .+)", desc)
    assert [o[0] for o in options] == ["1", "2", "3", "4", "5"] and all(o.endswith("--ar 2:3") for o in options)
    assert emb["footer"]["text"] == "Click on a button to imagine one of the shortened prompts"
    assert custom_ids(update) == [*(f"MJ::Job::PromptAnalyzer::{i}" for i in range(1, 6)),
                                  "MJ::Job::PromptAnalyzerExtended"]
    n = await f.click(update, "MJ::Job::PromptAnalyzerExtended")
    await f.event("INTERACTION_SUCCESS", n)
    assert "**DETAILS**" in (await f.event("MESSAGE_UPDATE"))["embeds"][0]["description"]
    n = await f.click(update, "MJ::Job::PromptAnalyzer::2")
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == f"MJ::ImagineModal::{update['id']}"
    field = modal["components"][0]["components"][0]
    assert field["custom_id"] == "MJ::ImagineModal::new_prompt" and field["value"] == options[1][len("2️⃣ "):]
    await f.submit(modal["id"], modal["custom_id"], field["custom_id"], field["value"])
    _, final = await f.final()
    assert final["content"] == f"**{field['value']}** - <@{uid}> (fast)"


async def blend(f: Flow, blobs: list[bytes], dims: str | None = None) -> str:
    uploads = [await f.upload(b, f"b{i}.png") for i, b in enumerate(blobs)]
    options: list[dict[str, Any]] = [{"type": 11, "name": f"image{i + 1}", "value": i} for i in range(len(blobs))]
    if dims:
        options.append({"type": 3, "name": "dimensions", "value": dims})
    return await f.slash("blend", options, attachments=[
        {"id": str(i), "filename": f"b{i}.png", "uploaded_filename": u} for i, u in enumerate(uploads)])


async def test_blend(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    n = await blend(f, [png_bytes((255, 0, 0)), png_bytes((0, 0, 255))])
    events, final = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert m1["nonce"] == n and m1["interaction"]["name"] == "blend"
    link = r"<https://s\.mj\.run/\w{11}>"
    assert re.fullmatch(rf"\*\*{link} {link} --ar 1:1\*\* - <@{uid}> \(fast\)", final["content"]), final["content"]
    assert emu.jobs[-1].action == "blend"
    colors = [png_bytes(c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255))]
    await blend(f, colors, "--ar 3:2")
    _, final = await f.final()
    assert final["content"].count("s.mj.run") == 5 and "--ar 3:2**" in final["content"]
    assert final["attachments"][0]["width"] > final["attachments"][0]["height"]
    emu.config.blend_prompt_form = "empty"
    await blend(f, colors[:2])
    assert (await f.final())[1]["content"] == f"**** - <@{uid}> (fast)"
    emu.config.blend_prompt_form = "params"
    await blend(f, colors[:2])
    assert (await f.final())[1]["content"] == f"**--v 7.0 --ar 1:1** - <@{uid}> (fast)"
    n = await blend(f, [colors[0], colors[0]])
    notice = await f.event("MESSAGE_CREATE", n)
    assert notice["embeds"][0]["title"] == "Duplicate images detected"
    assert emu.jobs[-1].status == "failed"


async def test_image_prompt_and_invalid_link(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    data = png_bytes((1, 2, 3))
    upload = await f.upload(data, "ref.png")
    msg = (await http.post(f"/channels/{emu.sandbox.channel_id}/messages", json={
        "content": f"upload image: {upload}", "nonce": "99", "attachments": [
            {"id": "0", "filename": "ref.png", "uploaded_filename": upload}]})).json()
    url = msg["attachments"][0]["url"]
    async with httpx.AsyncClient() as raw:
        assert (await raw.get(url)).content == data
    final = await f.imagine(f"{url} a painting")
    assert re.fullmatch(rf"\*\*<https://s\.mj\.run/\w{{11}}> a painting\*\* - <@{uid}> \(fast\)", final["content"])
    n = await f.slash("imagine", [{"type": 3, "name": "prompt", "value": "https://x.test/unreachable.png cat"}])
    assert (await f.event("MESSAGE_CREATE", n))["embeds"][0]["title"] == "Invalid link"
    n = await f.slash("imagine", [{"type": 3, "name": "prompt", "value": url.split("?")[0] + "x cat"}])
    assert (await f.event("MESSAGE_CREATE", n))["embeds"][0]["title"] == "Invalid link"
