"""The asyncio SDK (``mjproxy.client.AsyncClient``) against a live sandbox server: every method, every error."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from mjproxy.client import (
    AsyncClient,
    AuthenticationError,
    BannedPrompt,
    ConnectionFailed,
    InvalidRequestError,
    NotFoundError,
    StreamUnavailable,
    SubmitResult,
    Task,
    TaskCancelled,
    TaskStatus,
    WaitTimeout,
)
from tests.e2e.harness import mask_data_url, png_data_url
from tests.e2e.threaded import ThreadedSandbox

ADMIN_SECRET = "sdk-async-admin"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox(tmp_path_factory.mktemp("sdk-async"), server={"admin_secret": ADMIN_SECRET},
                         engine={"banned_words": ["forbidden"]}) as running:
        yield running


@pytest.fixture
async def mj(sandbox: ThreadedSandbox) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(sandbox.url, key=ADMIN_SECRET) as client:
        yield client


def png(width: int = 64, height: int = 64) -> bytes:
    return base64.b64decode(png_data_url(width, height).split(",", 1)[1])


async def done(mj: AsyncClient, result: SubmitResult) -> Task:
    assert result.code in (1, 22), result
    task = await mj.wait(result.task_id, timeout=60, poll_interval=0.05)
    return task.raise_for_outcome()


async def test_imagine_press_and_images(mj: AsyncClient) -> None:
    seen: list[Task] = []
    grid = await mj.wait((await mj.imagine("an owl at night")).task_id, timeout=60, poll_interval=0.05,
                         on_update=seen.append)
    assert grid.status == TaskStatus.SUCCESS and seen[-1] == grid and len(grid.image_urls) == 4
    upscale = await done(mj, await mj.press(grid.id, "U2"))
    assert upscale.parent_id == grid.id
    full = Image.open(io.BytesIO(await mj.image(grid.id, 2)))
    thumbnail = Image.open(io.BytesIO(await mj.image(grid.id, 2, thumbnail=True)))
    assert thumbnail.format == "WEBP" and thumbnail.size[0] < full.size[0]
    assert await mj.download(grid.image_urls[1].url) == await mj.image(grid.id, 2)
    variation = await done(mj, await mj.action(grid.id, grid.button("V2").custom_id))
    assert variation.action == "VARIATION"
    assert (await done(mj, await mj.change(grid.id, "UPSCALE", 1))).action == "UPSCALE"
    assert (await done(mj, await mj.simple_change(f"{grid.id} U3"))).action == "UPSCALE"
    opened = await mj.press(upscale, "Vary (Region)")
    size = Image.open(io.BytesIO(await mj.image(upscale.id))).size
    varied = await done(mj, await mj.modal(opened.task_id, "an owl, snow", mask=mask_data_url(*size)))
    assert opened.needs_modal and varied.action == "VARIATION"


async def test_describe_blend_shorten_upload(mj: AsyncClient) -> None:
    described = await done(mj, await mj.describe(png(96, 64)))
    opened = await mj.press(described, "1️⃣")
    assert opened.needs_modal
    assert (await done(mj, await mj.modal(opened.task_id))).action == "IMAGINE"
    assert (await done(mj, await mj.blend([png(), png(72, 72)]))).action == "BLEND"
    shortened = await done(mj, await mj.shorten("a long, long prompt about a small grey cat sitting on a wall"))
    assert "1️⃣" in (shortened.final_prompt or "")
    (url,) = await mj.upload_images([png()])
    assert url.startswith("http")
    with_image = await done(mj, await mj.imagine("like this", [png()]))
    assert with_image.prompt.startswith("http")


async def test_queries_seed_callbacks_and_cancel(sandbox: ThreadedSandbox, mj: AsyncClient) -> None:
    first = await done(mj, await mj.imagine("async query"))
    assert [t.id for t in await mj.list_by_ids([first.id, "404"])] == [first.id]
    page = await mj.list_tasks(size=1)
    assert page.total >= 1 and page.tasks[0].id == first.id
    assert (await mj.image_seed(first.id)).isdigit()
    assert await mj.callbacks(first.id) == []
    assert (await mj.fetch(first.id, with_base64=True)).image_base64
    sandbox.emulator.config.job_duration_s = 30
    try:
        slow = await mj.imagine("a slow async painting")
        assert slow.task_id in {t.id for t in await mj.queue()}
        with pytest.raises(WaitTimeout):
            await mj.wait(slow.task_id, timeout=0.3, poll_interval=0.05)
        assert (await mj.cancel(slow.task_id)).code == 1
        with pytest.raises(TaskCancelled):
            (await mj.wait(slow.task_id, timeout=10, poll_interval=0.05)).raise_for_outcome()
        with pytest.raises(InvalidRequestError) as refused:
            await mj.cancel(slow.task_id)
        assert refused.value.code == 4
    finally:
        sandbox.emulator.config.job_duration_s = 0


async def test_wait_and_events_follow_the_live_stream(sandbox: ThreadedSandbox, mj: AsyncClient) -> None:
    """The server's stream route (streams helper) when present; until then wait() polls and events() says why."""
    sandbox.emulator.config.job_duration_s = 1.5
    try:
        result = await mj.imagine("a stream of progress")
        try:
            events = [event async for event in mj.events(result.task_id)]
        except StreamUnavailable:
            task = await mj.wait(result.task_id, timeout=60, poll_interval=0.05)
            assert task.status == TaskStatus.SUCCESS
            pytest.skip("the server has no /mj/task/{id}/events yet: wait() polled (the streams helper adds it)")
        assert events[-1].event == "success" and events[-1].task.status == TaskStatus.SUCCESS
        ids = [int(e.id or 0) for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert "progress" in {e.event for e in events}
    finally:
        sandbox.emulator.config.job_duration_s = 0


async def test_failures_are_typed(sandbox: ThreadedSandbox, mj: AsyncClient) -> None:
    with pytest.raises(BannedPrompt) as banned:
        await mj.imagine("forbidden fruit")
    assert banned.value.code == 24
    with pytest.raises(InvalidRequestError) as invalid:
        await mj.blend([png()])
    assert invalid.value.code == 4
    with pytest.raises(NotFoundError):
        await mj.fetch("404404")
    async with AsyncClient(sandbox.url) as anonymous:
        with pytest.raises(AuthenticationError):
            await anonymous.list_keys()
    async with AsyncClient("http://127.0.0.1:9") as nowhere:
        with pytest.raises(ConnectionFailed):
            await nowhere.fetch("1")


async def test_accounts_keys_and_health(sandbox: ThreadedSandbox, mj: AsyncClient) -> None:
    assert (await mj.health())["status"] == "ok"
    (account,) = await mj.accounts()
    assert (await mj.account(account.id)).state == "ready"
    assert (await mj.account_command(account.id, "sync-info")).profile is not None
    created = await mj.create_key("async", "user")
    assert created.id in {k.id for k in await mj.list_keys()}
    async with AsyncClient(sandbox.url, key=created.key) as user:
        theirs, mine = await asyncio.gather(mj.imagine("admin's"), user.imagine("user's"))
        assert (await user.fetch(mine.task_id)).id == mine.task_id
        with pytest.raises(NotFoundError):
            await user.fetch(theirs.task_id)
    assert (await mj.revoke_key(created.id)).active is False
