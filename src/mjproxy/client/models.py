"""The wire types of the ``/mj`` dialect as pydantic models: what the server answers, typed.

Field names are the dialect's (camelCase) so that ``model_dump(by_alias=True)`` gives back exactly the JSON
the server sent; Python code reads them by their snake_case names. Unknown fields are kept (``extra="allow"``):
a newer server may add some, and a client library must not drop them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True,
                              alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel))


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
        return self in (TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL)


class Button(_Wire):
    """A button of a finished task; press it with ``client.action(task.id, button.custom_id)``."""

    custom_id: str
    label: str = ""
    emoji: str = ""
    type: int = 2
    style: int = 2

    @property
    def name(self) -> str:
        """What a person calls it: the label (U2, Vary (Strong) …), else the emoji (🔄, ⬅️ …)."""
        return self.label or self.emoji


class SplitImage(_Wire):
    """One of a grid's four images once the server has stored them (index 1..4 = U1..U4)."""

    index: int
    url: str
    thumbnail: str | None = None


class Task(_Wire):
    """The midjourney-proxy Task JSON, as ``GET /mj/task/{id}/fetch`` answers it."""

    id: str
    action: str
    status: TaskStatus
    prompt: str = ""
    prompt_en: str = ""
    description: str = ""
    state: str | None = None
    submit_time: int | None = None
    start_time: int | None = None
    finish_time: int | None = None
    image_url: str | None = None
    image_urls: list[SplitImage] = Field(default_factory=list)
    progress: str = ""
    fail_reason: str | None = None
    bot_type: str | None = None
    buttons: list[Button] = Field(default_factory=list)
    parent_id: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    image_base64: str | None = None  # only with fetch(…, with_base64=True)

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    @property
    def progress_percent(self) -> int:
        """``"42%"`` as 42; 100 once the task succeeded."""
        if self.status == TaskStatus.SUCCESS:
            return 100
        text = self.progress.rstrip("%").strip()
        return int(text) if text.isdigit() else 0

    @property
    def final_prompt(self) -> str | None:
        value = self.properties.get("finalPrompt")
        return str(value) if value is not None else None

    def raise_for_outcome(self) -> Task:
        """This task if it succeeded; ``TaskFailed`` / ``TaskCancelled`` if it ended otherwise."""
        from .errors import TaskCancelled, TaskFailed

        if self.status == TaskStatus.CANCEL:
            raise TaskCancelled(self)
        if self.status == TaskStatus.FAILURE:
            raise TaskFailed(self)
        return self

    def button(self, name: str) -> Button:
        """The button called ``name`` (label or emoji, as shown on Discord), else the customId itself.

        Raises ``KeyError`` naming the buttons the task has.
        """
        for candidate in self.buttons:
            if name in (candidate.label, candidate.emoji, candidate.custom_id):
                return candidate
        for candidate in self.buttons:  # forgiving second pass: "u2" for "U2", "vary (strong)" …
            if name.casefold() == candidate.name.casefold():
                return candidate
        have = ", ".join(b.name for b in self.buttons) or "none"
        raise KeyError(f"task {self.id} has no button {name!r} (it has: {have})")


class SubmitResult(_Wire):
    """SubmitResultVO: the answer of every ``/mj/submit/*`` route that the server accepted.

    ``code`` is 1 (submitted), 21 (a two-step action: ``result`` is a task in status MODAL, confirm it with
    ``client.modal``) or 22 (accepted, waiting in a queue). Every other code is raised as an exception.
    """

    code: int
    description: str = ""
    result: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @property
    def task_id(self) -> str:
        if self.result is None:
            raise ValueError(f"the answer carries no task id (code {self.code}: {self.description})")
        return self.result

    @property
    def needs_modal(self) -> bool:
        return self.code == 21

    @property
    def queued(self) -> bool:
        return self.code == 22

    @property
    def task_ids(self) -> list[str]:
        """Every task the submission started: describe's 🎉 Imagine all starts four."""
        more = self.properties.get("taskIds")
        if isinstance(more, list) and more:
            return [str(item) for item in more]
        return [self.task_id]


class TaskPage(_Wire):
    """One page of ``GET /mj/task/list``, newest first; ``total`` comes from ``X-Total-Count``."""

    tasks: list[Task]
    total: int
    page: int
    size: int


class CancelResult(_Wire):
    code: int
    description: str = ""
    result: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class Account(_Wire):
    """A Discord account as the admin API shows it (the token is always masked)."""

    id: str
    name: str = ""
    guild_id: str = ""
    channel_id: str = ""
    user_token: str = ""
    enable: bool = True
    core_size: int = 0
    queue_size: int = 0
    state: str = ""
    reason: str | None = None
    since: int | None = None
    running: int = 0
    queued: int = 0
    jobs_today: int = 0
    modes: list[str] = Field(default_factory=list)
    remark: str = ""
    fast_exhausted: bool = False
    profile: dict[str, Any] | None = None


class ApiKey(_Wire):
    """An API key's public record (never the key itself, except once in ``CreatedApiKey``)."""

    id: str
    name: str = ""
    scope: str
    hint: str = ""
    created_at: int | None = None
    revoked_at: int | None = None
    active: bool = True


class CreatedApiKey(ApiKey):
    key: str


class CallbackDelivery(_Wire):
    """One notify-hook event of a task and how its delivery went."""

    event_id: str
    task_id: str
    sequence: int
    url: str
    task_status: str | None = None
    status: str
    attempts: int = 0
    last_http_status: int | None = None
    last_error: str | None = None
    created_time: int | None = None
    delivered_time: int | None = None


class TaskEvent(_Wire):
    """One event of a task stream: ``event`` is status, progress, success, failure or cancel."""

    event: str
    id: str | None = None
    task: Task
