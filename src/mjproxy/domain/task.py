"""The task: what a client asked for and everything we learnt while Midjourney worked on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    NOT_START = "NOT_START"
    MODAL = "MODAL"
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCEL = "CANCEL"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL})
UNFINISHED_STATUSES = frozenset({TaskStatus.NOT_START, TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS})


class TaskAction(StrEnum):
    IMAGINE = "IMAGINE"
    UPSCALE = "UPSCALE"
    VARIATION = "VARIATION"
    REROLL = "REROLL"
    ZOOM = "ZOOM"
    PAN = "PAN"
    DESCRIBE = "DESCRIBE"
    BLEND = "BLEND"
    SHORTEN = "SHORTEN"
    SWAP_FACE = "SWAP_FACE"
    BOOKMARK = "BOOKMARK"  # ❤️ on an upscale: no image job, done when the bot acknowledges the click


class BotType(StrEnum):
    MID_JOURNEY = "MID_JOURNEY"
    NIJI_JOURNEY = "NIJI_JOURNEY"
    INSIGHT_FACE = "INSIGHT_FACE"


@dataclass(slots=True)
class Button:
    """One clickable button of a finished Midjourney message (link buttons are never kept)."""

    custom_id: str
    label: str = ""
    emoji: str = ""
    type: int = 2
    style: int = 2

    def to_json(self) -> dict[str, Any]:
        return {"customId": self.custom_id, "emoji": self.emoji, "label": self.label,
                "type": self.type, "style": self.style}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Button:
        return cls(custom_id=str(data["customId"]), label=str(data.get("label") or ""),
                   emoji=str(data.get("emoji") or ""), type=int(data.get("type") or 2),
                   style=int(data.get("style") or 2))


@dataclass(slots=True)
class Task:
    """A unit of Midjourney work. Field names follow the midjourney-proxy Task JSON where one exists."""

    id: str
    action: TaskAction
    status: TaskStatus = TaskStatus.NOT_START
    bot_type: BotType = BotType.MID_JOURNEY
    prompt: str = ""
    prompt_en: str = ""
    description: str = ""
    state: str | None = None
    notify_hook: str | None = None

    # times, epoch milliseconds
    submit_time: int = 0
    start_time: int | None = None
    finish_time: int | None = None

    progress: str = ""
    image_url: str | None = None
    fail_reason: str | None = None
    buttons: list[Button] = field(default_factory=list)
    # The four images of a grid once re-hosted: [{"url", "thumbnail", "index"}], index 1..4 = U1..U4.
    image_urls: list[dict[str, Any]] = field(default_factory=list)

    # where it runs and how we recognise its messages (DESIGN invariant 3)
    account_id: str | None = None
    nonce: str | None = None
    interaction_id: str | None = None
    progress_message_id: str | None = None
    message_id: str | None = None
    message_hash: str | None = None
    message_flags: int = 0
    final_prompt: str | None = None
    message_content: str | None = None
    referenced_message_id: str | None = None
    parent_id: str | None = None

    # engine bookkeeping
    deadline_ms: int | None = None
    queued_by_midjourney: bool = False
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def progress_percent(self) -> int:
        text = self.progress.rstrip("%")
        return int(text) if text.isdigit() else 0


# What midjourney-proxy answers before a job starts; clients draw a progress bar from it (issue 11 §4).
_NOT_STARTED = frozenset({"NOT_START", "SUBMITTED", "MODAL", "IN_PROGRESS"})
# The prompt results midjourney-proxy "plus" translates; we do not translate, so the text is the result itself.
_TEXT_RESULTS = frozenset({"DESCRIBE", "SHORTEN"})


def task_json(task: Task) -> dict[str, Any]:
    """The midjourney-proxy Task JSON: the body of fetch, list and notify hooks.

    Shaped as midjourney-proxy answers, because its clients depend on it: every scalar field is present
    (nulls included); ``imageUrls`` is null when there is nothing in it (an empty list is truthy in
    JavaScript, and chat front ends then draw an empty gallery instead of ``imageUrl``); ``buttons`` stays a
    list, which they iterate; ``progress`` is ``0%`` until Midjourney reports more, ``""`` on failure; and
    ``properties`` always carries the keys those clients read (``finalPrompt``, ``finalZhPrompt``, …).
    """
    properties: dict[str, Any] = {
        "notifyHook": task.notify_hook,
        "nonce": task.nonce,
        "discordInstanceId": task.account_id,
        "finalPrompt": task.final_prompt,
        "progressMessageId": task.progress_message_id,
        "messageId": task.message_id,
        "messageHash": task.message_hash,
        "flags": task.message_flags,
        "referencedMessageId": task.referenced_message_id,
        "botType": task.bot_type.value,
        "messageContent": task.message_content,
        "finalZhPrompt": task.final_prompt if task.action.value in _TEXT_RESULTS else None,
    }
    for key, value in task.extra.items():
        if key.startswith("_"):
            continue  # internal bookkeeping never reaches the wire
        properties.setdefault(key, value)
    return {
        "id": task.id,
        "action": task.action.value,
        "status": task.status.value,
        "prompt": task.prompt,
        "promptEn": task.prompt_en,
        "description": task.description,
        "state": task.state,
        "submitTime": task.submit_time,
        "startTime": task.start_time,
        "finishTime": task.finish_time,
        "imageUrl": task.image_url,
        "imageUrls": list(task.image_urls) or None,
        "progress": task.progress or ("0%" if task.status.value in _NOT_STARTED else ""),
        "failReason": task.fail_reason,
        "botType": task.bot_type.value,
        "buttons": [button.to_json() for button in task.buttons],
        "parentId": task.parent_id,
        "properties": properties,
    }
