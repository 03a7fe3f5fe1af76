"""Builders for Midjourney message contents, embeds and buttons (midjourney-bot.md §7, §11, §17)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .state import JsonDict

RED = 16711680
YELLOW = 16776960
ORANGE = 16239475

COMMUNITY = "https://docs.midjourney.com/docs/community-guidelines"
TRAILER = "\n-# Create, explore, and organize on [midjourney.com](<https://midjourney.com>)"


def mode_word(mode: str, stealth: bool = False) -> str:
    word = {"fast": "fast", "relax": "relaxed", "turbo": "turbo"}.get(mode, mode)
    return f"{word}, stealth" if stealth else word


def job_content(prompt: str, user_id: str, status: str, *, website_uuid: str | None = None,
                trailer: bool = False, label: str = "") -> str:
    """`**P** - <label><@U> (status)` (§7), e.g. label `Variations (Strong) by `; optionally with the website
    link before the mode and the -# trailer."""
    link = (
        f" [(Open on website for full quality)](<https://midjourney.com/jobs/{website_uuid}>)"
        if website_uuid
        else ""
    )
    return f"**{prompt}** - {label}<@{user_id}>{link} ({status})" + (TRAILER if trailer else "")


def progress_content(prompt: str, user_id: str, percent: int, mode: str, label: str = "") -> str:
    return f"**{prompt}** - {label}<@{user_id}> ({percent}%) ({mode})"


def upscale_pick_content(prompt: str, user_id: str, index: int) -> str:
    """v5+ U1–U4 result: `**P** - Image #i <@U>`, no status, no mode (§6.4)."""
    return f"**{prompt}** - Image #{index} <@{user_id}>"


def grid_filename(username: str, slug: str, job_id: str) -> str:
    user = re.sub(r"[^A-Za-z0-9.\-]+", "_", username.replace(" ", "_")).strip("_") or "user"
    return f"{user}_{slug}_{job_id}.png" if slug else f"{user}_{job_id}.png"


def _button(custom_id: str, label: str | None = None, emoji: str | None = None, style: int = 2) -> JsonDict:
    button: JsonDict = {"type": 2, "style": style, "custom_id": custom_id}
    if label is not None:
        button["label"] = label
    if emoji is not None:
        button["emoji"] = {"name": emoji}
    return button


def grid_buttons(job_id: str) -> list[JsonDict]:
    """§11.1: row 1 U1..U4 + 🔄, row 2 V1..V4; all style 2."""
    row1 = [_button(f"MJ::JOB::upsample::{i}::{job_id}", f"U{i}") for i in range(1, 5)]
    row1.append(_button(f"MJ::JOB::reroll::0::{job_id}::SOLO", emoji="🔄"))
    row2 = [_button(f"MJ::JOB::variation::{i}::{job_id}", f"V{i}") for i in range(1, 5)]
    return [{"type": 1, "components": row1}, {"type": 1, "components": row2}]


UPSCALE_VARIANTS: dict[str, list[tuple[str, str]]] = {
    # model -> [(custom_id token, label)] (§11.3)
    "v5": [("upsample_v5_2x", "Upscale (2x)"), ("upsample_v5_4x", "Upscale (4x)")],
    "v6": [("upsample_v6_2x_subtle", "Upscale (Subtle)"), ("upsample_v6_2x_creative", "Upscale (Creative)")],
    "v6r1": [("upsample_v6r1_2x_subtle", "Upscale (Subtle)"), ("upsample_v6r1_2x_creative", "Upscale (Creative)")],
    "v7": [("upsample_v7_2x_subtle", "Upscale (Subtle)"), ("upsample_v7_2x_creative", "Upscale (Creative)")],
}
PAN_EMOJI = {"left": "⬅️", "right": "➡️", "up": "⬆️", "down": "⬇️"}


def solo_buttons(job_id: str, model: str = "v6r1", *, web: bool = False, with_upscales: bool = True) -> list[JsonDict]:
    """SOLO buttons under an upscaled image (§11.3); `with_upscales=False` is the reduced set shown under an
    Upscale (Subtle/Creative/2x/4x) result."""
    rows: list[list[JsonDict]] = []
    if with_upscales:
        rows.append([_button(f"MJ::JOB::{token}::1::{job_id}::SOLO", label, emoji="🔼")
                     for token, label in UPSCALE_VARIANTS[model]])
    rows.append([
        _button(f"MJ::JOB::low_variation::1::{job_id}::SOLO", "Vary (Subtle)", emoji="🪄"),
        _button(f"MJ::JOB::high_variation::1::{job_id}::SOLO", "Vary (Strong)", emoji="🪄"),
        _button(f"MJ::Inpaint::1::{job_id}::SOLO", "Vary (Region)", emoji="🖌️"),
    ])
    rows.append([
        _button(f"MJ::Outpaint::50::1::{job_id}::SOLO", "Zoom Out 2x", emoji="🔍"),
        _button(f"MJ::Outpaint::75::1::{job_id}::SOLO", "Zoom Out 1.5x", emoji="🔍"),
        _button(f"MJ::CustomZoom::{job_id}", "Custom Zoom", emoji="🔍"),
    ])
    rows.append([_button(f"MJ::JOB::pan_{d}::1::{job_id}::SOLO", emoji=e) for d, e in PAN_EMOJI.items()])
    last = [_button(f"MJ::BOOKMARK::{job_id}", emoji="❤️")]
    if web:
        last.append({"type": 2, "style": 5, "label": "Web", "url": f"https://www.midjourney.com/app/jobs/{job_id}/"})
    rows.append(last)
    return [{"type": 1, "components": row} for row in rows]


