"""Pure parser: a raw Discord message (or interaction event) from the Midjourney bot → typed event.

No I/O and no state: the tracker decides what an event means for a task. Midjourney changes its
formats without notice, so every accessor here tolerates missing keys, ``None`` and wrong types, and
the content grammar accepts every variant of ``midjourney-bot.md`` §7/§8 and both §16 profiles:

    [prefix]**<prompt>** - [<action words> ]<@user>[ (<status>)]*[ website link][\\n-# trailer]

The prompt is the text between the first ``**`` and the LAST ``** - `` separator, because prompts may
themselves contain ``**`` (bold words, trailing asterisks) while the separator never appears after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..domain.buttons import parse_custom_id
from ..domain.prompt import Mode, mode_from_word
from ..domain.task import Button
from .constants import COLOR_RED, KEYCAP_SUFFIX, WARNING_COLORS
from .events import (
    Attachment,
    FailureCategory,
    InteractionEvent,
    InteractionPhase,
    JobCompleted,
    JobFailed,
    JobKind,
    JobNotice,
    JobProgress,
    JobStarted,
    MessageKeys,
    MjEvent,
    NoticeKind,
)

# ---------------------------------------------------------------------------------------------------
# tolerant accessors


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _str(value: object) -> str | None:
    """Ids arrive as strings, but be lenient with ints (some libraries coerce snowflakes)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


# ---------------------------------------------------------------------------------------------------
# content cleanup and grammar

_TRAILER = re.compile(r"\n+-# [^\n]*")  # Discord "subtext" lines MJ appends since 2025
_WEBSITE_LINK = re.compile(r"\s*\[\(Open on website for full quality\)\]\(<?[^)>]*>?\)")
_WEBSITE_PLAIN = re.compile(r"\s*\(Open on website for full quality\)")
_JOB_LINK = re.compile(r"midjourney\.com/(?:app/)?jobs/([0-9a-fA-F-]{36})")

# Greedy prompt group: take the LAST "** - " so prompts that contain "**" survive (module docstring).
_CONTENT = re.compile(r"^(?P<prefix>.*?)\*\*(?P<prompt>.*)\*\* - (?P<rest>.*)$", re.DOTALL)
_REST = re.compile(r"^(?P<action>.*?)<@!?(?P<user>\d+)>(?P<tail>.*)$", re.DOTALL)
_PAREN = re.compile(r"\(([^()]*)\)")
_MENTION = re.compile(r"<@!?(\d+)>")
_PERCENT = re.compile(r"^(\d{1,3})%$")
_MODE_STATUS = re.compile(r"^(fast|relaxed|relax|turbo)(, stealth)?$", re.IGNORECASE)

_PREFIX_VARIATION = re.compile(r"Making variations for image #(\d+) with prompt\s*$")
_PREFIX_UPSCALE = re.compile(r"Upscaling image #(\d+) with\s*$")
_IMAGE_N = re.compile(r"^Image #(\d+)$")
_ACTION = re.compile(r"^(?P<verb>Variations|Remix|Upscaled|Upscaling|Zoom Out|Remaster"
                     r"|Pan (?P<dir>Left|Right|Up|Down))(?: \((?P<variant>[^()]*)\))? by$")


def clean_content(content: object) -> str:
    """Content without the ``-#`` trailer and the "Open on website" hints, which carry no job state."""
    if not isinstance(content, str):
        return ""
    text = _TRAILER.sub("", content)
    text = _WEBSITE_LINK.sub("", text)
    return _WEBSITE_PLAIN.sub("", text).strip()


@dataclass(frozen=True, slots=True)
class ContentInfo:
    """What the content grammar yields for a job message."""

    prompt: str
    kind: JobKind = JobKind.IMAGINE
    index: int | None = None
    variant: str | None = None
    user_id: str | None = None
    waiting: bool = False
    percent: int | None = None
    paused: bool = False
    stopped: bool = False
    mode: str | None = None  # the status word as shown: "fast", "relaxed, stealth", …
    statuses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def speed(self) -> Mode | None:
        return mode_from_word(self.mode)


