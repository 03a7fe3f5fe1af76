"""The blocking SDK (``mjproxy.client.Client``) against a live sandbox server: every method, every error."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from mjproxy.client import (
    ApiError,
    AuthenticationError,
    BannedPrompt,
    Client,
    ConnectionFailed,
    InvalidRequestError,
    NotFoundError,
    SubmitResult,
    Task,
    TaskCancelled,
    TaskFailed,
    TaskStatus,
    WaitTimeout,
)
from tests.e2e.harness import mask_data_url, png_data_url
from tests.e2e.threaded import ThreadedSandbox

ADMIN_SECRET = "sdk-admin-secret"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox(tmp_path_factory.mktemp("sdk-sync"), server={"admin_secret": ADMIN_SECRET},
                         engine={"banned_words": ["forbidden"]}) as running:
        yield running


@pytest.fixture
def mj(sandbox: ThreadedSandbox) -> Iterator[Client]:
    with Client(sandbox.url, key=ADMIN_SECRET) as client:
        yield client


def png(width: int = 64, height: int = 64) -> bytes:
    return base64.b64decode(png_data_url(width, height).split(",", 1)[1])


def done(mj: Client, result: SubmitResult) -> Task:
    assert result.code in (1, 22), result
    return mj.wait(result.task_id, timeout=60, poll_interval=0.05).raise_for_outcome()


def test_imagine_waits_to_success_and_reports_every_state(mj: Client) -> None:
    seen: list[Task] = []
    result = mj.imagine("a red fox in the snow --ar 3:2", state="sdk")
    assert result.code == 1 and result.task_id
    task = mj.wait(result.task_id, timeout=60, poll_interval=0.05, on_update=seen.append)
    assert task.status == TaskStatus.SUCCESS and task.done and task.progress_percent == 100
    assert task.action == "IMAGINE" and task.state == "sdk" and task.prompt.startswith("a red fox")
    assert [b.name for b in task.buttons][:4] == ["U1", "U2", "U3", "U4"]
    assert sorted(image.index for image in task.image_urls) == [1, 2, 3, 4]
    assert seen[0].id == task.id and seen[-1] == task
    # The wire JSON survives the round trip through the model, field names and all.
    assert mj.fetch(task.id).model_dump(by_alias=True)["imageUrls"][0]["index"] == 1


def test_press_u2_then_images_of_the_grid_and_of_the_upscale(mj: Client) -> None:
    grid = done(mj, mj.imagine("a lighthouse at dusk"))
    upscale = done(mj, mj.press(grid, "U2"))
    assert upscale.action == "UPSCALE" and upscale.parent_id == grid.id
    assert mj.image(grid.id).startswith(b"\x89PNG")
    second = Image.open(io.BytesIO(mj.image(grid.id, 2)))
    assert second.size[0] > 0
    assert mj.image(grid.id, 1, thumbnail=True)[8:12] == b"WEBP"
    assert mj.download(grid.image_urls[0].url) == mj.image(grid.id, 1)
    assert mj.download(upscale.image_url or "").startswith(b"\x89PNG")
    with pytest.raises(KeyError, match="has no button 'U9'"):
        grid.button("U9")


def test_action_by_custom_id_change_and_simple_change(mj: Client) -> None:
    grid = done(mj, mj.imagine("three pears on a table"))
    assert done(mj, mj.action(grid.id, grid.button("V1").custom_id)).action == "VARIATION"
    assert done(mj, mj.change(grid.id, "UPSCALE", 3)).action == "UPSCALE"
    assert done(mj, mj.simple_change(f"{grid.id} U4")).action == "UPSCALE"


def test_describe_then_a_pick_goes_through_the_modal(mj: Client) -> None:
    described = done(mj, mj.describe(png(96, 64)))
    assert described.action == "DESCRIBE" and "1️⃣" in (described.final_prompt or "")
    opened = mj.press(described, "2️⃣")
    assert opened.needs_modal and mj.fetch(opened.task_id).status == TaskStatus.MODAL
    imagined = done(mj, mj.modal(opened.task_id))
    assert imagined.action == "IMAGINE"
    by_link = done(mj, mj.describe(link="https://example.org/images/cat.png"))
    assert "1️⃣" in (by_link.final_prompt or "")


def test_vary_region_with_a_mask(mj: Client) -> None:
    grid = done(mj, mj.imagine("a cabin in the woods"))
    upscale = done(mj, mj.press(grid, "U1"))
    opened = mj.press(upscale, "Vary (Region)")
    assert opened.needs_modal
    size = Image.open(io.BytesIO(mj.image(upscale.id))).size
    varied = done(mj, mj.modal(opened.task_id, "a cabin in the woods, snow", mask=mask_data_url(*size)))
    assert varied.action == "VARIATION"


def test_blend_files_and_shorten(mj: Client, tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(png())
    second.write_bytes(png(80, 80))
    assert done(mj, mj.blend([first, second], dimensions="LANDSCAPE")).action == "BLEND"
    shortened = done(mj, mj.shorten("a very very long and winding prompt about a beautiful cat sitting"))
    assert shortened.action == "SHORTEN" and "1️⃣" in (shortened.final_prompt or "")


def test_imagine_with_image_prompts_and_uploads(mj: Client) -> None:
    urls = mj.upload_images([png()])
    assert len(urls) == 1 and urls[0].startswith("http")
    task = done(mj, mj.imagine("in this style", [png()]))
    assert task.prompt.startswith("http")


def test_task_queries_seed_and_callbacks(mj: Client) -> None:
    first = done(mj, mj.imagine("query one"))
    second = done(mj, mj.imagine("query two"))
    assert [t.id for t in mj.list_by_ids([second.id, "404404", first.id])] == [second.id, first.id]
    page = mj.list_tasks(page=1, size=2)
    assert page.total >= 2 and len(page.tasks) == 2 and page.tasks[0].id == second.id
    assert all(t.id != first.id for t in mj.queue())
    assert mj.image_seed(first.id).isdigit()
    assert mj.callbacks(first.id) == []
    assert mj.fetch(first.id, with_base64=True).image_base64.startswith("data:image/png;base64,")  # type: ignore[union-attr]


def test_cancel_a_running_task_and_refuse_a_finished_one(sandbox: ThreadedSandbox, mj: Client) -> None:
    sandbox.emulator.config.job_duration_s = 30
    try:
        result = mj.imagine("a slow painting")
        cancelled = mj.cancel(result.task_id)
        assert cancelled.code == 1
        with pytest.raises(TaskCancelled):
            mj.wait(result.task_id, timeout=10, poll_interval=0.05).raise_for_outcome()
        with pytest.raises(InvalidRequestError) as refused:
            mj.cancel(result.task_id)
        assert refused.value.code == 4 and refused.value.status == 200
        slow = mj.imagine("another slow painting")
        with pytest.raises(WaitTimeout) as timed_out:
            mj.wait(slow.task_id, timeout=0.3, poll_interval=0.05)
        assert timed_out.value.task is not None and not timed_out.value.task.done
        mj.cancel(slow.task_id)
    finally:
        sandbox.emulator.config.job_duration_s = 0


def test_failures_are_typed_with_code_and_status(sandbox: ThreadedSandbox, mj: Client) -> None:
    with pytest.raises(BannedPrompt) as banned:
        mj.imagine("a forbidden thing")
    assert banned.value.code == 24 and banned.value.status == 200 and banned.value.banned_word == "forbidden"
    with pytest.raises(InvalidRequestError) as invalid:
        mj.blend([png()])
    assert invalid.value.code == 4 and "base64Array" in str(invalid.value)
    with pytest.raises(NotFoundError) as missing:
        mj.fetch("404404")
    assert missing.value.status == 404
    with pytest.raises(InvalidRequestError):
        mj.list_tasks(size=5000)  # 422 from the query check
    with Client(sandbox.url) as anonymous, pytest.raises(AuthenticationError) as denied:
        anonymous.accounts()
    assert denied.value.status == 401 and isinstance(denied.value, ApiError)
    with Client("http://127.0.0.1:9") as nowhere, pytest.raises(ConnectionFailed):
        nowhere.health()
    with pytest.raises(InvalidRequestError, match="not a PNG"):
        mj.describe(b"not an image")
    # Midjourney's own refusal arrives after submission: a FAILURE task, raised on request.
    with pytest.raises(TaskFailed, match="Invalid parameter"):
        done(mj, mj.imagine("a cat --size 3"))


def test_accounts_keys_and_health(sandbox: ThreadedSandbox, mj: Client) -> None:
    health = mj.health()
    assert health["accounts"][0]["state"] == "ready"
    (account,) = mj.accounts()
    assert account.state == "ready" and "…" in account.user_token
    assert mj.account(account.id).channel_id == sandbox.emulator.sandbox.channel_id
    assert mj.account_command(account.id, "sync-info").profile is not None
    assert mj.account_command(account.id, "reset").state == "ready"
    created = mj.create_key("sdk test", "user")
    assert created.key.startswith("mjp_") and created.scope == "user"
    assert created.id in {k.id for k in mj.list_keys()}
    with Client(sandbox.url, key=created.key) as user:
        mine = user.imagine("only mine")
        assert user.fetch(mine.task_id).id == mine.task_id
        with pytest.raises(AuthenticationError):
            user.accounts()
        theirs = mj.imagine("the admin's own")
        with pytest.raises(NotFoundError):
            user.fetch(theirs.task_id)
    assert mj.revoke_key(created.id).active is False
    with Client(sandbox.url, key=created.key) as revoked, pytest.raises(AuthenticationError):
        revoked.fetch(mine.task_id)
