"""Realistic Midjourney bot messages for parser tests (shapes from midjourney-bot.md §6, §7, §16, §17)."""

from __future__ import annotations

from typing import Any

from mjproxy.domain.buttons import grid_button_rows, upscale_button_rows
from mjproxy.domain.task import Button

BOT_ID = "936929561302675456"
USER_ID = "1100000000000000001"
GUILD_ID = "1000000000000000001"
CHANNEL_ID = "1200000000000000001"
GRID_MESSAGE_ID = "1300000000000000009"
JOB_HASH = "0f4a5b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b"
UPSCALE_HASH = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
NONCE = "1573679818409508864"
INTERACTION_ID = "1400000000000000001"
SIGNED = "?ex=6650a1b2&is=664f5032&hm=" + "ab" * 32 + "&"

_counter = iter(range(1_300_000_000_000_000_100, 1_400_000_000_000_000_000))


def next_id() -> str:
    return str(next(_counter))


def bot_author() -> dict[str, Any]:
    return {"id": BOT_ID, "username": "Midjourney Bot", "discriminator": "9282", "bot": True,
            "public_flags": 589824, "avatar": "f6ce562a6b4979c4b1cbc5b436d3be76", "global_name": None}


def user(user_id: str = USER_ID) -> dict[str, Any]:
    return {"id": user_id, "username": "alex_poloz", "discriminator": "0", "global_name": "Alex"}


def attachment(filename: str, *, url: str | None = None, content_type: str = "image/png", width: int = 2048,
               height: int = 2048, signed: bool = True) -> dict[str, Any]:
    aid = next_id()
    url = url or f"https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{aid}/{filename}" + (SIGNED if signed else "")
    return {"id": aid, "filename": filename, "size": 7_340_032, "url": url,
            "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            "width": width, "height": height, "content_type": content_type}


def grid_image(job_hash: str = JOB_HASH, *, signed: bool = True) -> dict[str, Any]:
    return attachment(f"alex_poloz_a_red_cat_sitting_on_a_chair_{job_hash}.png", signed=signed)


def upscale_image(job_hash: str = UPSCALE_HASH) -> dict[str, Any]:
    return attachment(f"alex_poloz_a_red_cat_sitting_on_a_chair_{job_hash}.png", width=1024, height=1024)


def preview_image(job_hash: str | None = JOB_HASH) -> dict[str, Any]:
    filename = f"{job_hash}_grid_0.webp" if job_hash else "grid_0.webp"
    url = f"https://cdn.discordapp.com/ephemeral-attachments/{CHANNEL_ID}/{next_id()}/{filename}" + SIGNED
    return attachment(filename, url=url, content_type="image/webp", width=512, height=512)


def rows(button_rows: list[list[Button]]) -> list[dict[str, Any]]:
    def component(button: Button) -> dict[str, Any]:
        data: dict[str, Any] = {"type": 2, "custom_id": button.custom_id, "style": button.style}
        if button.label:
            data["label"] = button.label
        if button.emoji:
            data["emoji"] = {"name": button.emoji}
        return data

    return [{"type": 1, "components": [component(b) for b in row]} for row in button_rows]


def grid_components(job_hash: str = JOB_HASH) -> list[dict[str, Any]]:
    return rows(grid_button_rows(job_hash))


def upscale_components(job_hash: str = UPSCALE_HASH, *, with_web_link: bool = True) -> list[dict[str, Any]]:
    components = rows(upscale_button_rows(job_hash))
    if with_web_link:
        components[-1]["components"].append(
            {"type": 2, "style": 5, "label": "Web", "url": f"https://www.midjourney.com/app/jobs/{job_hash}/"})
    return components


def interaction(name: str = "imagine", interaction_id: str = INTERACTION_ID, interaction_type: int = 2
                ) -> dict[str, Any]:
    return {"id": interaction_id, "type": interaction_type, "name": name, "user": user()}


def metadata(interaction_id: str = INTERACTION_ID, *, name: str | None = "imagine", interaction_type: int = 2,
             interacted_message_id: str | None = None, triggering_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": interaction_id, "type": interaction_type, "user": user(),
                            "authorizing_integration_owners": {"0": GUILD_ID}}
    if name:
        data["name"] = name
        data["command_type"] = 1
    if interacted_message_id:
        data["interacted_message_id"] = interacted_message_id
    if triggering_id:
        data["triggering_interaction_metadata"] = {"id": triggering_id, "type": 3, "user": user(),
                                                   "interacted_message_id": interacted_message_id}
    return data


def embed(title: str | None = None, description: str | None = None, *, color: int | None = 0xFF0000,
          footer: str | None = "/imagine a red cat", image_url: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "rich"}
    if title is not None:
        data["title"] = title
    if description is not None:
        data["description"] = description
    if color is not None:
        data["color"] = color
    if footer is not None:
        data["footer"] = {"text": footer}
    if image_url:
        data["image"] = {"url": image_url, "proxy_url": image_url.replace("cdn.", "media."), "width": 1024,
                         "height": 768}
    return data


def message(content: str = "", *, message_id: str | None = None, nonce: str | None = None,
            message_type: int = 0, flags: int = 0, attachments: list[dict[str, Any]] | None = None,
            components: list[dict[str, Any]] | None = None, embeds: list[dict[str, Any]] | None = None,
            legacy_interaction: dict[str, Any] | None = None, interaction_metadata: dict[str, Any] | None = None,
            reference_id: str | None = None, update: bool = False) -> dict[str, Any]:
    """A full Discord message object as MESSAGE_CREATE / MESSAGE_UPDATE deliver it."""
    data: dict[str, Any] = {
        "id": message_id or next_id(), "channel_id": CHANNEL_ID, "guild_id": GUILD_ID, "author": bot_author(),
        "content": content, "timestamp": "2024-05-10T12:34:56.789000+00:00",
        "edited_timestamp": "2024-05-10T12:35:06.789000+00:00" if update else None, "tts": False,
        "mention_everyone": False, "pinned": False, "mentions": [user()], "mention_roles": [],
        "attachments": attachments or [], "embeds": embeds or [], "components": components or [],
        "type": message_type, "flags": flags, "webhook_id": BOT_ID if legacy_interaction else None,
        "application_id": BOT_ID,
    }
    if nonce is not None:
        data["nonce"] = nonce
    if legacy_interaction is not None:
        data["interaction"] = legacy_interaction
    if interaction_metadata is not None:
        data["interaction_metadata"] = interaction_metadata
    if reference_id is not None:
        data["message_reference"] = {"type": 0, "channel_id": CHANNEL_ID, "guild_id": GUILD_ID,
                                     "message_id": reference_id}
        data["referenced_message"] = {"id": reference_id, "channel_id": CHANNEL_ID, "content": "**P** - <@1> (fast)"}
    return data
