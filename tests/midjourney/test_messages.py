"""Parser tests: every content variant of midjourney-bot.md §7/§8, both §16 profiles, every §17 embed,
every §10 filename shape, describe/shorten (§15), /info (§14), interaction events, and odd input."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from mjproxy.midjourney.events import (
    FailureCategory,
    InteractionPhase,
    JobCompleted,
    JobFailed,
    JobKind,
    JobNotice,
    JobProgress,
    JobStarted,
    NoticeKind,
)
from mjproxy.midjourney.messages import (
    clean_content,
    extract_keys,
    job_hash_from_url,
    parse_account_info,
    parse_content,
    parse_info_embed,
    parse_interaction_event,
    parse_message,
    parse_remix_toggle,
    parse_seed_dm,
    split_options,
)

from .factories import (
    BOT_ID,
    CHANNEL_ID,
    GRID_MESSAGE_ID,
    INTERACTION_ID,
    JOB_HASH,
    NONCE,
    UPSCALE_HASH,
    USER_ID,
    attachment,
    embed,
    grid_components,
    grid_image,
    interaction,
    message,
    metadata,
    preview_image,
    upscale_components,
    upscale_image,
)

U = f"<@{USER_ID}>"
P = "a red cat sitting on a chair --ar 16:9 --v 6.1"
WEB = f"[(Open on website for full quality)](<https://midjourney.com/jobs/{JOB_HASH}>)"
TRAILER = "\n-# Create, explore, and organize on [midjourney.com](<https://midjourney.com/explore>)"

# ---------------------------------------------------------------------------------------------------
# §7: start and progress


START_CASES = [
    (f"**{P}** - {U} (Waiting to start)", JobKind.IMAGINE),
    (f"**{P}** - Variations by {U} (Waiting to start)", JobKind.VARIATION),
    (f"**{P}** - Variations (Strong) by {U} (Waiting to start)", JobKind.VARIATION),
    (f"**{P}** - Remix (Subtle) by {U} (Waiting to start)", JobKind.VARIATION),
    (f"Making variations for image #1 with prompt **{P}** - {U} (Waiting to start)", JobKind.VARIATION),
    (f"Upscaling image #2 with **{P}** - {U} (Waiting to start)", JobKind.UPSCALE),
    (f"**{P}** - Upscaling by {U} (Waiting to start)", JobKind.UPSCALE),
    (f"**{P}** - Zoom Out by {U} (Waiting to start)", JobKind.ZOOM),
    (f"**{P}** - Pan Right by {U} (Waiting to start)", JobKind.PAN),
    (f"**{P}** - {U} (Waiting to start){TRAILER}", JobKind.IMAGINE),
]


@pytest.mark.parametrize(("content", "kind"), START_CASES)
def test_start(content: str, kind: JobKind) -> None:
    msg = message(content, nonce=NONCE, message_type=20, legacy_interaction=interaction(),
                  interaction_metadata=metadata())
    event = parse_message(msg)
    assert isinstance(event, JobStarted)
    assert (event.prompt, event.kind) == (P, kind)
    assert event.keys.nonce == NONCE and event.keys.interaction_id == INTERACTION_ID
    assert event.keys.prompt == P


PROGRESS_CASES = [
    (f"**{P}** - {U} (31%) (fast)", 31, "fast", JobKind.IMAGINE),
    (f"**{P}** - {U} (0%) (relaxed)", 0, "relaxed", JobKind.IMAGINE),
    (f"**{P}** - {U} (93%) (turbo)", 93, "turbo", JobKind.IMAGINE),
    (f"**{P}** - {U} (46%) (relaxed, stealth)", 46, "relaxed, stealth", JobKind.IMAGINE),
    (f"**{P}** - {U} (paused) (relaxed)", None, "relaxed", JobKind.IMAGINE),
    (f"**{P}** - Variations by {U} (46%) (fast)", 46, "fast", JobKind.VARIATION),
    (f"**{P}** - Variations (Region) by {U} (15%) (fast)", 15, "fast", JobKind.VARIATION),
    (f"**{P}** - Upscaling by {U} (31%) (fast)", 31, "fast", JobKind.UPSCALE),
    (f"**{P}** - Zoom Out by {U} (62%) (turbo)", 62, "turbo", JobKind.ZOOM),
    (f"**{P}** - Pan Left by {U} (78%) (relaxed)", 78, "relaxed", JobKind.PAN),
    (f"**{P}** - {U} (15%) (fast){TRAILER}", 15, "fast", JobKind.IMAGINE),
    (f"**{P}** - <@!{USER_ID}> (31%) (fast)", 31, "fast", JobKind.IMAGINE),
]


@pytest.mark.parametrize(("content", "percent", "mode", "kind"), PROGRESS_CASES)
def test_progress_update(content: str, percent: int | None, mode: str, kind: JobKind) -> None:
    msg = message(content, attachments=[preview_image()], update=True, legacy_interaction=interaction(),
                  interaction_metadata=metadata())
    event = parse_message(msg, update=True)
    assert isinstance(event, JobProgress)
    assert (event.percent, event.mode, event.kind, event.prompt) == (percent, mode, kind, P)
    assert event.preview is not None and event.preview.filename == f"{JOB_HASH}_grid_0.webp"
    assert event.keys.job_hash == JOB_HASH
    assert event.keys.nonce is None and event.keys.mentioned_user_id == USER_ID


def test_progress_without_preview_and_with_plain_grid_name() -> None:
    event = parse_message(message(f"**{P}** - {U} (0%) (fast)"))
    assert isinstance(event, JobProgress) and event.preview is None and event.percent == 0
    plain = parse_message(message(f"**{P}** - {U} (31%) (fast)", attachments=[preview_image(None)]))
    assert isinstance(plain, JobProgress) and plain.preview is not None and plain.keys.job_hash is None


@pytest.mark.parametrize("content", [
    f"**{P}** - {U} (Stopped)",
    f"**{P}** - {U} (62%) (Stopped)",
    f"**{P}** - Variations by {U} (Stopped)",
])
def test_stopped_is_a_retryable_failure(content: str) -> None:
    event = parse_message(message(content))
    assert isinstance(event, JobFailed)
    assert event.category is FailureCategory.RETRYABLE and event.reason == "Stopped"


# ---------------------------------------------------------------------------------------------------
# §7: finished jobs


FINAL_CASES: list[tuple[str, JobKind, int | None, str | None, str | None]] = [
    # content, kind, index, variant, mode
    (f"**{P}** - {U} (fast)", JobKind.IMAGINE, None, None, "fast"),
    (f"**{P}** - {U} (relaxed)", JobKind.IMAGINE, None, None, "relaxed"),
    (f"**{P}** - {U} (turbo)", JobKind.IMAGINE, None, None, "turbo"),
    (f"**{P}** - {U} (relaxed, stealth)", JobKind.IMAGINE, None, None, "relaxed, stealth"),
    (f"**{P}** - {U} (Open on website for full quality) (relaxed)", JobKind.IMAGINE, None, None, "relaxed"),
    (f"**{P}** - {U} {WEB} (fast)", JobKind.IMAGINE, None, None, "fast"),
    (f"**{P}** - {U} {WEB} (fast){TRAILER}", JobKind.IMAGINE, None, None, "fast"),
    (f"**{P}** - {U} (fast){TRAILER}", JobKind.IMAGINE, None, None, "fast"),
    (f"**{P}** - Variations by {U} (fast)", JobKind.VARIATION, None, None, "fast"),
    (f"**{P}** - Variations (Strong) by {U} (fast)", JobKind.VARIATION, None, "Strong", "fast"),
    (f"**{P}** - Variations (Subtle) by {U} (relaxed)", JobKind.VARIATION, None, "Subtle", "relaxed"),
    (f"**{P}** - Variations (Region) by {U} (fast)", JobKind.VARIATION, None, "Region", "fast"),
    (f"**{P}** - Remix by {U} (fast)", JobKind.VARIATION, None, "Remix", "fast"),
    (f"**{P}** - Remix (Strong) by {U} (fast)", JobKind.VARIATION, None, "Strong", "fast"),
    (f"**{P}** - Remix (Subtle) by {U} (fast)", JobKind.VARIATION, None, "Subtle", "fast"),
    (f"**{P}** - Remix (Region) by {U} (fast)", JobKind.VARIATION, None, "Region", "fast"),
    (f"**{P}** - Upscaled by {U} (fast)", JobKind.UPSCALE, None, None, "fast"),
    *[(f"**{P}** - Upscaled ({v}) by {U} (fast)", JobKind.UPSCALE, None, v, "fast")
      for v in ("Beta", "Light", "Max", "2x", "4x", "Subtle", "Creative")],
    (f"**{P}** - Zoom Out by {U} (fast)", JobKind.ZOOM, None, None, "fast"),
    *[(f"**{P}** - Pan {d} by {U} (relaxed)", JobKind.PAN, None, d, "relaxed")
      for d in ("Left", "Right", "Up", "Down")],
    (f"**{P}** - Remaster by {U} (fast)", JobKind.UNKNOWN, None, "Remaster", "fast"),
    (f"**{P}** - Make Square by {U} (fast)", JobKind.UNKNOWN, None, "Make Square by", "fast"),
]


@pytest.mark.parametrize(("content", "kind", "index", "variant", "mode"), FINAL_CASES)
def test_final_grid(content: str, kind: JobKind, index: int | None, variant: str | None, mode: str | None) -> None:
    msg = message(content, attachments=[grid_image()], components=grid_components())
    event = parse_message(msg)
    assert isinstance(event, JobCompleted)
    assert (event.kind, event.index, event.variant, event.mode) == (kind, index, variant, mode)
    assert event.prompt == P and event.keys.prompt == P
    assert event.content == content
    assert event.image is not None and event.keys.job_hash == JOB_HASH
    assert [b.label for b in event.buttons] == ["U1", "U2", "U3", "U4", "", "V1", "V2", "V3", "V4"]
    assert event.buttons[4].emoji == "🔄"


@pytest.mark.parametrize("content", [f"**{P}** - Image #2 {U}", f"**{P}** - Image #2 {U}{TRAILER}",
                                     f"**{P}** - Image #2 {U} {WEB}"])
def test_upscale_pick(content: str) -> None:
    msg = message(content, message_type=19, attachments=[upscale_image()], components=upscale_components(),
                  reference_id=GRID_MESSAGE_ID)
    event = parse_message(msg)
    assert isinstance(event, JobCompleted)
    assert (event.kind, event.index, event.mode) == (JobKind.UPSCALE, 2, None)
    assert event.keys.job_hash == UPSCALE_HASH and event.keys.referenced_message_id == GRID_MESSAGE_ID
    # link button ("Web", style 5) excluded; custom emoji kept by name
    assert all(b.custom_id.startswith("MJ::") for b in event.buttons)
    assert "Web" not in [b.label for b in event.buttons]
    assert [b.label for b in event.buttons[:2]] == ["Upscale (Subtle)", "Upscale (Creative)"]


def test_upscale_pick_without_buttons_still_completes() -> None:
    """"Image #N" carries no status and no mode (§18.2); the image alone marks it done."""
    event = parse_message(message(f"**{P}** - Image #4 {U}", attachments=[upscale_image()]))
    assert isinstance(event, JobCompleted) and event.index == 4 and event.buttons == ()


def test_final_with_mode_but_no_buttons_completes() -> None:
    event = parse_message(message(f"**{P}** - {U} (fast)", attachments=[grid_image()]))
    assert isinstance(event, JobCompleted) and event.buttons == ()


def test_final_without_image_is_not_completed() -> None:
    assert parse_message(message(f"**{P}** - {U} (fast)", components=grid_components())) is None


def test_mode_word_after_website_link_only_in_status() -> None:
    info = parse_content(f"**{P}** - {U} {WEB} (relaxed, stealth){TRAILER}")
    assert info is not None and info.mode == "relaxed, stealth" and info.speed is not None


@pytest.mark.parametrize(("content", "prompt"), [
    (f"**<https://s.mj.run/a1> <https://s.mj.run/b2> --ar 2:3 --v 5.1** - {U} (relaxed)",
     "<https://s.mj.run/a1> <https://s.mj.run/b2> --ar 2:3 --v 5.1"),  # blend 2023
    (f"**** - {U} (fast)", ""),  # blend, empty prompt
    (f"**--v 7.0 --ar 1:1** - {U} (relaxed)", "--v 7.0 --ar 1:1"),
    (f"**{P} --zoom 1.5** - Zoom Out by {U} (fast)", f"{P} --zoom 1.5"),
    (f"**a **bold** cat** - {U} (fast)", "a **bold** cat"),  # ** inside the prompt
    (f"**a star*** - {U} (fast)", "a star*"),  # trailing asterisk
    (f"***a** - {U} (fast)", "*a"),  # leading asterisk
    (f"**a - b - c** - {U} (fast)", "a - b - c"),
    (f"**x** - y** - {U} (fast)", "x** - y"),  # the LAST separator wins
    (f"**一只红色的猫 🐱 --niji 6** - {U} (fast)", "一只红色的猫 🐱 --niji 6"),
    (f"**line one\nline two** - {U} (fast)", "line one\nline two"),  # modal prompts may hold newlines
])
def test_prompt_extraction_edge_cases(content: str, prompt: str) -> None:
    event = parse_message(message(content, attachments=[grid_image()], components=grid_components()))
    assert isinstance(event, JobCompleted) and event.prompt == prompt and event.keys.prompt == prompt


# ---------------------------------------------------------------------------------------------------
# §8: the client regexes' groups, and other content


@pytest.mark.parametrize(("content", "statuses"), [
    (f"**{P}** - {U} (Waiting to start)", ("Waiting to start",)),
    (f"**{P}** - {U} (31%) (fast)", ("31%", "fast")),
    (f"**{P}** - {U} (Stopped)", ("Stopped",)),
    (f"**{P}** - Image #1 {U}", ()),
    (f"**{P}** - {U} {WEB} (fast){TRAILER}", ("fast",)),
])
def test_statuses(content: str, statuses: tuple[str, ...]) -> None:
    info = parse_content(content)
    assert info is not None and info.statuses == statuses and info.user_id == USER_ID


def test_clean_content() -> None:
    assert clean_content(f"**{P}** - {U} {WEB} (fast){TRAILER}") == f"**{P}** - {U} (fast)"
    assert clean_content(f"**{P}** - {U} (Open on website for full quality) (relaxed)") == \
        f"**{P}** - {U} (relaxed)"
    assert clean_content(None) == ""


@pytest.mark.parametrize("content", [
    "Failed to process your command 😭",
    "Failed: the image could not be generated",
])
def test_failed_content(content: str) -> None:
    event = parse_message(message(content, nonce=NONCE))
    assert isinstance(event, JobFailed) and event.reason == content and event.keys.nonce == NONCE


@pytest.mark.parametrize("content", [
    "Done! Your jobs now do not cost fast-hours, but will take longer to run.",
    "Remix mode turned on! Clicking the variation buttons will now give you a chance to edit your prompt!",
    "Adjust your settings here. Current suffix: ` --v 6.1`",
    f"**{P}**\n**Job ID**: {JOB_HASH}\n**seed** 1234567",
    "hello there",
    "",
])
def test_irrelevant_content(content: str) -> None:
    assert parse_message(message(content)) is None


def test_seed_dm_and_remix_toggle() -> None:
    assert parse_seed_dm(f"**{P}**\n**Job ID**: {JOB_HASH}\n**seed** 1234567") == (JOB_HASH, "1234567")
    assert parse_seed_dm("nothing") is None
    assert parse_remix_toggle("Remix mode turned on! Clicking …") is True
    assert parse_remix_toggle("Remix mode turned off! …") is False
    assert parse_remix_toggle(None) is None


# ---------------------------------------------------------------------------------------------------
# §16: legacy and modern profiles


def test_legacy_first_message() -> None:
    msg = message(f"**{P}** - {U} (Waiting to start)", nonce=NONCE, legacy_interaction=interaction())
    event = parse_message(msg)
    assert isinstance(event, JobStarted)
    keys = event.keys
    assert (keys.nonce, keys.interaction_id, keys.interaction_name, keys.interaction_user_id) == (
        NONCE, INTERACTION_ID, "imagine", USER_ID)
    assert keys.author_id == BOT_ID and keys.channel_id == CHANNEL_ID


def test_legacy_imagine_final_has_no_nonce_and_no_interaction() -> None:
    msg = message(f"**{P}** - {U} (fast)", attachments=[grid_image(signed=False)], components=grid_components())
    event = parse_message(msg)
    assert isinstance(event, JobCompleted)
    keys = event.keys
    assert keys.nonce is None and keys.interaction_id is None and keys.interaction_name is None
    assert keys.job_hash == JOB_HASH and keys.mentioned_user_id == USER_ID


def test_legacy_button_final_replies_to_the_grid() -> None:
    msg = message(f"**{P}** - Variations by {U} (fast)", message_type=19, attachments=[grid_image()],
                  components=grid_components(), reference_id=GRID_MESSAGE_ID)
    event = parse_message(msg)
    assert isinstance(event, JobCompleted) and event.keys.referenced_message_id == GRID_MESSAGE_ID


def test_modern_final_carries_nonce_and_metadata() -> None:
    content = f"**{P}** - {U} {WEB} (fast){TRAILER}"
    msg = message(content, nonce=NONCE, legacy_interaction=interaction(), interaction_metadata=metadata(),
                  attachments=[grid_image()], components=grid_components())
    event = parse_message(msg)
    assert isinstance(event, JobCompleted)
    assert (event.keys.nonce, event.keys.interaction_id, event.prompt, event.mode) == (
        NONCE, INTERACTION_ID, P, "fast")


def test_modern_button_job_metadata() -> None:
    msg = message(f"**{P}** - Variations (Strong) by {U} (Waiting to start)", nonce=NONCE, message_type=20,
                  interaction_metadata=metadata("1400000000000000002", name=None, interaction_type=3,
                                                interacted_message_id=GRID_MESSAGE_ID))
    keys = extract_keys(msg)
    assert keys.interaction_id == "1400000000000000002" and keys.interacted_message_id == GRID_MESSAGE_ID
    assert keys.interaction_name is None and keys.interaction_user_id == USER_ID


def test_modal_submit_job_metadata() -> None:
    msg = message(f"**{P} --zoom 1.5** - Zoom Out by {U} (Waiting to start)", nonce=NONCE,
                  interaction_metadata=metadata("1400000000000000003", name=None, interaction_type=5,
                                                interacted_message_id=GRID_MESSAGE_ID,
                                                triggering_id="1400000000000000002"))
    keys = extract_keys(msg)
    assert keys.triggering_interaction_id == "1400000000000000002"
    assert keys.interaction_id == "1400000000000000003"


def test_mention_inside_the_prompt_is_not_the_invoker() -> None:
    keys = extract_keys(message(f"**portrait of <@999> as a cat** - {U} (fast)"))
    assert keys.mentioned_user_id == USER_ID and keys.prompt == "portrait of <@999> as a cat"


def test_metadata_preferred_over_legacy_interaction() -> None:
    msg = message("x", legacy_interaction=interaction(interaction_id="1"), interaction_metadata=metadata("2"))
    assert extract_keys(msg).interaction_id == "2"


def test_job_hash_fallbacks_buttons_then_website_link() -> None:
    from_buttons = extract_keys(message(f"**{P}** - {U} (fast)", components=grid_components()))
    assert from_buttons.job_hash == JOB_HASH
    from_link = extract_keys(message(f"**{P}** - {U} {WEB} (fast)"))
    assert from_link.job_hash == JOB_HASH


def test_ephemeral_flags_and_int_ids() -> None:
    msg = message("", flags=64)
    msg["id"] = 1300000000000000123
    msg["nonce"] = 1573679818409508864
    keys = extract_keys(msg)
    assert keys.flags == 64 and keys.message_id == "1300000000000000123" and keys.nonce == "1573679818409508864"


# ---------------------------------------------------------------------------------------------------
# §10: attachment filenames and the job hash


H = JOB_HASH
SIGN = "?ex=6650a1b2&is=664f5032&hm=" + "ab" * 32 + "&"


@pytest.mark.parametrize(("url", "expected"), [
    (f"https://cdn.discordapp.com/attachments/1/2/Alex_Poloz_a_red_cat_{H}.png{SIGN}", H),
    (f"https://cdn.discordapp.com/attachments/1/2/Alex_Poloz_a_red_cat_{H}.png", H),
    (f"https://cdn.discordapp.com/attachments/1/2/2652827195710015_Cute_little_girl_drinking_cola_in_{H}.png", H),
    (f"https://media.discordapp.net/attachments/1/2/alex_cat_{H}.webp{SIGN}", H),
    (f"https://cdn.discordapp.com/ephemeral-attachments/1/2/{H}_grid_0.webp{SIGN}", H),
    ("https://cdn.discordapp.com/ephemeral-attachments/1/2/grid_0.webp" + SIGN, None),
    ("grid_0.webp", None),
    (f"{H}_grid_0.webp", H),
    (f"https://cdn.discordapp.com/attachments/1/2/{H}_0_0.png", H),
    (f"https://cdn.midjourney.com/{H}/0_0.png", H),
    (f"https://cdn.midjourney.com/{H}/0_3.jpeg", H),
    (f"https://cdn.midjourney.com/{H}/0_1.webp", H),
    (f"https://cdn.discordapp.com/attachments/1/2/{H}_0.mp4", H),
    (f"alex_cat_{H.upper()}.png", H),
    ("https://cdn.discordapp.com/attachments/1/2/alex_a_red_cat_notauuid.png", None),
    ("https://cdn.discordapp.com/attachments/1/2/image.png", None),
    ("", None),
    (None, None),
])
def test_job_hash_from_url(url: str | None, expected: str | None) -> None:
    assert job_hash_from_url(url) == expected


def test_job_hash_from_filename_when_url_has_none() -> None:
    att = attachment(f"alex_cat_{H}.png", url="https://proxy.example/opaque/12345")
    assert extract_keys(message("x", attachments=[att])).job_hash == H


# ---------------------------------------------------------------------------------------------------
# §17: error and notice embeds

RED, YELLOW, ORANGE = 0xFF0000, 0xFFFF00, 0xF7CB73

FAILURE_TITLES = [
    ("Banned prompt detected", FailureCategory.MODERATED),
    ("Banned prompt", FailureCategory.MODERATED),
    ("Request cancelled due to output filters", FailureCategory.MODERATED),
    ("Request cancelled due to image filters", FailureCategory.MODERATED),
    ("Image denied", FailureCategory.MODERATED),
    ("Action needed to continue", FailureCategory.MODERATED),
    ("Invalid parameter", FailureCategory.INVALID),
    ("Invalid prompt", FailureCategory.INVALID),
    ("Invalid link", FailureCategory.INVALID),
    ("Invalid link!", FailureCategory.INVALID),
    ("Duplicate images detected", FailureCategory.INVALID),
    ("Queue full", FailureCategory.RETRYABLE),
    ("Internal error", FailureCategory.RETRYABLE),
    ("Something went wrong", FailureCategory.RETRYABLE),
    ("Internal server error", FailureCategory.RETRYABLE),
    ("Could not complete", FailureCategory.RETRYABLE),
]


@pytest.mark.parametrize(("title", "category"), FAILURE_TITLES)
@pytest.mark.parametrize("color", [RED, YELLOW, None])
def test_failure_titles(title: str, category: FailureCategory, color: int | None) -> None:
    msg = message(nonce=NONCE, message_type=20, flags=64,
                  embeds=[embed(title, "Some description.", color=color, footer="/imagine a red cat")])
    event = parse_message(msg)
    assert isinstance(event, JobFailed)
    assert event.category is category and event.title == title
    assert event.footer == "/imagine a red cat" and event.keys.nonce == NONCE
    assert event.reason == f"[{title}] Some description."


NOTICE_TITLES = [
    ("Job queued", NoticeKind.JOB_QUEUED),
    ("Pending mod message", NoticeKind.PENDING_MOD),
    ("Blocked", NoticeKind.BLOCKED),
    ("Plan Cancelled", NoticeKind.SUBSCRIPTION),
    ("Subscription paused", NoticeKind.SUBSCRIPTION),
    ("Subscription required", NoticeKind.SUBSCRIPTION),
    ("Credits exhausted", NoticeKind.CREDITS_EXHAUSTED),
    ("Tos not accepted", NoticeKind.TOS),
    ("Action required to continue", NoticeKind.CAPTCHA),
    ("Your info - alex_poloz", NoticeKind.INFO),
]


@pytest.mark.parametrize(("title", "kind"), NOTICE_TITLES)
def test_notice_titles(title: str, kind: NoticeKind) -> None:
    color = ORANGE if kind is NoticeKind.JOB_QUEUED else RED
    event = parse_message(message(embeds=[embed(title, "desc", color=color)], nonce=NONCE))
    assert isinstance(event, JobNotice) and event.kind is kind and event.title == title


def test_job_queued_full_text() -> None:
    description = ("You have reached the maximum allowed number of concurrent jobs. Don't worry, this job will "
                   "start as soon as another one finishes!")
    event = parse_message(message(embeds=[embed("Job queued", description, color=YELLOW)], nonce=NONCE))
    assert isinstance(event, JobNotice) and event.kind is NoticeKind.JOB_QUEUED
    assert event.description == description and event.footer == "/imagine a red cat"


@pytest.mark.parametrize(("title", "description"), [
    ("Wow, continue?", "Wow! You're making so many AI images we need to verify you're human"),
    ("Please continue", "We need to verify you’re human"),
    ("Continue", "Please verify you are human."),
])
def test_human_verify_is_captcha(title: str, description: str) -> None:
    event = parse_message(message(embeds=[embed(title, description, color=0x5865F2)]))
    assert isinstance(event, JobNotice) and event.kind is NoticeKind.CAPTCHA


@pytest.mark.parametrize(("title", "result"), [
    ("banned prompt detected", FailureCategory.MODERATED),  # case-insensitive second pass
    ("QUEUE FULL", FailureCategory.RETRYABLE),
    ("job queued", NoticeKind.JOB_QUEUED),
])
def test_case_insensitive_titles(title: str, result: object) -> None:
    event = parse_message(message(embeds=[embed(title, "x", color=None)]))
    assert event is not None
    assert getattr(event, "category", None) is result or getattr(event, "kind", None) is result


@pytest.mark.parametrize(("title", "description", "color", "category"), [
    ("Brand new failure", "no clue", RED, FailureCategory.UNKNOWN),
    ("", "Sorry! Our AI moderators feel your prompt might be against our community standards.", RED,
     FailureCategory.MODERATED),
    ("Invalid aspect ratio", "x", RED, FailureCategory.INVALID),
    ("Invalid aspect ratio", "x", 0x00FF00, FailureCategory.INVALID),  # keyword fallback without red
    ("Unexpected error", "x", None, FailureCategory.RETRYABLE),
    ("Apologies, something went wrong", "x", RED, FailureCategory.RETRYABLE),
    ("Content denied", "x", None, FailureCategory.MODERATED),
])
def test_colour_and_keyword_fallbacks(title: str, description: str, color: int | None,
                                      category: FailureCategory) -> None:
    event = parse_message(message(embeds=[embed(title, description, color=color)]))
    assert isinstance(event, JobFailed) and event.category is category


def test_unknown_yellow_embed_is_a_notice_and_green_is_ignored() -> None:
    yellow = parse_message(message(embeds=[embed("Heads up", "something", color=YELLOW)]))
    assert isinstance(yellow, JobNotice) and yellow.kind is NoticeKind.OTHER
    assert parse_message(message(embeds=[embed("All good", "yay", color=0x00FF00)])) is None


def test_error_embed_as_reply_and_as_update() -> None:
    reply = parse_message(message(embeds=[embed("Invalid parameter", "Invalid value for --ar")],
                                  reference_id="1300000000000000042", message_type=19))
    assert isinstance(reply, JobFailed) and reply.keys.referenced_message_id == "1300000000000000042"
    update = parse_message(message(f"**{P}** - {U} (31%) (fast)", embeds=[embed("Duplicate images detected", "")],
                                   update=True), update=True)
    assert isinstance(update, JobFailed) and update.category is FailureCategory.INVALID
    assert update.reason == "[Duplicate images detected]"


def test_partial_update_without_content_is_ignored() -> None:
    partial = {"id": "1300000000000000001", "channel_id": CHANNEL_ID, "embeds": []}
    assert parse_message(partial, update=True) is None


# ---------------------------------------------------------------------------------------------------
# §15: describe and shorten


KC = "\ufe0f\u20e3"
DESCRIBE = (f"1{KC} Cat on a sofa, in the style of soft pastel, warm light --ar 5:4 \n\n"
            f"2{KC} A ginger cat lounging on a couch, cozy interior --ar 5:4\n\n"
            f"3{KC} cat, sofa, sunlight, photorealistic --ar 5:4  \n\n"
            f"4{KC} an orange tabby resting on a grey sofa --ar 5:4")
INPUT_IMAGE = "https://cdn.discordapp.com/ephemeral-attachments/1092492867185950852/1234/cat.png?ex=1&is=2&hm=3&"


def describe_components() -> list[dict[str, Any]]:
    from mjproxy.domain.buttons import describe_custom_ids
    return [{"type": 1, "components": [{"type": 2, "custom_id": cid, "style": 2} for cid in describe_custom_ids()]}]


def test_describe_placeholder_is_a_start() -> None:
    msg = message("", nonce=NONCE, flags=0, legacy_interaction=interaction("describe"),
                  interaction_metadata=metadata(name="describe"))
    event = parse_message(msg)
    assert isinstance(event, JobStarted) and event.kind is JobKind.DESCRIBE and event.keys.nonce == NONCE


@pytest.mark.parametrize("with_metadata", [True, False])
def test_describe_result(with_metadata: bool) -> None:
    msg = message("", update=True, components=describe_components(),
                  embeds=[embed(None, DESCRIBE, color=0x2F3136, footer=None, image_url=INPUT_IMAGE)],
                  legacy_interaction=interaction("describe") if with_metadata else None,
                  interaction_metadata=metadata(name="describe") if with_metadata else None)
    event = parse_message(msg, update=True)
    assert isinstance(event, JobCompleted) and event.kind is JobKind.DESCRIBE
    assert event.content == DESCRIBE and event.prompt == DESCRIBE
    assert event.image is not None and event.image.url == INPUT_IMAGE and event.image.filename == "cat.png"
    assert len(event.buttons) == 6
    assert split_options(event.content) == [
        "Cat on a sofa, in the style of soft pastel, warm light --ar 5:4",
        "A ginger cat lounging on a couch, cozy interior --ar 5:4",
        "cat, sofa, sunlight, photorealistic --ar 5:4",
        "an orange tabby resting on a grey sofa --ar 5:4",
    ]


SHORTEN_OBSERVED = ("**IMPORTANT TOKENS**\n**red** **cat** ~~sitting~~ ~~on~~ ~~a~~ **chair**\n\n"
                    "**SHORTENED OPTIONS**\n"
                    f"1{KC} red cat chair\n\n2{KC} red cat, chair\n\n3{KC} red cat on chair\n\n"
                    f"4{KC} a red cat on a chair\n\n5{KC} red cat sitting on a chair")
SHORTEN_PLUS = SHORTEN_OBSERVED.replace("**IMPORTANT TOKENS**", "## Important tokens").replace(
    "**SHORTENED OPTIONS**", "## Shortened prompts")


@pytest.mark.parametrize("description", [SHORTEN_OBSERVED, SHORTEN_PLUS])
@pytest.mark.parametrize("by", ["metadata", "footer"])
def test_shorten_result(description: str, by: str) -> None:
    footer = "Click on a button to imagine one of the shortened prompts"
    msg = message("", update=True, embeds=[embed(None, description, color=0x2F3136, footer=footer)],
                  legacy_interaction=interaction("shorten") if by == "metadata" else None)
    event = parse_message(msg, update=True)
    assert isinstance(event, JobCompleted) and event.kind is JobKind.SHORTEN and event.content == description
    assert split_options(description) == ["red cat chair", "red cat, chair", "red cat on chair",
                                          "a red cat on a chair", "red cat sitting on a chair"]


def test_describe_error_is_a_failure() -> None:
    msg = message(embeds=[embed("Invalid link", "Could not validate this link", footer=None)], nonce=NONCE,
                  legacy_interaction=interaction("describe"))
    event = parse_message(msg)
    assert isinstance(event, JobFailed) and event.category is FailureCategory.INVALID


# ---------------------------------------------------------------------------------------------------
# §14: /info

INFO = """**User ID**: 8f3e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c
**Subscription**: Pro (Active monthly, renews next on <t:1705181223>)
**Job Mode**: Fast
**Visibility Mode**: Public
**Fast Time Remaining**: 29.57/30.0 hours (98.58%)
**Lifetime Usage**: 102 images (1.77 hours)
**Relaxed Usage**: 19 images (0.29 hours)

