"""Tasks seen as useapi.net jobs: the job JSON of a task, its job status, and why a failed job failed.

A job IS a task: the jobid is the task id, so both dialects read and drive the same work. Everything a
job needs beyond the Task JSON (verb, maxJobs, replyRef, the pressed button, children, ...) lives in the
task's public properties, so a callback can render the job from a task snapshot alone.
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..domain.ids import snowflake_time_ms
from ..domain.secrets import mask_secret
from ..domain.task import TaskAction, TaskStatus
from ..midjourney.events import FailureCategory, JobFailed, JobNotice, MessageKeys, NoticeKind
from ..midjourney.messages import EmbedInfo, classify_embed

FORMAT = "useapi"  # properties.notifyFormat of the tasks this dialect creates

# Public task properties (shown in the /mj Task JSON too; they are the job's own fields).
VERB = "verb"
MAX_JOBS = "maxJobs"
REPLY_REF = "replyRef"
BUTTON = "button"
CHILDREN = "children"
DISCORD = "discord"  # the account's token, masked
SERVER = "server"
NOTIFY_FORMAT = "notifyFormat"
DESCRIBE_URL = "describeUrl"
BLEND_URLS = "blendUrls"
BLEND_DIMENSIONS = "blendDimensions"

_REASON = re.compile(r"^\[(?P<title>[^\]]*)\]\s*(?P<description>.*)$", re.DOTALL)


class JobStatus(StrEnum):
    CREATED = "created"
    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"
    MODERATED = "moderated"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.MODERATED, JobStatus.CANCELLED}


class FailureKind(StrEnum):
    """Why a job failed, as far as the dialect's HTTP codes care."""

    MODERATED = "moderated"  # 422: moderation or invalid prompt parameters
    PENDING_MOD = "pending_mod"  # 596: a pending moderation message or a captcha on the account
    SUBSCRIPTION = "subscription"  # 402
    JOB_QUEUED = "job_queued"  # 504: Midjourney queued it beyond our tracking
    DISCORD_RATE_LIMITED = "discord_rate_limited"  # 429: Discord kept refusing the interaction
    OTHER = "other"


PENDING_MOD_ERROR = ("Your Discord account has received a pending moderation message from Midjourney. Please address "
                     "this issue and POST account/midjourney/{channel}/reset before making any new API calls.")
SUBSCRIPTION_ERROR = "Account has no subscription or subscription expired"


