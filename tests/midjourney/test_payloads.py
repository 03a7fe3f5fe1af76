"""POST /interactions bodies (midjourney-bot.md §4, discord.md §4.2)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from mjproxy.midjourney import payloads
from mjproxy.midjourney.constants import MIDJOURNEY_APPLICATION_ID, NIJI_APPLICATION_ID

GUILD, CHANNEL, SESSION, NONCE = "1000000000000000001", "1200000000000000001", "a" * 32, "1573679818409508864"
CTX: dict[str, Any] = {"guild_id": GUILD, "channel_id": CHANNEL, "session_id": SESSION, "nonce": NONCE}


def catalogue() -> dict[str, dict[str, Any]]:
    text = resources.files("mjproxy.data").joinpath("mj_application_commands.json").read_text()
    return {c["name"]: c for c in json.loads(text)["application_commands"]}


@pytest.fixture
def commands() -> dict[str, dict[str, Any]]:
    return catalogue()


def test_imagine_body(commands: dict[str, dict[str, Any]]) -> None:
    command = commands["imagine"]
    body = payloads.imagine(command, "a red cat --ar 16:9", **CTX)
    assert body == {
        "type": 2, "application_id": MIDJOURNEY_APPLICATION_ID, "guild_id": GUILD, "channel_id": CHANNEL,
        "session_id": SESSION, "nonce": NONCE,
        "data": {"version": command["version"], "id": command["id"], "name": "imagine", "type": 1,
                 "options": [{"type": 3, "name": "prompt", "value": "a red cat --ar 16:9"}],
                 "application_command": command, "attachments": []},
    }
    json.dumps(body)  # serialisable as is


def test_version_and_id_come_from_the_discovered_command(commands: dict[str, dict[str, Any]]) -> None:
    fresh = dict(commands["imagine"], version="9999999999999999999", id="8888888888888888888")
    body = payloads.imagine(fresh, "x", **CTX)
    assert body["data"]["version"] == "9999999999999999999" and body["data"]["id"] == "8888888888888888888"
    assert body["data"]["application_command"]["version"] == "9999999999999999999"


def test_dm_omits_guild_id(commands: dict[str, dict[str, Any]]) -> None:
    body = payloads.show(commands["show"], "0f4a5b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b", guild_id=None,
                         channel_id="dm", session_id=SESSION, nonce=NONCE)
    assert "guild_id" not in body
    assert body["data"]["options"] == [{"type": 3, "name": "job_id", "value": "0f4a5b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b"}]


def test_application_id_override_and_default() -> None:
    niji = {"id": "1023054140580057099", "version": "1248805223892254774", "name": "imagine", "type": 1,
            "application_id": NIJI_APPLICATION_ID}
    assert payloads.imagine(niji, "x", **CTX)["application_id"] == NIJI_APPLICATION_ID
    bare = {"id": "1", "version": "2", "name": "imagine"}
    assert payloads.imagine(bare, "x", **CTX)["application_id"] == MIDJOURNEY_APPLICATION_ID
    assert payloads.imagine(bare, "x", application_id="42", **CTX)["application_id"] == "42"


def test_simple_commands_have_no_options(commands: dict[str, dict[str, Any]]) -> None:
    for name in ("info", "settings", "fast", "relax", "turbo", "stealth", "public"):
        data = payloads.slash_command(commands[name], **CTX)["data"]
        assert data["options"] == [] and data["attachments"] == [] and data["name"] == name


def test_describe_upload_and_link(commands: dict[str, dict[str, Any]]) -> None:
    upload = payloads.describe_upload(commands["describe"], filename="x.png",
                                      uploaded_filename="1f2e/x.png", **CTX)["data"]
    assert upload["options"] == [{"type": 11, "name": "image", "value": 0}]
    assert upload["attachments"] == [{"id": "0", "filename": "x.png", "uploaded_filename": "1f2e/x.png"}]
    link = payloads.describe_link(commands["describe"], "https://example.com/cat.png", **CTX)["data"]
    assert link["options"] == [{"type": 3, "name": "link", "value": "https://example.com/cat.png"}]
    assert link["attachments"] == []


@pytest.mark.parametrize(("dimensions", "value"), [("PORTRAIT", "--ar 2:3"), ("square", "--ar 1:1"),
                                                   ("LANDSCAPE", "--ar 3:2"), ("--ar 3:2", "--ar 3:2")])
def test_blend(commands: dict[str, dict[str, Any]], dimensions: str, value: str) -> None:
    uploads = [("a.png", "u/a.png"), ("b.png", "u/b.png"), ("c.png", "u/c.png")]
    data = payloads.blend(commands["blend"], uploads, dimensions=dimensions, **CTX)["data"]
    assert data["options"] == [{"type": 11, "name": "image1", "value": 0}, {"type": 11, "name": "image2", "value": 1},
                               {"type": 11, "name": "image3", "value": 2},
                               {"type": 3, "name": "dimensions", "value": value}]
    assert [a["id"] for a in data["attachments"]] == ["0", "1", "2"]
    assert data["attachments"][2] == {"id": "2", "filename": "c.png", "uploaded_filename": "u/c.png"}


def test_blend_limits(commands: dict[str, dict[str, Any]]) -> None:
    without = payloads.blend(commands["blend"], [("a", "u/a"), ("b", "u/b")], **CTX)["data"]
    assert [o["name"] for o in without["options"]] == ["image1", "image2"]
    with pytest.raises(ValueError):
        payloads.blend(commands["blend"], [("a", "u/a")], **CTX)
    with pytest.raises(ValueError):
        payloads.blend(commands["blend"], [("a", "u/a")] * 6, **CTX)


def test_shorten_and_prefer_remix(commands: dict[str, dict[str, Any]]) -> None:
    shorten = payloads.shorten(commands["shorten"], "a very long prompt", **CTX)["data"]
    assert shorten["options"] == [{"type": 3, "name": "prompt", "value": "a very long prompt"}]
    remix = payloads.prefer_remix(commands["prefer"], **CTX)["data"]
    assert remix["name"] == "prefer" and remix["options"] == [{"type": 1, "name": "remix", "options": []}]


def test_cancel_job_message_command(commands: dict[str, dict[str, Any]]) -> None:
    data = payloads.message_command(commands["Cancel Job"], "1300000000000000009", **CTX)["data"]
    assert data["type"] == 3 and data["target_id"] == "1300000000000000009" and data["name"] == "Cancel Job"


def test_button() -> None:
    body = payloads.button(guild_id=GUILD, channel_id=CHANNEL, message_id="1300000000000000009", message_flags=0,
                           custom_id="MJ::JOB::upsample::2::h", session_id=SESSION, nonce=NONCE,
                           application_id=MIDJOURNEY_APPLICATION_ID)
    assert body == {"type": 3, "application_id": MIDJOURNEY_APPLICATION_ID, "guild_id": GUILD,
                    "channel_id": CHANNEL, "session_id": SESSION, "nonce": NONCE,
                    "data": {"component_type": 2, "custom_id": "MJ::JOB::upsample::2::h"},
                    "message_flags": 0, "message_id": "1300000000000000009"}


def test_button_in_dm_on_ephemeral_message() -> None:
    body = payloads.button(guild_id=None, channel_id="dm", message_id="5", message_flags=64,
                           custom_id="MJ::Settings::RemixMode", session_id=SESSION, nonce=NONCE,
                           application_id=MIDJOURNEY_APPLICATION_ID)
    assert "guild_id" not in body and body["message_flags"] == 64


def test_select() -> None:
    body = payloads.select(guild_id=GUILD, channel_id=CHANNEL, message_id="5", message_flags=64,
                           custom_id="MJ::Settings::VersionSelector", values=["6.1"], session_id=SESSION,
                           nonce=NONCE, application_id=MIDJOURNEY_APPLICATION_ID)
    assert body["type"] == 3 and body["message_flags"] == 64
    assert body["data"] == {"component_type": 3, "custom_id": "MJ::Settings::VersionSelector", "type": 3,
                            "values": ["6.1"]}


def test_modal_submit() -> None:
    body = payloads.modal_submit(guild_id=GUILD, channel_id=CHANNEL, session_id=SESSION, nonce=NONCE,
                                 interaction_id="1400000000000000001", modal_custom_id="MJ::OutpaintCustomZoomModal::h",
                                 input_custom_id="MJ::OutpaintCustomZoomModal::prompt", value="a red cat --zoom 1.5",
                                 application_id=MIDJOURNEY_APPLICATION_ID)
    assert body == {
        "type": 5, "application_id": MIDJOURNEY_APPLICATION_ID, "guild_id": GUILD, "channel_id": CHANNEL,
        "session_id": SESSION, "nonce": NONCE,
        "data": {"id": "1400000000000000001", "custom_id": "MJ::OutpaintCustomZoomModal::h",
                 "components": [{"type": 1, "components": [
                     {"type": 4, "custom_id": "MJ::OutpaintCustomZoomModal::prompt",
                      "value": "a red cat --zoom 1.5"}]}]},
    }


def test_options_and_command_are_copied_not_aliased(commands: dict[str, dict[str, Any]]) -> None:
    options = [{"type": 3, "name": "prompt", "value": "x"}]
    body = payloads.slash_command(commands["imagine"], options=options, **CTX)
    body["data"]["options"][0]["value"] = "changed"
    body["data"]["application_command"]["name"] = "changed"
    assert options[0]["value"] == "x" and commands["imagine"]["name"] == "imagine"
