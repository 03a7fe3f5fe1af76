from __future__ import annotations

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.engine.timeouts import timeout_reason


def task(status: TaskStatus, **fields: object) -> Task:
    made = Task(id="t", action=TaskAction.IMAGINE, status=status, prompt="p")
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def test_every_timeout_says_why() -> None:
    assert "never answered the submitted job" in timeout_reason(task(TaskStatus.SUBMITTED))
    assert "since 46%" in timeout_reason(task(TaskStatus.IN_PROGRESS, progress_message_id="m", progress="46%"))
    assert "kept the job queued" in timeout_reason(task(TaskStatus.SUBMITTED, queued_by_midjourney=True))
    # Taken back after a restart with its nonce stored but never confirmed by Discord.
    reason = timeout_reason(task(TaskStatus.NOT_START, nonce="123"))
    assert "proxy stopped while sending it" in reason and "not sent again" in reason