def _kind_from_action(action: str) -> tuple[JobKind, int | None, str | None]:
    """Map the words between ``** - `` and the mention to (kind, index, variant)."""
    if not action:
        return JobKind.IMAGINE, None, None
    image = _IMAGE_N.match(action)
    if image:
        return JobKind.UPSCALE, int(image.group(1)), None
    match = _ACTION.match(action)
    if not match:
        return JobKind.UNKNOWN, None, action
    verb, variant = match.group("verb"), match.group("variant")
    if match.group("dir"):
        return JobKind.PAN, None, match.group("dir")
    if verb == "Variations":
        return JobKind.VARIATION, None, variant
    if verb == "Remix":
        return JobKind.VARIATION, None, variant or "Remix"
    if verb in ("Upscaled", "Upscaling"):
        return JobKind.UPSCALE, None, variant
    if verb == "Zoom Out":
        return JobKind.ZOOM, None, variant
    return JobKind.UNKNOWN, None, verb  # Remaster (v4 era)


def _kind_from_prefix(prefix: str) -> tuple[JobKind, int | None] | None:
    """The 2023 forms put the action before the prompt."""
    match = _PREFIX_VARIATION.search(prefix)
    if match:
        return JobKind.VARIATION, int(match.group(1))
    match = _PREFIX_UPSCALE.search(prefix)
    if match:
        return JobKind.UPSCALE, int(match.group(1))
    return None


def parse_content(content: object) -> ContentInfo | None:
    """Parse a job message's content; None when it does not follow the ``**P** - …`` grammar."""
    match = _CONTENT.match(clean_content(content))
    if not match:
        return None
    rest = match.group("rest")
    rest_match = _REST.match(rest)
    if rest_match:
        action, user, tail = rest_match.group("action").strip(), rest_match.group("user"), rest_match.group("tail")
    else:
        action, user, tail = "", None, rest
    kind, index, variant = _kind_from_action(action)
    prefixed = _kind_from_prefix(match.group("prefix"))
    if prefixed and kind is JobKind.IMAGINE:
        kind, index = prefixed
    statuses = tuple(s.strip() for s in _PAREN.findall(tail))
    info = ContentInfo(prompt=match.group("prompt").strip(), kind=kind, index=index, variant=variant,
                       user_id=user, statuses=statuses)
    return _apply_statuses(info, statuses)


def _apply_statuses(info: ContentInfo, statuses: tuple[str, ...]) -> ContentInfo:
    waiting = paused = stopped = False
    percent: int | None = None
    mode: str | None = None
    for status in statuses:
        lowered = status.lower()
        pct = _PERCENT.match(status)
        if pct:
            percent = min(int(pct.group(1)), 100)
        elif lowered == "waiting to start":
            waiting = True
        elif lowered == "paused":
            paused = True
        elif lowered == "stopped":
            stopped = True
        elif _MODE_STATUS.match(status):
            mode = status
    return replace(info, waiting=waiting, percent=percent, paused=paused, stopped=stopped, mode=mode,
                   statuses=statuses)


def extract_prompt(content: object) -> str | None:
    info = parse_content(content)
    return info.prompt if info else None


# ---------------------------------------------------------------------------------------------------
# attachments and the job hash (§10)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_UUID_EXACT = re.compile(rf"^{_UUID.pattern}$", re.IGNORECASE)
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_VIDEO_EXT = (".mp4", ".webm", ".mov")


def job_hash_from_url(url: str | None) -> str | None:
    """The job uuid from an attachment URL or filename; None unless it is uuid-shaped.

    Rules in order: strip the query; ``<uuid>_grid_0.webp`` → the uuid (plain ``grid_0.webp`` → None);
    ``…_<uuid>.<ext>`` → text after the last ``_``; then any uuid inside the file name
    (``<uuid>_0_0.png``, ``<uuid>_0.mp4``); then a uuid directory (``cdn.midjourney.com/<uuid>/0_0.png``).
    """
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name.endswith("_grid_0.webp"):
        candidate = name.removesuffix("_grid_0.webp")
        return candidate.lower() if _UUID_EXACT.match(candidate) else None
    if "_" in name and "." in name:
        candidate = name.rsplit("_", 1)[-1].rsplit(".", 1)[0]
        if _UUID_EXACT.match(candidate):
            return candidate.lower()
    found = _UUID.findall(name)
    if found:
        return str(found[-1]).lower()
    segments = path.rstrip("/").split("/")
    if len(segments) >= 2 and _UUID_EXACT.match(segments[-2]):
        return segments[-2].lower()
    return None


