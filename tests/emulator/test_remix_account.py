"""Remix mode (/prefer remix, /settings toggle, remix modals) and the account commands (/info, /settings,
/fast /relax /turbo /stealth /public, /prefer suffix)."""

from __future__ import annotations

import re

import httpx
import pytest

from mjproxy.emulator import Emulator

from .conftest import RawGateway
from .flows import Flow, button, job_hash

INFO_LINE = re.compile(r"\*\*(?P<key>[^*]+)\*\*: (?P<value>.*)")


@pytest.fixture(autouse=True)
def small_images(emu: Emulator) -> None:
    emu.config.grid_size = 256
    emu.config.preview_size = 32


async def prefer_remix(f: Flow) -> dict[str, object]:
    n = await f.slash("prefer", [{"type": 1, "name": "remix", "options": []}])
    create = await f.event("MESSAGE_CREATE", n)
    assert create["flags"] == 192 and create["content"] == "" and create["interaction"]["name"] == "prefer remix"
    update = await f.event("MESSAGE_UPDATE")
    assert update["id"] == create["id"] and update["flags"] == 64 and "nonce" not in update
    assert update["interaction"]["name"] == "prefer remix"
    return update


async def test_prefer_remix_and_remix_variation(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    update = await prefer_remix(f)
    assert str(update["content"]).startswith("Remix mode turned on! ")
    assert emu.world.state.users[uid].settings.remix is True
    grid = await f.imagine("a red cat")
    h = job_hash(grid["attachments"][0]["url"])
    n = await f.click(grid, f"MJ::JOB::variation::2::{h}")
    create = await f.event("INTERACTION_CREATE", n)
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == f"MJ::RemixModal::{h}::2::1"
    field = modal["components"][0]["components"][0]
    assert field["custom_id"] == "MJ::RemixModal::new_prompt" and field["value"] == "a red cat"
    await f.event("INTERACTION_SUCCESS", n)
    # The client builds the ids itself (erictik's toRemixCustom): accepted as long as data.id is the click.
    n2 = await f.submit(create["id"], f"MJ::RemixModal::{h}::2::1", "MJ::RemixModal::new_prompt", "a blue cat")
    events, final = await f.final()
    m1 = next(e["d"] for e in events if e["t"] == "MESSAGE_CREATE")
    assert m1["nonce"] == n2 and m1["content"] == f"**a blue cat** - Remix (Strong) by <@{uid}> (Waiting to start)"
    assert final["content"] == f"**a blue cat** - Remix (Strong) by <@{uid}> (fast)"
    assert final["message_reference"]["message_id"] == grid["id"]
    job = emu.jobs[-1]
    assert (job.prompt, job.final_prompt, job.nonce, job.index) == ("a blue cat", "a blue cat", n2, 2)
    # Turning it off again.
    assert str((await prefer_remix(f))["content"]).startswith("Remix mode turned off! ")


async def test_remix_pan_reroll_and_vary(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    emu.world.state.users[uid].settings.remix = True
    grid = await f.imagine("tower")
    h = job_hash(grid["attachments"][0]["url"])
    n = await f.click(grid, f"MJ::JOB::reroll::0::{h}::SOLO")
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == f"MJ::ImagineModal::{grid['id']}"
    assert modal["components"][0]["components"][0]["custom_id"] == "MJ::ImagineModal::new_prompt"
    n2 = await f.submit(modal["id"], modal["custom_id"], "MJ::ImagineModal::new_prompt", "tower at night")
    _, rerolled = await f.final()
    assert rerolled["content"] == f"**tower at night** - <@{uid}> (fast)"
    assert emu.jobs[-1].action == "reroll" and emu.jobs[-1].nonce == n2
    up = await f.upscale(rerolled)
    h2 = job_hash(up["attachments"][0]["url"])
    n = await f.click(up, f"MJ::JOB::pan_right::1::{h2}::SOLO")
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == f"MJ::PanModal::right::{h2}::1"
    assert modal["components"][0]["components"][0]["custom_id"] == "MJ::PanModal::prompt"
    await f.submit(modal["id"], modal["custom_id"], "MJ::PanModal::prompt", "tower at dawn")
    _, panned = await f.final()
    assert panned["content"] == f"**tower at dawn** - Pan Right by <@{uid}> (fast)"
    n = await f.click(up, f"MJ::JOB::low_variation::1::{h2}::SOLO")
    modal = await f.event("INTERACTION_MODAL_CREATE", n)
    assert modal["custom_id"] == f"MJ::RemixModal::{h2}::1::0"
    await f.submit(modal["id"], modal["custom_id"], "MJ::RemixModal::new_prompt", "tower, subtle")
    _, varied = await f.final()
    assert varied["content"] == f"**tower, subtle** - Remix (Subtle) by <@{uid}> (fast)"


async def test_info_embed(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f = Flow(emu, http, gw)

    async def info() -> dict[str, str]:
        n = await f.slash("info")
        create = await f.event("MESSAGE_CREATE", n)
        assert create["flags"] == 192 and create["content"] == "" and not create["embeds"]
        update = await f.event("MESSAGE_UPDATE")
        assert update["id"] == create["id"] and update["flags"] == 64 and update["interaction"]["name"] == "info"
        emb = update["embeds"][0]
        assert emb["title"] == "Your info - sandbox"
        lines = emb["description"].split("\n")
        assert lines[7] == ""
        return {m["key"]: m["value"] for m in map(INFO_LINE.fullmatch, lines) if m}

    values = await info()
    assert list(values) == ["User ID", "Subscription", "Job Mode", "Visibility Mode", "Fast Time Remaining",
                            "Lifetime Usage", "Relaxed Usage", "Queued Jobs (fast)", "Queued Jobs (relax)",
                            "Running Jobs"]
    assert re.fullmatch(r"Pro \(Active monthly, renews next on <t:\d+>\)", values["Subscription"])
    assert values["Job Mode"] == "Fast" and values["Visibility Mode"] == "Public"
    assert values["Fast Time Remaining"] == "29.57/30.0 hours (98.58%)"
    assert values["Lifetime Usage"] == "0 images (0.00 hours)" and values["Running Jobs"] == "None"
    await f.imagine("costs time")
    values = await info()
    fast = float(values["Fast Time Remaining"].split("/")[0])
    assert fast < 29.57 and values["Lifetime Usage"].startswith("4 images")
    assert (await http.get(f"/channels/{emu.sandbox.channel_id}/messages")).json()[0]["content"].startswith(
        "**costs time**")  # the ephemeral /info messages are not in history


@pytest.mark.parametrize(("command", "mode", "word", "job_mode"), [
    ("relax", "relax", "relaxed", "Relaxed"), ("turbo", "turbo", "turbo", "Turbo"), ("fast", "fast", "fast", "Fast")])
async def test_speed_commands(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway, command: str, mode: str,
                              word: str, job_mode: str) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    emu.world.state.users[uid].settings.mode = "turbo" if mode == "fast" else "fast"
    n = await f.slash(command)
    reply = await f.event("MESSAGE_CREATE", n)
    assert reply["content"].startswith("Done!") and reply["flags"] == 64
    assert emu.world.state.users[uid].settings.mode == mode
    final = await f.imagine("speedy")
    assert final["content"] == f"**speedy** - <@{uid}> ({word})"
    final = await f.imagine("override --relax")
    assert final["content"] == f"**override** - <@{uid}> (relaxed)"


async def test_stealth_public_and_suffix(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    n = await f.slash("stealth")
    assert (await f.event("MESSAGE_CREATE", n))["content"].startswith("Done!")
    assert (await f.imagine("hidden"))["content"] == f"**hidden** - <@{uid}> (fast, stealth)"
    n = await f.slash("public")
    assert (await f.event("MESSAGE_CREATE", n))["content"].startswith("Done!")
    n = await f.slash("prefer", [{"type": 1, "name": "suffix", "options": [
        {"type": 3, "name": "new_value", "value": "--ar 2:1"}]}])
    await f.event("MESSAGE_CREATE", n)
    assert (await f.event("MESSAGE_UPDATE"))["interaction"]["name"] == "prefer suffix"
    final = await f.imagine("wide")
    assert final["content"] == f"**wide --ar 2:1** - <@{uid}> (fast)" and final["attachments"][0]["height"] == 128


async def test_settings_components_and_toggles(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    f, uid = Flow(emu, http, gw), emu.sandbox.user_id
    n = await f.slash("settings")
    create = await f.event("MESSAGE_CREATE", n)
    assert create["flags"] == 192
    msg = await f.event("MESSAGE_UPDATE")
    assert msg["flags"] == 64 and msg["interaction"]["name"] == "settings"
    assert msg["content"] == "Adjust your settings here. Current suffix: ` --v 6.1`"
    select = msg["components"][0]["components"][0]
    assert select["type"] == 3 and select["custom_id"] == "MJ::Settings::VersionSelector"
    assert [o["label"] for o in select["options"] if o["default"]] == ["Midjourney Model V6.1"]
    labels = {c["label"]: c for row in msg["components"][1:] for c in row["components"]}
    for label in ("Remix mode", "RAW Mode", "High Variation Mode", "Stylize low", "Stylize med", "Stylize high",
                  "Stylize very high", "Public mode", "Stealth mode", "Fast mode", "Relax mode", "Turbo mode",
                  "Reset Settings"):
        assert label in labels and labels[label]["custom_id"].startswith("MJ::Settings::")
    assert labels["Remix mode"]["style"] == 2 and labels["Fast mode"]["style"] == 3
    assert labels["High Variation Mode"]["custom_id"] == "MJ::Settings::HighVariabilityMode::1"
    assert labels["RAW Mode"]["custom_id"] == "MJ::Settings::Style::raw"
    # Remix toggle: SUCCESS + MESSAGE_UPDATE of the same ephemeral message.
    n = await f.click(msg, "MJ::Settings::RemixMode")
    await f.event("INTERACTION_SUCCESS", n)
    upd = await f.event("MESSAGE_UPDATE")
    assert upd["id"] == msg["id"] and upd["flags"] == 64
    assert button(upd, "MJ::Settings::RemixMode")["style"] == 3
    assert emu.world.state.users[uid].settings.remix is True
    n = await f.click(upd, "MJ::Settings::SpeedMode::relax")
    upd = await f.event("MESSAGE_UPDATE")
    assert button(upd, "MJ::Settings::SpeedMode::relax")["style"] == 3
    assert button(upd, "MJ::Settings::SpeedMode::fast")["style"] == 2
    n = await f.click(upd, "MJ::Settings::HighVariabilityMode::0")
    upd = await f.event("MESSAGE_UPDATE")
    assert emu.world.state.users[uid].settings.variation == "subtle"
    v7 = next(o["value"] for o in select["options"] if o["label"] == "Midjourney Model V7")
    n = await f.click(upd, "MJ::Settings::VersionSelector", values=[v7])
    await f.event("INTERACTION_SUCCESS", n)
    upd = await f.event("MESSAGE_UPDATE")
    assert upd["content"] == "Adjust your settings here. Current suffix: ` --v 7`"
    assert [o["label"] for o in upd["components"][0]["components"][0]["options"] if o["default"]] == [
        "Midjourney Model V7"]
    final = await f.imagine("new model")
    assert final["content"] == f"**new model --v 7** - <@{uid}> (relaxed)"
    # Strict message_flags: a click without 64 on the ephemeral settings message is rejected.
    emu.config.strict_message_flags = True
    body = f.base(3, "123456789", channel_id=upd["channel_id"])
    body.update(message_flags=0, message_id=upd["id"],
                data={"component_type": 2, "custom_id": "MJ::Settings::RemixMode"})
    r = await http.post("/interactions", json=body)
    assert r.status_code == 400 and r.json()["code"] == 50035
    n = await f.click(upd, "MJ::Settings::ResetSettings")
    upd = await f.event("MESSAGE_UPDATE")
    assert upd["content"] == "Adjust your settings here. Current suffix: ` --v 6.1`"
    assert emu.world.state.users[uid].settings.remix is False