class JobRefused(Exception):
    """A job request the engine refuses, with useapi's HTTP status and fields (``executingJobs``, …).

    The /v2 face answers it as ``{"error": <text>, …fields, "code": <status>}``.
    """

    def __init__(self, status: int, error: str, /, **fields: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields


def job_not_found(jobid: str) -> JobRefused:
    return JobRefused(404, f"Unable to locate job {jobid}")


def mask_token(token: str | None) -> str:
    """useapi's masking: the first and last three characters only (short tokens are hidden entirely)."""
    return mask_secret(token, "…secured…")


def split_reason(reason: str | None) -> tuple[str, str]:
    """A failReason ``[Title] description`` as (title, description); a plain reason has no title."""
    match = _REASON.match(reason or "")
    if match is None:
        return "", reason or ""
    return match.group("title").strip(), match.group("description").strip()


def failure_kind(reason: str | None) -> FailureKind:
    """Classify a failed task by the Midjourney embed its reason quotes (the same table the tracker uses)."""
    title, description = split_reason(reason)
    if not title:
        # midjourney/account/sender.py's wording for a 429 that outlived the REST client's retries
        rate_limited = (reason or "").startswith("Discord rate limit persisted")
        return FailureKind.DISCORD_RATE_LIMITED if rate_limited else FailureKind.OTHER
    if title == "Job queued":
        return FailureKind.JOB_QUEUED
    verdict = classify_embed(MessageKeys(message_id="", channel_id=""),
                             EmbedInfo(title=title, description=description, color=None, footer=None, image=None))
    if isinstance(verdict, JobFailed) and verdict.category in (FailureCategory.MODERATED, FailureCategory.INVALID):
        return FailureKind.MODERATED
    if isinstance(verdict, JobNotice):
        if verdict.kind in (NoticeKind.PENDING_MOD, NoticeKind.CAPTCHA, NoticeKind.TOS):
            return FailureKind.PENDING_MOD
        if verdict.kind == NoticeKind.SUBSCRIPTION:
            return FailureKind.SUBSCRIPTION
    return FailureKind.OTHER


def job_status(snapshot: dict[str, Any]) -> JobStatus:
    status = TaskStatus(snapshot["status"])
    if status == TaskStatus.SUCCESS:
        return JobStatus.COMPLETED
    if status == TaskStatus.CANCEL:
        return JobStatus.CANCELLED
    if status == TaskStatus.FAILURE:
        moderated = failure_kind(snapshot.get("failReason")) == FailureKind.MODERATED
        return JobStatus.MODERATED if moderated else JobStatus.FAILED
    if status == TaskStatus.IN_PROGRESS:
        return JobStatus.PROGRESS if _percent(snapshot) > 0 else JobStatus.STARTED
    return JobStatus.CREATED  # NOT_START, MODAL, SUBMITTED: not yet seen on Discord


def verb_of(snapshot: dict[str, Any]) -> str:
    verb = snapshot["properties"].get(VERB)
    if verb:
        return str(verb)
    action = snapshot["action"]
    if snapshot.get("parentId") and action != TaskAction.IMAGINE.value:
        return "button"  # a follow-up pressed through /mj
    return {TaskAction.BLEND.value: "blend", TaskAction.DESCRIBE.value: "describe"}.get(action, str(action).lower())


def iso_ms(epoch_ms: int | None) -> str | None:
    """``YYYY-MM-DDTHH:mm:ss.sssZ``, as useapi writes created/updated."""
    if not epoch_ms:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def discord_timestamp(message_id: str | None) -> str | None:
    """A Discord message's timestamp as Discord writes it; a snowflake carries its creation time."""
    if not message_id or not message_id.isdigit():
        return None
    moment = datetime.fromtimestamp(snowflake_time_ms(message_id) / 1000, tz=UTC)
    return moment.isoformat(timespec="microseconds")


def _percent(snapshot: dict[str, Any]) -> int:
    text = str(snapshot.get("progress") or "").rstrip("%")
    return int(text) if text.isdigit() else 0


def _content(snapshot: dict[str, Any], status: JobStatus) -> str | None:
    """Midjourney's message text: the final message as received; while running, the prompt and progress."""
    properties = snapshot["properties"]
    if status == JobStatus.COMPLETED:
        if snapshot["action"] in (TaskAction.DESCRIBE.value, TaskAction.SHORTEN.value):
            return str(snapshot.get("prompt") or "") or None
        return properties.get("messageContent") or None
    prompt = properties.get("finalPrompt") or snapshot.get("prompt")
    if status == JobStatus.STARTED and prompt:
        return f"**{prompt}** (Waiting to start)"
    if status == JobStatus.PROGRESS and prompt:
        return f"**{prompt}** ({_percent(snapshot)}%)"
    return None


def _attachments(snapshot: dict[str, Any], image_size: tuple[int, int] | None) -> list[dict[str, Any]]:
    url = snapshot.get("imageUrl")
    if not url or TaskStatus(snapshot["status"]) != TaskStatus.SUCCESS:
        return []
    filename = str(url).split("?", 1)[0].rsplit("/", 1)[-1]
    # url is our stored copy when images are re-hosted (docs/images.md); proxy_url keeps Discord's link.
    discord_url = snapshot.get("properties", {}).get("discordImageUrl") or url
    attachment: dict[str, Any] = {"url": url, "proxy_url": discord_url, "filename": filename,
                                  "content_type": mimetypes.guess_type(filename)[0] or "image/png"}
    if image_size is not None:
        attachment["width"], attachment["height"] = image_size
    return [attachment]


def render_job(snapshot: dict[str, Any], *, image_size: tuple[int, int] | None = None,
               child_message_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The job JSON of a task (the Task JSON snapshot): the body of GET /v2/jobs/?jobid= and of callbacks."""
    properties = snapshot["properties"]
    status = job_status(snapshot)
    message_id = properties.get("messageId") or properties.get("progressMessageId")
    updated = max(t for t in (snapshot.get("submitTime"), snapshot.get("startTime"), snapshot.get("finishTime"),
                              0) if t is not None)
    job: dict[str, Any] = {
        "jobid": snapshot["id"],
        "verb": verb_of(snapshot),
        "status": status.value,
        "created": iso_ms(snapshot.get("submitTime")),
        "updated": iso_ms(updated),
        "prompt": snapshot.get("promptEn") or snapshot.get("prompt") or None,
        "parentJobId": snapshot.get("parentId"),
        "button": properties.get(BUTTON),
        "discord": properties.get(DISCORD),
        "channel": properties.get("discordInstanceId"),
        "server": properties.get(SERVER),
        "maxJobs": properties.get(MAX_JOBS),
        "replyUrl": properties.get("notifyHook"),
        "replyRef": properties.get(REPLY_REF),
        "messageId": message_id,
        "content": _content(snapshot, status),
        "timestamp": discord_timestamp(message_id),
        "describeUrl": properties.get(DESCRIBE_URL),
        "blendUrls": properties.get(BLEND_URLS),
        "blendDimensions": properties.get(BLEND_DIMENSIONS),
    }
    if status == JobStatus.COMPLETED:
        job["attachments"] = _attachments(snapshot, image_size)
        split = snapshot.get("imageUrls") or []
        if split:  # the four images of a grid, as useapi's v3 imageUx (id 1..4 = U1..U4)
            job["imageUx"] = [{"id": image["index"], "url": image["url"]} for image in split]
        job["buttons"] = [b.get("label") or b.get("emoji") or b["customId"] for b in snapshot.get("buttons") or []]
    children = properties.get(CHILDREN)
    if children:
        # useapi's schema requires a child's messageId: a child is listed once Midjourney has answered it (one
        # cancelled or failed before that never reached a message, and is left out).
        ids = child_message_ids or {}
        listed = [{**child, "messageId": ids[child["jobid"]]} for child in children if child["jobid"] in ids]
        if listed:
            job["children"] = listed
    seed = properties.get("seed")
    if seed:
        job["seed"] = str(seed)
    if status in (JobStatus.FAILED, JobStatus.MODERATED, JobStatus.CANCELLED):
        title, description = split_reason(snapshot.get("failReason"))
        job["error"] = title or description or status.value
        if title and description:
            job["errorDetails"] = description
    job["code"] = 200
    return {key: value for key, value in job.items() if value is not None}
