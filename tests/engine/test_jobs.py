"""The job view of a task (engine/jobs.py): statuses, failure kinds, masking and the job JSON."""

from __future__ import annotations

import pytest

from mjproxy.domain.ids import DISCORD_EPOCH_MS
from mjproxy.domain.task import Button, Task, TaskAction, TaskStatus, task_json
from mjproxy.engine.jobs import (
    FailureKind,
    JobStatus,
    discord_timestamp,
    failure_kind,
    iso_ms,
    job_status,
    mask_token,
    render_job,
    split_reason,
)
from mjproxy.notify.formats import render_callback


def snapshot(**fields: object) -> dict[str, object]:
    task = Task(id="1700000000000001", action=TaskAction.IMAGINE, submit_time=1_694_225_089_667, prompt="cat",
                prompt_en="cat")
    for name, value in fields.items():
        setattr(task, name, value)
    return task_json(task)


@pytest.mark.parametrize(("status", "progress", "reason", "expected"), [
    (TaskStatus.NOT_START, "", None, JobStatus.CREATED),
    (TaskStatus.MODAL, "", None, JobStatus.CREATED),
    (TaskStatus.SUBMITTED, "0%", None, JobStatus.CREATED),
    (TaskStatus.IN_PROGRESS, "0%", None, JobStatus.STARTED),
    (TaskStatus.IN_PROGRESS, "46%", None, JobStatus.PROGRESS),
    (TaskStatus.SUCCESS, "100%", None, JobStatus.COMPLETED),
    (TaskStatus.CANCEL, "", "cancelled by the client", JobStatus.CANCELLED),
    (TaskStatus.FAILURE, "", "[Action needed to continue] Sorry!", JobStatus.MODERATED),
    (TaskStatus.FAILURE, "", "[Invalid parameter] Unrecognized parameter(s): `size`", JobStatus.MODERATED),
    (TaskStatus.FAILURE, "", "[Banned prompt detected] no", JobStatus.MODERATED),
    (TaskStatus.FAILURE, "", "[Pending mod message] acknowledge it", JobStatus.FAILED),
    (TaskStatus.FAILURE, "", "[Internal error] try again", JobStatus.FAILED),
    (TaskStatus.FAILURE, "", "timed out", JobStatus.FAILED),
])
def test_job_status(status: TaskStatus, progress: str, reason: str | None, expected: JobStatus) -> None:
    assert job_status(snapshot(status=status, progress=progress, fail_reason=reason)) == expected


@pytest.mark.parametrize(("reason", "kind"), [
    ("[Action needed to continue] Sorry!", FailureKind.MODERATED),
    ("[Request cancelled due to output filters] no", FailureKind.MODERATED),
    ("[Pending mod message] You have a pending message", FailureKind.PENDING_MOD),
    ("[Action required to continue] Wow! we need to verify you're human", FailureKind.PENDING_MOD),
    ("[Subscription required] subscribe", FailureKind.SUBSCRIPTION),
    ("[Job queued] later", FailureKind.JOB_QUEUED),
    ("[Queue full] wait", FailureKind.OTHER),
    ("Discord rate limit persisted after retries: 429", FailureKind.DISCORD_RATE_LIMITED),
    ("account x needs attention (pending_mod_message): [Pending mod message] y", FailureKind.OTHER),
    (None, FailureKind.OTHER),
])
def test_failure_kind(reason: str | None, kind: FailureKind) -> None:
    assert failure_kind(reason) == kind


def test_split_reason_and_masking() -> None:
    assert split_reason("[Invalid parameter] Unrecognized `size`") == ("Invalid parameter", "Unrecognized `size`")
    assert split_reason("plain words") == ("", "plain words")
    assert mask_token("ABCdefghijklmnopXYZ") == "ABC…secured…XYZ"
    assert mask_token("short") == "…secured…" and mask_token(None) == ""


def test_times_are_written_as_useapi_and_discord_do() -> None:
    assert iso_ms(1_694_225_089_667) == "2023-09-09T02:04:49.667Z"
    assert iso_ms(None) is None
    snowflake = str((1_694_225_091_926 - DISCORD_EPOCH_MS) << 22)
    assert discord_timestamp(snowflake) == "2023-09-09T02:04:51.926000+00:00"
    assert discord_timestamp("not-a-snowflake") is None


def test_render_a_completed_job() -> None:
    message_id = str((1_694_225_099_000 - DISCORD_EPOCH_MS) << 22)
    data = snapshot(status=TaskStatus.SUCCESS, progress="100%", finish_time=1_694_225_960_256,
                    image_url="http://cdn/attachments/1/2/user_cat_1234.png", message_id=message_id,
                    message_content="**cat --v 6** - <@1> (fast)", account_id="555", notify_hook="http://h/",
                    buttons=[Button("MJ::JOB::upsample::1::h", label="U1"), Button("MJ::JOB::reroll::0::h::SOLO",
                                                                                   emoji="🔄")],
                    extra={"verb": "imagine", "maxJobs": 3, "replyRef": "r", "discord": "abc…secured…xyz",
                           "server": "777", "children": [{"button": "U1", "jobid": "2"}], "_hidden": 1})
    job = render_job(data, image_size=(1024, 1024), child_message_ids={"2": "99"})
    assert job == {
        "jobid": "1700000000000001", "verb": "imagine", "status": "completed",
        "created": "2023-09-09T02:04:49.667Z", "updated": "2023-09-09T02:19:20.256Z", "prompt": "cat",
        "discord": "abc…secured…xyz", "channel": "555", "server": "777", "maxJobs": 3, "replyUrl": "http://h/",
        "replyRef": "r", "messageId": message_id, "content": "**cat --v 6** - <@1> (fast)",
        "timestamp": "2023-09-09T02:04:59.000000+00:00",
        "attachments": [{"url": "http://cdn/attachments/1/2/user_cat_1234.png",
                         "proxy_url": "http://cdn/attachments/1/2/user_cat_1234.png",
                         "filename": "user_cat_1234.png", "content_type": "image/png",
                         "width": 1024, "height": 1024}],
        "buttons": ["U1", "🔄"], "children": [{"button": "U1", "jobid": "2", "messageId": "99"}], "code": 200}


def test_render_failed_and_follow_up_jobs() -> None:
    failed = render_job(snapshot(status=TaskStatus.FAILURE, fail_reason="[Invalid parameter] Unrecognized `size`"))
    assert failed["status"] == "moderated" and failed["error"] == "Invalid parameter"
    assert failed["errorDetails"] == "Unrecognized `size`" and "attachments" not in failed
    child = render_job(snapshot(action=TaskAction.UPSCALE, parent_id="1", status=TaskStatus.IN_PROGRESS,
                                progress="31%", final_prompt="cat --v 6"))
    assert child["verb"] == "button" and child["parentJobId"] == "1" and child["status"] == "progress"
    assert child["content"] == "**cat --v 6** (31%)"


def test_the_useapi_callback_format_is_registered() -> None:
    import mjproxy.api.useapi.routes  # noqa: F401  (registers the format at import, as the app does)

    data = snapshot(status=TaskStatus.SUCCESS, extra={"notifyFormat": "useapi", "replyRef": "x"})
    assert render_callback(data)["replyRef"] == "x" and render_callback(data)["jobid"] == data["id"]
    plain = snapshot(status=TaskStatus.SUCCESS)
    assert render_callback(plain) is plain
