from __future__ import annotations

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.engine.correlation import Correlator, Match
from mjproxy.midjourney.events import MessageKeys


def task(task_id: str, prompt: str = "a red fox", status: TaskStatus = TaskStatus.SUBMITTED) -> Task:
    return Task(id=task_id, action=TaskAction.IMAGINE, status=status, prompt=prompt, prompt_en=prompt,
                account_id="c")


def keys(**kw: object) -> MessageKeys:
    base: dict[str, object] = {"message_id": "m1", "channel_id": "c"}
    base.update(kw)
    return MessageKeys(**base)  # type: ignore[arg-type]


def test_keys_are_tried_strongest_first() -> None:
    c = Correlator()
    a, b = task("a"), task("b")
    for t in (a, b):
        c.track(t)
    c.bind_nonce("n-a", "a")
    c.bind_interaction("i-b", "b")
    c.bind_message("m-a", "a")
    c.bind_hash("h-b", "b")
    assert c.match(keys(nonce="n-a", interaction_id="i-b"), [a, b]) == Match("a", "nonce")
    assert c.match(keys(interaction_id="i-b", message_id="m-a"), [a, b]) == Match("b", "interaction")
    assert c.match(keys(message_id="m-a", job_hash="h-b"), [a, b]) == Match("a", "message")
    assert c.match(keys(job_hash="h-b"), [a, b]) == Match("b", "hash")


def test_prompt_fallback_only_when_exactly_one_candidate() -> None:
    c = Correlator()
    a, b = task("a"), task("b")
    for t in (a, b):
        c.track(t)
    # Midjourney's rewriting (dash conversion, collapsed spaces, appended params) still normalises equal.
    echoed = keys(prompt="a  red fox --v 6.1")
    assert c.match(echoed, [a, b]) is None, "two identical prompts in flight: never guess"
    b.status = TaskStatus.SUCCESS
    match = c.match(echoed, [a, b])
    assert match is not None and match.task_id == "a" and match.key == "prompt"


def test_unknown_nonce_never_falls_back_to_the_prompt() -> None:
    c = Correlator()
    a = task("a")
    c.track(a)
    assert c.match(keys(nonce="someone-elses", prompt="a red fox"), [a]) is None


def test_messages_of_finished_tasks_are_recognised_and_ignored() -> None:
    c = Correlator()
    done, other = task("done"), task("other")
    c.track(done)
    c.track(other)
    c.bind_hash("h-done", "done")
    done.message_hash = "h-done"
    done.status = TaskStatus.SUCCESS
    c.forget(done)
    restyled_grid = keys(message_id="final", job_hash="h-done", prompt="a red fox")
    assert c.belongs_to_finished(restyled_grid)
    assert c.match(restyled_grid, [other]) is None


def test_image_number_replies_find_their_upscale_task() -> None:
    from mjproxy.engine.correlation import BUTTON_INDEX_KEY
    from mjproxy.midjourney.events import JobKind

    c = Correlator()
    ups = []
    for i in (1, 2):
        t = Task(id=f"u{i}", action=TaskAction.UPSCALE, status=TaskStatus.SUBMITTED, prompt="p", prompt_en="p",
                 account_id="c", referenced_message_id="grid")
        t.extra[BUTTON_INDEX_KEY] = i
        c.track(t)
        ups.append(t)
    variation = Task(id="v", action=TaskAction.VARIATION, status=TaskStatus.SUBMITTED, prompt="p", prompt_en="p",
                     account_id="c", referenced_message_id="grid")
    c.track(variation)
    reply = keys(message_id="new", referenced_message_id="grid", job_hash="h2")
    assert c.match(reply, [*ups, variation], kind=JobKind.UPSCALE, index=2) == Match("u2", "reference")
    assert c.match(reply, [*ups, variation], kind=JobKind.VARIATION) == Match("v", "reference")
    # no index and two upscales of the same grid: ambiguous, so nothing is guessed
    assert c.match(reply, ups, kind=JobKind.UPSCALE) is None


def test_replies_to_a_progress_message_belong_to_its_task() -> None:
    c = Correlator()
    a = task("a")
    c.track(a)
    c.bind_message("progress", "a")
    assert c.match(keys(message_id="notice", referenced_message_id="progress"), [a]) == Match("a", "reply")


def test_history_may_match_a_task_whose_submit_was_never_confirmed() -> None:
    """After a crash between storing the nonce and recording Discord's 204, the task is NOT_START with a
    nonce: only a message read back from the channel history may match it, by its unique prompt."""
    c = Correlator()
    sent = task("a", status=TaskStatus.NOT_START)
    sent.nonce = "n-a"
    never_sent = task("b", prompt="a blue whale", status=TaskStatus.NOT_START)
    for t in (sent, never_sent):
        c.track(t)
    echoed = keys(prompt="a red fox --v 6.1")
    assert c.match(echoed, [sent, never_sent]) is None
    assert c.match(echoed, [sent, never_sent], unconfirmed=True) == Match("a", "prompt")
    assert c.match(keys(prompt="a blue whale"), [sent, never_sent], unconfirmed=True) is None
