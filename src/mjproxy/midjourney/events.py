"""Typed events produced from the Midjourney bot's Discord traffic.

``midjourney/messages.py`` turns a raw Discord message into one of these (pure, no I/O); the account
runtime turns gateway interaction events into ``Interaction*`` events; ``engine/tracker.py`` correlates
them with tasks through the keys in :class:`MessageKeys`, in the order of DESIGN invariant 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..domain.task import Button


@dataclass(frozen=True, slots=True)
class MessageKeys:
    """Every correlation key a bot message can carry (``midjourney-bot.md`` §18.1)."""

    message_id: str
    channel_id: str
    author_id: str | None = None
    nonce: str | None = None
    interaction_id: str | None = None  # interaction_metadata.id, else legacy interaction.id
    interaction_name: str | None = None  # "imagine", "blend", "describe", …
    interaction_user_id: str | None = None
    interacted_message_id: str | None = None  # interaction_metadata.interacted_message_id
    triggering_interaction_id: str | None = None  # modal submits: the click that opened the modal
    referenced_message_id: str | None = None  # message_reference.message_id
    mentioned_user_id: str | None = None  # <@U> in the content
    job_hash: str | None = None  # uuid from the attachment name
    prompt: str | None = None  # the echoed prompt between the first ** … **
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Attachment:
    url: str
    filename: str
    proxy_url: str | None = None
    width: int | None = None
    height: int | None = None
    content_type: str | None = None
    size: int | None = None


class JobKind(StrEnum):
    """What the bot says a job is, read from the message content."""

    IMAGINE = "imagine"  # imagine, reroll, blend, describe/shorten picks: "**P** - <@U> (…)"
    VARIATION = "variation"  # "Variations (Strong) by", "Remix by", …
    UPSCALE = "upscale"  # "Image #N" or "Upscaled (…) by"
    ZOOM = "zoom"
    PAN = "pan"
    DESCRIBE = "describe"  # describe result: JobCompleted.content = the embed description (4 keycap prompts)
    SHORTEN = "shorten"  # shorten result: JobCompleted.content = the embed description (5 keycap options)
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MjEvent:
    keys: MessageKeys


@dataclass(frozen=True, slots=True)
class JobStarted(MjEvent):
    """The "(Waiting to start)" message: the job exists and has a progress message."""

    prompt: str = ""
    kind: JobKind = JobKind.IMAGINE


@dataclass(frozen=True, slots=True)
class JobProgress(MjEvent):
    """A progress update; ``percent`` is None for "(paused)"."""

    prompt: str = ""
    percent: int | None = None
    preview: Attachment | None = None
    mode: str | None = None
    kind: JobKind = JobKind.IMAGINE


@dataclass(frozen=True, slots=True)
class JobCompleted(MjEvent):
    """A finished job: an image attachment and (usually) buttons."""

    prompt: str = ""
    content: str = ""
    image: Attachment | None = None
    buttons: tuple[Button, ...] = ()
    mode: str | None = None
    kind: JobKind = JobKind.IMAGINE
    index: int | None = None  # "Image #N"
    variant: str | None = None  # "Strong", "Subtle", "Region", "Creative", "Left", …


class FailureCategory(StrEnum):
    MODERATED = "moderated"  # banned prompt, output filters, "Action needed to continue"
    INVALID = "invalid"  # invalid parameter / prompt / link, duplicate images
    RETRYABLE = "retryable"  # queue full, internal error, stopped
    ACCOUNT = "account"  # pending mod, blocked, subscription, credits, ToS, captcha
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class JobFailed(MjEvent):
    """A red embed (or a "Failed…" content) that ends the job it belongs to."""

    title: str = ""
    description: str = ""
    category: FailureCategory = FailureCategory.UNKNOWN
    footer: str | None = None  # often "/imagine <prompt>", a last-resort correlation key

    @property
    def reason(self) -> str:
        """The failReason text midjourney-proxy clients expect: ``[<title>] <description>``."""
        if self.title:
            return f"[{self.title}] {self.description}".strip()
        return self.description


class NoticeKind(StrEnum):
    JOB_QUEUED = "job_queued"  # informational: the job waits for a Midjourney slot
    PENDING_MOD = "pending_mod"
    BLOCKED = "blocked"
    SUBSCRIPTION = "subscription"
    CREDITS_EXHAUSTED = "credits_exhausted"
    TOS = "tos"
    CAPTCHA = "captcha"
    INFO = "info"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class JobNotice(MjEvent):
    """A non-fatal notice tied to a job ("Job queued") or an account-level notice."""

    kind: NoticeKind = NoticeKind.OTHER
    title: str = ""
    description: str = ""
    footer: str | None = None


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    message_id: str
    channel_id: str


class InteractionPhase(StrEnum):
    CREATED = "created"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MODAL = "modal"
    IFRAME_MODAL = "iframe_modal"


@dataclass(frozen=True, slots=True)
class InteractionEvent:
    """INTERACTION_CREATE / SUCCESS / FAILURE / MODAL_CREATE / IFRAME_MODAL_CREATE."""

    phase: InteractionPhase
    interaction_id: str
    nonce: str | None
    reason_code: int | None = None
    custom_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionReplaced:
    """The gateway had to start a new session (IDENTIFY, not RESUME): whatever was dispatched in between is
    lost for good, so results of running jobs must be looked up in the channel history."""

    account_id: str


AccountEvent = MjEvent | MessageDeleted | InteractionEvent | SessionReplaced
