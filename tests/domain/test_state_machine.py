from __future__ import annotations

import pytest

from mjproxy.domain.state_machine import IllegalTransition, advance_progress, can_transition, transition
from mjproxy.domain.task import Task, TaskAction, TaskStatus

S = TaskStatus


def make(status: TaskStatus = S.NOT_START) -> Task:
    return Task(id="1", action=TaskAction.IMAGINE, status=status)


@pytest.mark.parametrize(("current", "target"), [
    (S.NOT_START, S.SUBMITTED), (S.NOT_START, S.MODAL), (S.MODAL, S.SUBMITTED), (S.SUBMITTED, S.IN_PROGRESS),
    (S.SUBMITTED, S.SUCCESS), (S.IN_PROGRESS, S.SUCCESS), (S.IN_PROGRESS, S.FAILURE), (S.IN_PROGRESS, S.CANCEL),
    (S.NOT_START, S.FAILURE), (S.NOT_START, S.IN_PROGRESS),
])
def test_allowed_transitions(current: TaskStatus, target: TaskStatus) -> None:
    task = make(current)
    assert transition(task, target)
    assert task.status == target


@pytest.mark.parametrize(("current", "target"), [
    (S.SUCCESS, S.FAILURE), (S.FAILURE, S.SUCCESS), (S.CANCEL, S.SUCCESS), (S.SUCCESS, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.SUBMITTED), (S.IN_PROGRESS, S.NOT_START), (S.SUBMITTED, S.MODAL), (S.SUCCESS, S.SUCCESS),
])
def test_forbidden_transitions_raise(current: TaskStatus, target: TaskStatus) -> None:
    task = make(current)
    with pytest.raises(IllegalTransition):
        transition(task, target)
    assert task.status == current
    assert not can_transition(current, target)


def test_same_non_terminal_status_is_a_no_op() -> None:
    task = make(S.IN_PROGRESS)
    assert transition(task, S.IN_PROGRESS) is False


def test_progress_never_goes_backwards_and_stops_at_terminal() -> None:
    task = make(S.IN_PROGRESS)
    assert advance_progress(task, 31)
    assert not advance_progress(task, 15)
    assert task.progress == "31%"
    assert not advance_progress(task, 31)
    assert advance_progress(task, 150) and task.progress == "100%"
    task.status = S.FAILURE
    assert not advance_progress(task, 100)