def restyled(components: list[JsonDict], custom_id: str, style: int = 1) -> list[JsonDict]:
    """A copy of `components` with the button `custom_id` restyled (clicked buttons turn style 1, §11.1)."""
    out: list[JsonDict] = []
    for row in components:
        comps = []
        for comp in row.get("components", []):
            comp = dict(comp)
            if comp.get("custom_id") == custom_id and comp.get("type") == 2:
                comp["style"] = style
            comps.append(comp)
        out.append({**row, "components": comps})
    return out


def custom_ids(components: list[JsonDict]) -> set[str]:
    ids: set[str] = set()
    for row in components:
        for comp in row.get("components", []):
            if "custom_id" in comp:
                ids.add(str(comp["custom_id"]))
    return ids


@dataclass(frozen=True)
class EmbedKind:
    title: str
    color: int
    description: str


BANNED_DESCRIPTION = (
    "Sorry! Our AI moderator thinks this prompt is probably against our community standards.\n\n"
    f"Please review our current community standards:\n\n**ALLOWED**\n- Any image up to PG-13 rating involving "
    f"fiction, fantasy, mythology.\n- Real images that may be seen as respectful or light-hearted parodies, "
    f"satire, caricatures\n- Imaginary or exaggerated real-life scenarios, including absurd or humorous "
    f"situations.\n\n**NOT ALLOWED**\n- Disrespectful, harmful, misleading public figures/events portrayals or "
    f"potential to mislead.\n- Hate speech, explicit or real-world violence.\n- Nudity or unconsented overtly "
    f"sexualized public figures.\n- Imagery that might be considered culturally insensitive\n\n"
    f"This AI system isn't perfect. If you find it rejecting something innocent, please press the **Notify "
    f"developers** button and we will review it and try to further improve our performance. Thank you for "
    f"your help!\n\nCommunity standards: {COMMUNITY}"
)

# Every §17 notice the fixtures can force; keys are the `trigger_embeds` kinds.
EMBEDS: dict[str, EmbedKind] = {
    "banned_prompt": EmbedKind("Banned prompt detected", RED, BANNED_DESCRIPTION),
    "invalid_parameter": EmbedKind("Invalid parameter", RED, "Unrecognized parameter(s): `size`"),
    "invalid_prompt": EmbedKind("Invalid prompt", RED, "Sorry, this prompt could not be understood."),
    "invalid_link": EmbedKind(
        "Invalid link", RED,
        "Could not validate this link. Please make sure it is a publicly accessible image URL.",
    ),
    "queue_full": EmbedKind(
        "Queue full", RED,
        "Your job queue is full. Please wait for a job to finish first, then resubmit this one.",
    ),
    "job_queued": EmbedKind(
        "Job queued", ORANGE,
        "You have reached the maximum allowed number of concurrent jobs. Don't worry, this job will start "
        "as soon as another one finishes!",
    ),
    "internal_error": EmbedKind("Internal error", RED, "Apologies, something went wrong. Please try again."),
    "output_filtered": EmbedKind(
        "Request cancelled due to output filters", RED,
        "Sorry! Our AI moderator thinks this image is probably against our community standards.",
    ),
    "action_needed": EmbedKind(
        "Action needed to continue", RED,
        "Sorry! Our AI moderators feel your prompt might be against our community standards. "
        "Please acknowledge or appeal to continue.",
    ),
    "pending_mod": EmbedKind(
        "Pending mod message", RED,
        "You have a pending message from the moderators. You must acknowledge it before continuing; "
        "you may be blocked from accessing Midjourney for 1 hour.",
    ),
    "blocked": EmbedKind("Blocked", RED, "You have been blocked from accessing Midjourney. Contact support."),
    "credits_exhausted": EmbedKind(
        "Credits exhausted", RED,
        "You have run out of fast hours. Switch to relax mode with /relax or purchase more hours.",
    ),
    "subscription_required": EmbedKind(
        "Subscription required", RED,
        "To keep using Midjourney, please subscribe: https://www.midjourney.com/account",
    ),
    # The older human-verification notice (midjourney-bot.md §17): not red, "continue" in the title.
    "captcha": EmbedKind(
        "Action required to continue", ORANGE,
        "Wow! You're making so many AI images we need to verify you're human. Please complete the check "
        "to keep using Midjourney."),
    "duplicate_images": EmbedKind("Duplicate images detected", RED, "Please use different images."),
    "job_not_found": EmbedKind(
        "Job not found", RED, "Sorry, we could not find a job with that ID. Please check it and try again.",
    ),
}

# Notices that carry an acknowledge button (§11.6; ids unverified, shaped like MJ's).
ACK_BUTTONS: dict[str, JsonDict] = {
    "action_needed": _button("MJ::Moderation::Ack", "Acknowledged", style=1),
    "pending_mod": _button("MJ::Moderation::PendingAck", "Acknowledged", style=1),
}


def notice_embed(kind: str, command: str, prompt: str, description: str | None = None) -> JsonDict:
    spec = EMBEDS[kind]
    return {
        "type": "rich",
        "title": spec.title,
        "description": description if description is not None else spec.description,
        "color": spec.color,
        "footer": {"text": f"/{command} {prompt}"},
    }


def notice_components(kind: str) -> list[JsonDict]:
    button = ACK_BUTTONS.get(kind)
    return [{"type": 1, "components": [dict(button)]}] if button else []
