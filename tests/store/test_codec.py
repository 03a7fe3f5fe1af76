from __future__ import annotations

import json
from dataclasses import fields

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.store.codec import task_from_data, task_from_row, task_to_row

from .factories import full_task


def test_full_task_round_trips_through_a_row() -> None:
    task = full_task()
    row = task_to_row(task, updated_at=123)
    back = task_from_row(row)
    assert back == task
    assert isinstance(back.status, TaskStatus) and isinstance(back.action, TaskAction)
    assert back.buttons[1].emoji == "🔄"


def test_fixture_really_sets_every_field() -> None:
    # Guards the round-trip test: a new Task field must be given a non-default value in full_task.
    task, default = full_task(), Task(id="x", action=TaskAction.IMAGINE)
    unset = [f.name for f in fields(Task) if getattr(task, f.name) == getattr(default, f.name)]
    assert unset == []


def test_row_projects_the_indexed_columns() -> None:
    row = task_to_row(full_task(), updated_at=99)
    assert row["status"] == "IN_PROGRESS"
    assert row["action"] == "UPSCALE"
    assert row["owner"] == "key-1"
    assert row["nonce"] == "1234567890123456789"
    assert row["updated_at"] == 99
    assert row["version"] == 3


def test_unknown_keys_from_a_newer_version_are_ignored() -> None:
    data = json.loads(task_to_row(full_task())["data"])
    data["field_from_the_future"] = {"x": 1}
    assert task_from_data(json.dumps(data)) == full_task()


def test_missing_keys_from_an_older_version_take_defaults() -> None:
    task = task_from_data({"id": "1", "action": "IMAGINE"})
    assert task == Task(id="1", action=TaskAction.IMAGINE)