def _filename_of(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[-1]


def parse_attachment(data: object) -> Attachment | None:
    raw = _dict(data)
    url = _str(raw.get("url")) or _str(raw.get("proxy_url"))
    if not url:
        return None
    return Attachment(url=url, filename=_str(raw.get("filename")) or _filename_of(url),
                      proxy_url=_str(raw.get("proxy_url")), width=_int(raw.get("width")),
                      height=_int(raw.get("height")), content_type=_str(raw.get("content_type")),
                      size=_int(raw.get("size")))


def is_media(attachment: Attachment) -> bool:
    """Image or video: MJ finals are PNG/WEBP grids or, for animate jobs, MP4s."""
    content_type = (attachment.content_type or "").lower()
    if content_type.startswith(("image/", "video/")):
        return True
    name = (attachment.filename or _filename_of(attachment.url)).lower()
    return name.endswith(_IMAGE_EXT + _VIDEO_EXT)


def attachments_of(message: Mapping[str, Any]) -> list[Attachment]:
    return [a for a in (parse_attachment(x) for x in _list(message.get("attachments"))) if a is not None]


def first_media(message: Mapping[str, Any]) -> Attachment | None:
    return next((a for a in attachments_of(message) if is_media(a)), None)


# ---------------------------------------------------------------------------------------------------
# components → buttons (api-midjourney-proxy.md §5.5)


def _button(component: Mapping[str, Any]) -> Button | None:
    custom_id = _str(component.get("custom_id"))
    if component.get("type") != 2 or not custom_id:  # link buttons (style 5) have a url, no custom_id
        return None
    return Button(custom_id=custom_id, label=_str(component.get("label")) or "",
                  emoji=_str(_dict(component.get("emoji")).get("name")) or "",
                  type=2, style=_int(component.get("style")) or 2)


def extract_buttons(message: Mapping[str, Any]) -> tuple[Button, ...]:
    """All buttons with a custom_id, action rows flattened in order (buttons outside rows tolerated)."""
    buttons: list[Button] = []
    for item in _list(message.get("components")):
        row = _dict(item)
        children = _list(row.get("components")) if row.get("type") == 1 else [row]
        buttons.extend(b for b in (_button(_dict(c)) for c in children) if b is not None)
    return tuple(buttons)


def _hash_from_buttons(buttons: tuple[Button, ...]) -> str | None:
    for button in buttons:
        parsed = parse_custom_id(button.custom_id)
        if parsed and parsed.job_hash and _UUID_EXACT.match(parsed.job_hash):
            return parsed.job_hash.lower()
    return None


# ---------------------------------------------------------------------------------------------------
# correlation keys (§18.1)


def _job_hash(message: Mapping[str, Any], content: str) -> str | None:
    """Attachment first (§10), then the H in the buttons, then the midjourney.com/jobs/<uuid> link."""
    attachments = _list(message.get("attachments"))
    if attachments:
        first = _dict(attachments[0])
        found = job_hash_from_url(_str(first.get("url"))) or job_hash_from_url(_str(first.get("filename")))
        if found:
            return found
    found = _hash_from_buttons(extract_buttons(message))
    if found:
        return found
    link = _JOB_LINK.search(content)
    return link.group(1).lower() if link and _UUID_EXACT.match(link.group(1)) else None


def _mentioned_user(message: Mapping[str, Any], content: str, info: ContentInfo | None) -> str | None:
    """The invoking user: the mention after the ``** - `` separator (a prompt may mention someone too),
    else the first mention anywhere, else ``mentions[0]``."""
    if info is not None and info.user_id:
        return info.user_id
    match = _MENTION.search(content)
    if match:
        return match.group(1)
    mentions = _list(message.get("mentions"))
    return _str(_dict(mentions[0]).get("id")) if mentions else None


def extract_keys(message: Mapping[str, Any]) -> MessageKeys:
    """Every correlation key the message carries. Never raises; missing ids become None / ""."""
    message = _dict(message)
    metadata = _dict(message.get("interaction_metadata"))
    legacy = _dict(message.get("interaction"))
    raw_content = message.get("content")
    content = raw_content if isinstance(raw_content, str) else ""
    reference = _dict(message.get("message_reference"))
    info = parse_content(content)
    return MessageKeys(
        message_id=_str(message.get("id")) or "",
        channel_id=_str(message.get("channel_id")) or "",
        author_id=_str(_dict(message.get("author")).get("id")),
        nonce=_str(message.get("nonce")),
        interaction_id=_str(metadata.get("id")) or _str(legacy.get("id")),
        interaction_name=_str(metadata.get("name")) or _str(legacy.get("name")),
        interaction_user_id=(_str(_dict(metadata.get("user")).get("id")) or _str(metadata.get("user_id"))
                             or _str(_dict(legacy.get("user")).get("id"))),
        interacted_message_id=_str(metadata.get("interacted_message_id")),
        triggering_interaction_id=_str(_dict(metadata.get("triggering_interaction_metadata")).get("id")),
        referenced_message_id=(_str(reference.get("message_id"))
                               or _str(_dict(message.get("referenced_message")).get("id"))),
        mentioned_user_id=_mentioned_user(message, content, info),
        job_hash=_job_hash(message, content),
        prompt=info.prompt if info else None,
        flags=_int(message.get("flags")) or 0,
    )


# ---------------------------------------------------------------------------------------------------
# embeds (§17)

_MODERATED = FailureCategory.MODERATED
_INVALID = FailureCategory.INVALID
_RETRYABLE = FailureCategory.RETRYABLE

_FAILURE_TITLES: dict[str, FailureCategory] = {
    "Banned prompt detected": _MODERATED,
    "Banned prompt": _MODERATED,
    "Request cancelled due to output filters": _MODERATED,
    "Request cancelled due to image filters": _MODERATED,
    "Image denied": _MODERATED,
    "Action needed to continue": _MODERATED,
    "Invalid parameter": _INVALID,
    "Invalid prompt": _INVALID,
    "Invalid link": _INVALID,
    "Invalid link!": _INVALID,
    "Duplicate images detected": _INVALID,
    "Queue full": _RETRYABLE,
    "Internal error": _RETRYABLE,
    "Something went wrong": _RETRYABLE,
    "Sorry! Something went wrong": _RETRYABLE,
    "Internal server error": _RETRYABLE,
    "Could not complete": _RETRYABLE,
}
_NOTICE_TITLES: dict[str, NoticeKind] = {
    "Job queued": NoticeKind.JOB_QUEUED,
    "Pending mod message": NoticeKind.PENDING_MOD,
    "Blocked": NoticeKind.BLOCKED,
    "Plan Cancelled": NoticeKind.SUBSCRIPTION,
    "Subscription paused": NoticeKind.SUBSCRIPTION,
    "Subscription required": NoticeKind.SUBSCRIPTION,
    "Credits exhausted": NoticeKind.CREDITS_EXHAUSTED,
    "Tos not accepted": NoticeKind.TOS,
    "Action required to continue": NoticeKind.CAPTCHA,  # captcha iframe title, in case it comes as an embed
}
_FAILURE_TITLES_CI = {k.lower(): v for k, v in _FAILURE_TITLES.items()}
_NOTICE_TITLES_CI = {k.lower(): v for k, v in _NOTICE_TITLES.items()}

# Fallback keywords on the title (then description), in priority order.
_KEYWORDS: tuple[tuple[str, FailureCategory], ...] = (
    ("banned", _MODERATED), ("denied", _MODERATED), ("filter", _MODERATED),
    ("community standards", _MODERATED),
    ("invalid", _INVALID), ("duplicate", _INVALID), ("unrecognized parameter", _INVALID),
    ("queue full", _RETRYABLE), ("error", _RETRYABLE), ("went wrong", _RETRYABLE),
)
_HUMAN = re.compile(r"verify (?:you['’]re|you are) (?:a )?human", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EmbedInfo:
    title: str
    description: str
    color: int | None
    footer: str | None
    image: Attachment | None


def _embed(data: object) -> EmbedInfo | None:
    raw = _dict(data)
    if not raw:
        return None
    image = _dict(raw.get("image"))
    url = _str(image.get("url")) or _str(image.get("proxy_url"))
    attachment = Attachment(url=url, filename=_filename_of(url), proxy_url=_str(image.get("proxy_url")),
                            width=_int(image.get("width")), height=_int(image.get("height"))) if url else None
    return EmbedInfo(title=(_str(raw.get("title")) or "").strip(),
                     description=_str(raw.get("description")) or "", color=_int(raw.get("color")),
                     footer=_str(_dict(raw.get("footer")).get("text")), image=attachment)


def _keyword_category(text: str) -> FailureCategory | None:
    lowered = text.lower()
    return next((category for word, category in _KEYWORDS if word in lowered), None)


def classify_embed(keys: MessageKeys, embed: EmbedInfo) -> JobFailed | JobNotice | None:
    """§17: exact title (case-sensitive, then insensitive), then colour (red = failure), then keywords."""
    title, description, footer = embed.title, embed.description, embed.footer

    def notice(kind: NoticeKind) -> JobNotice:
        return JobNotice(keys, kind=kind, title=title, description=description, footer=footer)

    def failed(category: FailureCategory) -> JobFailed:
        return JobFailed(keys, title=title, description=description, category=category, footer=footer)

    if "continue" in title.lower() and _HUMAN.search(description):
        return notice(NoticeKind.CAPTCHA)
    if title in _NOTICE_TITLES:
        return notice(_NOTICE_TITLES[title])
    if title in _FAILURE_TITLES:
        return failed(_FAILURE_TITLES[title])
    if title.startswith("Your info"):
        return notice(NoticeKind.INFO)
    if title.lower() in _NOTICE_TITLES_CI:
        return notice(_NOTICE_TITLES_CI[title.lower()])
    if title.lower() in _FAILURE_TITLES_CI:
        return failed(_FAILURE_TITLES_CI[title.lower()])
    if embed.color == COLOR_RED:
        return failed(_keyword_category(title) or _keyword_category(description) or FailureCategory.UNKNOWN)
    by_title = _keyword_category(title)
    if by_title is not None:
        return failed(by_title)
    if embed.color in WARNING_COLORS and (title or description):
        return notice(NoticeKind.OTHER)
    return None


# ---------------------------------------------------------------------------------------------------
# describe / shorten results (§15)

_SHORTEN_FOOTER = "imagine one of the shortened prompts"
_RESULT_COMMANDS = {"describe": JobKind.DESCRIBE, "shorten": JobKind.SHORTEN}


def _keycap_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if len(line) > 2 and line[1:3] == KEYCAP_SUFFIX]


def split_options(description: str) -> list[str]:
    """The numbered options of a describe/shorten result, keycap and surrounding spaces removed."""
    return [line[3:].strip() for line in _keycap_lines(description)]


def _result_kind(keys: MessageKeys, embed: EmbedInfo) -> JobKind | None:
    """Describe/shorten results: by interaction name first, else by footer, else by shape."""
    name = (keys.interaction_name or "").strip().lower()
    if name in _RESULT_COMMANDS:
        return _RESULT_COMMANDS[name] if _keycap_lines(embed.description) else None
    if embed.footer and _SHORTEN_FOOTER in embed.footer.lower():
        return JobKind.SHORTEN
    if embed.image is not None and len(_keycap_lines(embed.description)) >= 2 and not embed.title:
        return JobKind.DESCRIBE
    return None


# ---------------------------------------------------------------------------------------------------
# the message → event entry point


def parse_message(message: Mapping[str, Any], *, update: bool = False) -> MjEvent | None:
    """Turn one bot message into an event, or None when it says nothing about a job.

    ``update``: the message came from MESSAGE_UPDATE. Discord may send partial updates (embed unfurls:
    no ``content`` key); those are not read as "empty content" but only for their embeds.
    """
    if not isinstance(message, Mapping):
        return None
    try:
        return _parse(message, update=update)
    except (TypeError, ValueError, AttributeError, KeyError):  # odd input must never kill the gateway loop
        return None


def _parse(message: Mapping[str, Any], *, update: bool) -> MjEvent | None:
    keys = extract_keys(message)
    if not keys.message_id:
        return None
    for raw_embed in _list(message.get("embeds")):
        embed = _embed(raw_embed)
        if embed is None:
            continue
        event = _embed_event(keys, embed, message)
        if event is not None:
            return event
    if update and "content" not in message:
        return None
    content = message.get("content")
    if isinstance(content, str) and content.lstrip().startswith("Failed"):
        return JobFailed(keys, description=content.strip(), category=FailureCategory.UNKNOWN)
    placeholder = _placeholder(keys, message)
    if placeholder is not None:
        return placeholder
    info = parse_content(content)
    return _job_event(keys, info, message) if info else None


def _embed_event(keys: MessageKeys, embed: EmbedInfo, message: Mapping[str, Any]) -> MjEvent | None:
    kind = _result_kind(keys, embed)
    if kind is not None:
        return JobCompleted(keys, prompt=embed.description, content=embed.description, image=embed.image,
                            buttons=extract_buttons(message), kind=kind)
    return classify_embed(keys, embed)


def _placeholder(keys: MessageKeys, message: Mapping[str, Any]) -> JobStarted | None:
    """The empty deferred response of /describe and /shorten: the job exists, the result comes as an
    update of this message (§6.11, §6.13)."""
    kind = _RESULT_COMMANDS.get((keys.interaction_name or "").strip().lower())
    content = message.get("content")
    if kind is None or (isinstance(content, str) and content.strip()) or _list(message.get("embeds")):
        return None
    return JobStarted(keys, kind=kind)


def _job_event(keys: MessageKeys, info: ContentInfo, message: Mapping[str, Any]) -> MjEvent | None:
    if info.stopped:
        return JobFailed(keys, description="Stopped", category=FailureCategory.RETRYABLE)
    if info.waiting:
        return JobStarted(keys, prompt=info.prompt, kind=info.kind)
    if info.percent is not None or info.paused:
        preview = first_media(message)
        return JobProgress(keys, prompt=info.prompt, percent=info.percent, preview=preview, mode=info.mode,
                           kind=info.kind)
    image = first_media(message)
    buttons = extract_buttons(message)
    finished_words = info.mode is not None or info.index is not None or (
        info.kind is JobKind.UPSCALE and info.variant is not None)
    if image is not None and (buttons or finished_words):
        return JobCompleted(keys, prompt=info.prompt, content=message.get("content") or "", image=image,
                            buttons=buttons, mode=info.mode, kind=info.kind, index=info.index,
                            variant=info.variant)
    return None


# ---------------------------------------------------------------------------------------------------
# interaction events (discord.md §3.2)

_PHASES = {
    "INTERACTION_CREATE": InteractionPhase.CREATED,
    "INTERACTION_SUCCESS": InteractionPhase.SUCCEEDED,
    "INTERACTION_FAILURE": InteractionPhase.FAILED,
    "INTERACTION_MODAL_CREATE": InteractionPhase.MODAL,
    "INTERACTION_IFRAME_MODAL_CREATE": InteractionPhase.IFRAME_MODAL,
}


def _text_inputs(data: Mapping[str, Any]) -> list[dict[str, str]]:
    inputs: list[dict[str, str]] = []
    for row in _list(data.get("components")):
        for item in _list(_dict(row).get("components")):
            component = _dict(item)
            if component.get("type") == 4 and _str(component.get("custom_id")):
                inputs.append({"custom_id": _str(component.get("custom_id")) or "",
                               "value": _str(component.get("value")) or ""})
    return inputs


def parse_interaction_event(event_name: str, data: Mapping[str, Any]) -> InteractionEvent | None:
    """INTERACTION_* dispatch → InteractionEvent; None for other events or payloads without an id.

    ``extra`` carries what the engine needs from modals: ``channel_id``, ``title``, ``inputs`` (the text
    inputs with their prefills), ``input_custom_id``/``value`` of the first one, ``iframe_path``,
    ``modal_size`` and ``application_id``.
    """
    phase = _PHASES.get(event_name)
    data = _dict(data)
    interaction_id = _str(data.get("id"))
    if phase is None or interaction_id is None:
        return None
    extra: dict[str, object] = {}
    for key in ("channel_id", "title", "iframe_path"):
        if _str(data.get(key)):
            extra[key] = _str(data.get(key))
    if data.get("modal_size") is not None:
        extra["modal_size"] = data.get("modal_size")
    application_id = _str(_dict(data.get("application")).get("id")) or _str(data.get("application_id"))
    if application_id:
        extra["application_id"] = application_id
    inputs = _text_inputs(data)
    if inputs:
        extra["inputs"] = inputs
        extra["input_custom_id"] = inputs[0]["custom_id"]
        extra["value"] = inputs[0]["value"]
    return InteractionEvent(phase=phase, interaction_id=interaction_id, nonce=_str(data.get("nonce")),
                            reason_code=_int(data.get("reason_code")), custom_id=_str(data.get("custom_id")),
                            extra=extra)


# ---------------------------------------------------------------------------------------------------
# /info (§14)


def parse_info_embed(description: str | None) -> dict[str, str]:
    """``**Key**: value`` lines → {key: value}; split at the first ``:``, ``**`` and padding stripped."""
    result: dict[str, str] = {}
    for line in (description or "").split("\n"):
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.replace("**", "").strip()
        if key:
            result[key] = value.replace("**", "").strip()
    return result


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """The /info embed, typed. Fields stay None when the line is missing or unreadable."""

    user_id: str | None = None
    subscription: str | None = None
    job_mode: Mode | None = None
    visibility: str | None = None
    fast_time_remaining_hours: float | None = None
    fast_time_total_hours: float | None = None
    lifetime_usage: str | None = None
    relaxed_usage: str | None = None
    queued_fast: int | None = None
    queued_relax: int | None = None
    running_jobs: int | None = None
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def has_subscription(self) -> bool:
        return bool(self.subscription) and not (self.subscription or "").lower().startswith("none")


_HOURS = re.compile(r"^([\d.]+)\s*/\s*([\d.]+)\s*hours?", re.IGNORECASE)
_MINUTES = re.compile(r"^([\d.]+)\s*minutes?", re.IGNORECASE)
_PLAIN_HOURS = re.compile(r"^([\d.]+)\s*hours?", re.IGNORECASE)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _fast_time(value: str | None) -> tuple[float | None, float | None]:
    """"29.57/30.0 hours (98.58%)" → (29.57, 30.0); "25.00 minutes" → (0.4167, None)."""
    if not value:
        return None, None
    match = _HOURS.match(value)
    if match:
        return _float(match.group(1)), _float(match.group(2))
    match = _MINUTES.match(value)
    if match:
        minutes = _float(match.group(1))
        return (round(minutes / 60, 4) if minutes is not None else None), None
    match = _PLAIN_HOURS.match(value)
    return (_float(match.group(1)) if match else None), None


def _count(value: str | None) -> int | None:
    """"0" → 0; "None" → 0; a list of job ids → how many."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    if not value or value.lower() == "none":
        return 0
    return len([part for part in re.split(r"[,\s]+", value) if part])


def parse_account_info(description: str | None) -> AccountInfo:
    fields = parse_info_embed(description)
    remaining, total = _fast_time(fields.get("Fast Time Remaining"))
    return AccountInfo(
        user_id=fields.get("User ID"),
        subscription=fields.get("Subscription"),
        job_mode=mode_from_word(fields.get("Job Mode")),
        visibility=fields.get("Visibility Mode"),
        fast_time_remaining_hours=remaining,
        fast_time_total_hours=total,
        lifetime_usage=fields.get("Lifetime Usage"),
        relaxed_usage=fields.get("Relaxed Usage"),
        queued_fast=_count(fields.get("Queued Jobs (fast)")),
        queued_relax=_count(fields.get("Queued Jobs (relax)")),
        running_jobs=_count(fields.get("Running Jobs")),
        raw=fields,
    )


# ---------------------------------------------------------------------------------------------------
# small texts the account runtime reads (§6.17, §6.18)

_SEED_DM = re.compile(r"\*\*Job ID\*\*:\s*([a-f0-9-]{36})\s*\*\*seed\*\*\s*(\d+)")


def parse_seed_dm(content: str | None) -> tuple[str, str] | None:
    """The ✉️ seed DM → (job id, seed)."""
    match = _SEED_DM.search(content or "")
    return (match.group(1), match.group(2)) if match else None


def parse_remix_toggle(content: str | None) -> bool | None:
    """"Remix mode turned on!" → True, "…off!" → False, anything else → None."""
    text = content or ""
    if text.startswith("Remix mode turned on"):
        return True
    if text.startswith("Remix mode turned off"):
        return False
    return None