**Queued Jobs (fast)**: 0
**Queued Jobs (relax)**: 0
**Running Jobs**: None"""


def test_info_embed_message() -> None:
    msg = message("", flags=64, update=True, legacy_interaction=interaction("info"),
                  embeds=[embed("Your info - alex_poloz", INFO, color=0x2F3136, footer=None)])
    event = parse_message(msg, update=True)
    assert isinstance(event, JobNotice) and event.kind is NoticeKind.INFO and event.description == INFO


def test_parse_info() -> None:
    fields = parse_info_embed(INFO)
    assert fields["Visibility Mode"] == "Public" and fields["Queued Jobs (fast)"] == "0"
    info = parse_account_info(INFO)
    assert info.user_id == "8f3e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"
    assert info.subscription == "Pro (Active monthly, renews next on <t:1705181223>)" and info.has_subscription
    assert info.job_mode is not None and info.job_mode.value == "fast"
    assert info.visibility == "Public"
    assert (info.fast_time_remaining_hours, info.fast_time_total_hours) == (29.57, 30.0)
    assert (info.queued_fast, info.queued_relax, info.running_jobs) == (0, 0, 0)
    assert info.lifetime_usage == "102 images (1.77 hours)"


def test_parse_info_variants() -> None:
    padded = ("**Subscription**:     None (Trial)      \n**Job Mode**:    Relaxed   \n"
              "**Visibility Mode**: Stealth\n**Fast Time Remaining**:     25.00 minutes\n"
              "**Running Jobs**: 8f3e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c, 0f4a5b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b")
    info = parse_account_info(padded)
    assert info.subscription == "None (Trial)" and not info.has_subscription
    assert info.job_mode is not None and info.job_mode.value == "relax"
    assert info.visibility == "Stealth"
    assert info.fast_time_remaining_hours == pytest.approx(25 / 60, abs=1e-3)
    assert info.running_jobs == 2 and info.queued_fast is None
    turbo = parse_account_info("**Job Mode**: Turbo\n**Fast Time Remaining**: 0.00/15.0 hours (0.00%)")
    assert turbo.job_mode is not None and turbo.job_mode.value == "turbo"
    assert turbo.fast_time_remaining_hours == 0.0
    assert parse_account_info(None) == parse_account_info("")


# ---------------------------------------------------------------------------------------------------
# interaction events (discord.md §3.2)


def test_interaction_create_success_failure() -> None:
    created = parse_interaction_event("INTERACTION_CREATE", {"id": INTERACTION_ID, "nonce": NONCE})
    assert created is not None and created.phase is InteractionPhase.CREATED and created.nonce == NONCE
    ok = parse_interaction_event("INTERACTION_SUCCESS", {"id": INTERACTION_ID, "nonce": NONCE})
    assert ok is not None and ok.phase is InteractionPhase.SUCCEEDED
    failed = parse_interaction_event("INTERACTION_FAILURE", {"id": INTERACTION_ID, "nonce": NONCE,
                                                             "reason_code": 2})
    assert failed is not None and failed.phase is InteractionPhase.FAILED and failed.reason_code == 2


def test_modal_create() -> None:
    data = {"id": INTERACTION_ID, "nonce": NONCE, "channel_id": CHANNEL_ID,
            "custom_id": f"MJ::OutpaintCustomZoomModal::{JOB_HASH}", "title": "Zoom Out",
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": "MJ::OutpaintCustomZoomModal::prompt",
                                                       "label": "Prompt", "style": 2, "value": f"{P} --zoom 2",
                                                       "required": True}]}],
            "application": {"id": BOT_ID, "name": "Midjourney Bot", "bot": True}}
    event = parse_interaction_event("INTERACTION_MODAL_CREATE", data)
    assert event is not None and event.phase is InteractionPhase.MODAL
    assert event.custom_id == f"MJ::OutpaintCustomZoomModal::{JOB_HASH}"
    assert event.extra["input_custom_id"] == "MJ::OutpaintCustomZoomModal::prompt"
    assert event.extra["value"] == f"{P} --zoom 2" and event.extra["application_id"] == BOT_ID
    assert event.extra["channel_id"] == CHANNEL_ID


def test_iframe_modal_create() -> None:
    data = {"id": INTERACTION_ID, "nonce": NONCE, "channel_id": CHANNEL_ID, "custom_id": "MJ::iframe::tok123",
            "title": "Action required to continue", "iframe_path": "/captcha/embedded/abc", "modal_size": 2,
            "application": {"id": BOT_ID}}
    event = parse_interaction_event("INTERACTION_IFRAME_MODAL_CREATE", data)
    assert event is not None and event.phase is InteractionPhase.IFRAME_MODAL
    assert event.extra["iframe_path"] == "/captcha/embedded/abc" and event.extra["modal_size"] == 2


@pytest.mark.parametrize(("name", "data"), [
    ("MESSAGE_CREATE", {"id": "1"}),
    ("INTERACTION_CREATE", {}),
    ("INTERACTION_CREATE", {"nonce": NONCE}),
    ("INTERACTION_SUCCESS", None),
    ("INTERACTION_FAILURE", "garbage"),
])
def test_interaction_event_rejects(name: str, data: Any) -> None:
    assert parse_interaction_event(name, data) is None


# ---------------------------------------------------------------------------------------------------
# odd input: never raise


@pytest.mark.parametrize("raw", [
    None, [], "text", 42, {}, {"id": "1"}, {"id": None, "content": "x"},
    {"id": "1", "content": None}, {"id": "1", "content": 5},
    {"id": "1", "content": f"**{P}** - {U} (fast)", "attachments": "nope", "components": {"a": 1}},
    {"id": "1", "embeds": [None, "x", 3, [], {"title": None, "color": "red"}]},
    {"id": "1", "embeds": [{"title": 7, "description": ["x"], "footer": "f", "image": "u"}]},
    {"id": "1", "content": f"**{P}** - {U} (fast)", "attachments": [None, {"url": 5}, {"filename": "x.png"}],
     "components": [None, {"type": 1, "components": [None, {"type": 2}, {"type": 2, "custom_id": 5}]}]},
    {"id": "1", "interaction_metadata": "x", "interaction": 3, "message_reference": [], "author": "bot",
     "mentions": [None], "flags": "64", "nonce": 1.5},
    {"id": "1", "content": "**", "attachments": []},
    {"id": "1", "content": "** - <@>", "attachments": []},
    {"id": "1", "content": "**P** - <@1> (" * 50},
    {"id": "1", "content": "**P** - <@1> (999%) (fast)"},
])
def test_odd_input_never_raises(raw: Any) -> None:
    parse_message(raw)
    parse_message(raw, update=True)
    if isinstance(raw, dict):
        extract_keys(raw)


def test_percent_is_clamped() -> None:
    event = parse_message({"id": "1", "content": "**P** - <@1> (999%) (fast)"})
    assert isinstance(event, JobProgress) and event.percent == 100


def _mutations(value: Any, rng: random.Random) -> Any:
    weird: list[Any] = [None, "", 0, -1, 1.5, [], {}, "x" * 3, [None], {"id": None}, True]
    if isinstance(value, dict):
        return {k: (rng.choice(weird) if rng.random() < 0.2 else _mutations(v, rng)) for k, v in value.items()}
    if isinstance(value, list):
        return [rng.choice(weird) if rng.random() < 0.2 else _mutations(v, rng) for v in value]
    return value


def test_fuzzed_messages_never_raise() -> None:
    rng = random.Random(1234)
    samples = [
        message(f"**{P}** - {U} {WEB} (fast){TRAILER}", nonce=NONCE, legacy_interaction=interaction(),
                interaction_metadata=metadata(triggering_id="5", interacted_message_id="6"),
                attachments=[grid_image()], components=upscale_components(), reference_id=GRID_MESSAGE_ID),
        message("", embeds=[embed("Invalid parameter", "x", image_url=INPUT_IMAGE)], nonce=NONCE),
        message("", embeds=[embed(None, DESCRIBE, image_url=INPUT_IMAGE)], legacy_interaction=interaction("describe")),
    ]
    for _ in range(300):
        mutated = _mutations(copy.deepcopy(rng.choice(samples)), rng)
        parse_message(mutated)
        parse_message(mutated, update=True)
        extract_keys(mutated)
