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
                trailer: bool = False) -> str:
    """`**P** - <@U> (status)` (§7), optionally with the website link before the mode and the -# trailer."""
    link = (
        f" [(Open on website for full quality)](<https://midjourney.com/jobs/{website_uuid}>)"
        if website_uuid
        else ""
    )
    return f"**{prompt}** - <@{user_id}>{link} ({status})" + (TRAILER if trailer else "")


def progress_content(prompt: str, user_id: str, percent: int, mode: str) -> str:
    return f"**{prompt}** - <@{user_id}> ({percent}%) ({mode})"


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
    "duplicate_images": EmbedKind("Duplicate images detected", RED, "Please use different images."),
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
