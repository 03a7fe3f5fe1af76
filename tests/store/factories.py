"""Builders shared by the store tests."""

from __future__ import annotations

from mjproxy.domain.task import BotType, Button, Task, TaskAction, TaskStatus


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.value = now

    def now(self) -> float:
        return self.value

    def monotonic(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        self.value += seconds


def full_task(task_id: str = "1700000000000001", **overrides: object) -> Task:
    """A task with every field set to a non-default value."""
    task = Task(
        id=task_id,
        action=TaskAction.UPSCALE,
        status=TaskStatus.IN_PROGRESS,
        bot_type=BotType.NIJI_JOURNEY,
        prompt="a cat in a hat --ar 16:9",
        prompt_en="a cat in a hat --ar 16:9",
        description="/imagine a cat",
        state="client-state",
        notify_hook="https://hook.example/cb",
        submit_time=1_700_000_000_000,
        start_time=1_700_000_000_500,
        finish_time=1_700_000_009_000,
        progress="42%",
        image_url="https://cdn.example/a.png",
        fail_reason="nope",
        buttons=[
            Button(custom_id="MJ::JOB::upsample::1::abc", label="U1", emoji="", type=2, style=2),
            Button(custom_id="MJ::JOB::reroll::0::abc::SOLO", label="", emoji="🔄", type=2, style=1),
        ],
        image_urls=[{"url": "https://img.example/1.png", "thumbnail": "https://img.example/1.webp", "index": 1}],
        account_id="acc-1",
        nonce="1234567890123456789",
        interaction_id="1111111111111111111",
        progress_message_id="2222222222222222222",
        message_id="3333333333333333333",
        message_hash="0f1e2d3c-aaaa-bbbb-cccc-0123456789ab",
        message_flags=64,
        final_prompt="a cat in a hat --ar 16:9 --v 6",
        message_content="**a cat** - <@1> (fast)",
        referenced_message_id="4444444444444444444",
        parent_id="1699999999999000",
        deadline_ms=1_700_000_600_000,
        queued_by_midjourney=True,
        version=3,
        extra={"_owner": "key-1", "seed": 42, "nested": {"list": [1, "two", None]}},
    )
    for name, value in overrides.items():
        setattr(task, name, value)
    return task
