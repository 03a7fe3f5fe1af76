"""Images the user owns, end to end: re-hosting, the four-way split, thumbnails, /media, /mj/image, retention."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, account_entry, button, proxy_settings, running_emulator, running_proxy, submit

FAST_RETRIES = {"retry_backoff_seconds": 0.01, "download_attempts": 3}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with running_emulator(grid_size=512) as emu:
        yield emu


@pytest.fixture
async def proxy(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    async with running_proxy(proxy_settings(emulator, tmp_path, images={**FAST_RETRIES, "thumbnail_size": 128})) \
            as started:
        yield started


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


async def imagine(proxy: Proxy, prompt: str, **extra: Any) -> dict[str, Any]:
    submitted = await proxy.imagine(prompt, **extra)
    assert submitted["code"] == 1, submitted
    return await proxy.wait_for(submitted["result"])


async def get(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        return await client.get(url, **kwargs)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).getbbox() is None


async def assert_grid_is_split(task: dict[str, Any], *, thumbnail_size: int, split_type: str = "image/webp") -> None:
    """imageUrl and the four imageUrls are fetchable, decode, and quadrant N of the grid is image N."""
    response = await get(task["imageUrl"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    grid = decode(response.content)
    width, height = grid.size
    assert [entry["index"] for entry in task["imageUrls"]] == [1, 2, 3, 4]
    boxes = [(0, 0, width // 2, height // 2), (width // 2, 0, width, height // 2),
             (0, height // 2, width // 2, height), (width // 2, height // 2, width, height)]
    for entry, box in zip(task["imageUrls"], boxes, strict=True):
        part = await get(entry["url"])
        assert part.status_code == 200 and part.headers["content-type"] == split_type
        image = decode(part.content)
        assert image.size == (width // 2, height // 2)
        assert same_pixels(grid.crop(box), image), f"quadrant {entry['index']} differs from its split image"
        thumb = await get(entry["thumbnail"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        assert max(decode(thumb.content).size) == thumbnail_size
    grid_thumb = await get(task["properties"]["thumbnailUrl"])
    assert decode(grid_thumb.content).format == "WEBP" and max(decode(grid_thumb.content).size) == thumbnail_size
    # The four quadrants differ from each other: the split really cut the grid apart.
    parts = [decode((await get(entry["url"])).content).tobytes() for entry in task["imageUrls"]]
    assert len(set(parts)) == 4


async def test_imagine_is_rehosted_split_and_thumbnailed(emulator: Emulator, proxy: Proxy) -> None:
    task = await imagine(proxy, "a lighthouse at dusk --ar 3:2")
    assert task["status"] == "SUCCESS", task["failReason"]
    assert task["imageUrl"].startswith(proxy.base_url + "/media/")
    assert task["properties"]["discordImageUrl"].startswith(emulator.base_url + "/attachments/")
    await assert_grid_is_split(task, thumbnail_size=128)
    original = await get(task["properties"]["discordImageUrl"])
    ours = await get(task["imageUrl"])
    assert ours.content == original.content, "the grid is stored byte for byte"
    assert ours.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert ours.headers["etag"]
    again = await get(task["imageUrl"], headers={"If-None-Match": ours.headers["etag"]})
    assert again.status_code == 304
    async with httpx.AsyncClient() as client:
        head = await client.head(task["imageUrl"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(ours.content))
    health = (await proxy.client.get("/healthz")).json()
    assert health["images"]["backend"] == "local"
    assert health["images"]["files"] == 10 and health["images"]["bytes"] > len(ours.content)


async def test_upscale_is_stored_but_not_split(proxy: Proxy) -> None:
    parent = await imagine(proxy, "a paper boat")
    clicked = await submit(proxy, "/mj/submit/action", {"taskId": parent["id"], "customId": button(parent, "U2")})
    upscale = await proxy.wait_for(clicked["result"])
    assert upscale["status"] == "SUCCESS", upscale["failReason"]
    assert upscale["imageUrl"].startswith(proxy.base_url + "/media/")
    assert upscale["imageUrls"] is None
    assert (await get(upscale["imageUrl"])).status_code == 200
    missing = await proxy.client.get(f"/mj/image/{upscale['id']}", params={"index": 2})
    assert missing.status_code == 404 and "only grids are split" in missing.json()["detail"]
    variation = await submit(proxy, "/mj/submit/action", {"taskId": parent["id"], "customId": button(parent, "V1")})
    varied = await proxy.wait_for(variation["result"])
    assert len(varied["imageUrls"]) == 4, "a variation is a grid and is split"


async def test_image_route_index_thumbnail_and_404(proxy: Proxy) -> None:
    task = await imagine(proxy, "a glass orchard")
    whole = await proxy.client.get(f"/mj/image/{task['id']}")
    assert whole.status_code == 200 and whole.headers["content-type"] == "image/png"
    assert whole.content == (await get(task["imageUrl"])).content
    for index in range(1, 5):
        part = await proxy.client.get(f"/mj/image/{task['id']}", params={"index": index})
        assert part.status_code == 200 and part.headers["content-type"] == "image/webp"
        assert part.content == (await get(task["imageUrls"][index - 1]["url"])).content
    thumb = await proxy.client.get(f"/mj/image/{task['id']}", params={"index": 3, "thumbnail": "true"})
    assert thumb.headers["content-type"] == "image/webp"
    cached = await proxy.client.get(f"/mj/image/{task['id']}", headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304
    unknown = await proxy.client.get("/mj/image/1234567890123456")
    assert unknown.status_code == 404 and "not found" in unknown.json()["detail"]
    bad_index = await proxy.client.get(f"/mj/image/{task['id']}", params={"index": 5})
    assert bad_index.status_code == 422
    assert (await proxy.client.get("/media/../mjproxy.db")).status_code == 404
    assert (await proxy.client.get(f"/media/{task['id']}/nothing.png")).status_code == 404


async def test_fetch_with_base64(proxy: Proxy) -> None:
    task = await imagine(proxy, "a brass compass")
    plain = await proxy.fetch(task["id"])
    assert "imageBase64" not in plain
    body = (await proxy.client.get(f"/mj/task/{task['id']}/fetch", params={"withBase64": "true"})).json()
    prefix = "data:image/png;base64,"
    assert body["imageBase64"].startswith(prefix)
    assert base64.b64decode(body["imageBase64"][len(prefix):]) == (await get(task["imageUrl"])).content
    assert {k: v for k, v in body.items() if k != "imageBase64"} == plain


async def test_image_route_needs_a_credential(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "s3cret"})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = "s3cret"
        task = await imagine(proxy, "a locked door")
        async with httpx.AsyncClient(base_url=proxy.base_url) as anonymous:
            refused = await anonymous.get(f"/mj/image/{task['id']}")
        assert refused.status_code == 401
        assert (await proxy.client.get(f"/mj/image/{task['id']}")).status_code == 200


async def test_stored_images_outlive_expired_discord_links(tmp_path: Path) -> None:
    async with running_emulator(grid_size=256, link_ttl_seconds=2) as emulator, \
            running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        task = await imagine(proxy, "a sandcastle")
        assert task["status"] == "SUCCESS", task["failReason"]
        discord_url = task["properties"]["discordImageUrl"]
        deadline = time.monotonic() + 30
        while (await get(discord_url)).status_code == 200:  # wait for Discord's signed link to expire
            assert time.monotonic() < deadline, "the emulator never expired its link"
            await asyncio.sleep(0.25)
        assert (await get(discord_url)).status_code == 404
        assert (await get(task["imageUrl"])).status_code == 200
        for entry in task["imageUrls"]:
            assert (await get(entry["url"])).status_code == 200


async def test_a_flaky_cdn_is_retried(emulator: Emulator, proxy: Proxy) -> None:
    cdn = emulator.world.cdn
    emulator.config.cdn_failures = 2
    task = await imagine(proxy, "a stubborn mule")
    assert task["status"] == "SUCCESS", task["failReason"]
    assert cdn.failed_downloads == 2 and emulator.config.cdn_failures == 0
    assert len(task["imageUrls"]) == 4


async def test_a_download_that_keeps_failing_fails_the_task_clearly(emulator: Emulator, proxy: Proxy,
                                                                     tmp_path: Path) -> None:
    emulator.config.cdn_fail_always = True
    submitted = await proxy.imagine("an unreachable island")
    seen: list[dict[str, Any]] = []
    task = await proxy.wait_for(submitted["result"], on_poll=seen.append, interval=0.01)
    assert task["status"] == "FAILURE"
    assert "the result image could not be stored" in task["failReason"]
    assert "after 3 attempt(s)" in task["failReason"] and "HTTP 503" in task["failReason"]
    assert emulator.world.cdn.failed_downloads == 3
    assert "SUCCESS" not in [t["status"] for t in seen]
    assert not (tmp_path / "images" / task["id"]).exists(), "nothing is left behind for a failed task"


async def test_a_task_cancelled_while_its_image_downloads_never_succeeds(emulator: Emulator,
                                                                          tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, images={"retry_backoff_seconds": 2.0, "download_attempts": 2})
    async with running_proxy(settings) as proxy:
        emulator.config.cdn_failures = 1  # the first attempt fails; the second would succeed
        submitted = await proxy.imagine("a vanishing act")
        waiting = await proxy.wait_for(submitted["result"], statuses=("IN_PROGRESS",))
        while waiting["progress"] != "100%":
            waiting = await proxy.wait_for(submitted["result"], statuses=("IN_PROGRESS",))
        assert await proxy.runtime.tracker.cancel(submitted["result"], "cancelled while storing")
        # The retry happens, and succeeds, after the cancel; then the re-host job ends.
        await eventually(lambda: emulator.world.cdn.downloads > 0, "the retried download")
        await eventually(lambda: not proxy.runtime.tracker.image_jobs, "the end of the re-host job")
        task = await proxy.fetch(submitted["result"])
        assert task["status"] == "CANCEL" and task["failReason"] == "cancelled while storing"
        assert task["imageUrls"] is None
        assert not (tmp_path / "images" / task["id"]).exists(), "what was stored for it is removed"


async def test_rehost_off_keeps_discord_links(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path, images={"rehost": False})) as proxy:
        task = await imagine(proxy, "a borrowed sunset")
        assert task["status"] == "SUCCESS"
        assert task["imageUrl"].startswith(emulator.base_url + "/attachments/")
        assert task["imageUrls"] is None and "discordImageUrl" not in task["properties"]
        missing = await proxy.client.get(f"/mj/image/{task['id']}")
        assert missing.status_code == 404 and "no stored image" in missing.json()["detail"]
        assert (await proxy.client.get("/healthz")).json()["images"] == {"backend": None}
        body = (await proxy.client.get(f"/mj/task/{task['id']}/fetch", params={"withBase64": "true"})).json()
        assert body["imageBase64"] is None


async def test_retention_deletes_old_images_and_marks_their_tasks(emulator: Emulator, tmp_path: Path) -> None:
    # 0.00002 days = 1.7 s: the task is "old" soon after it finishes; the job sweeps every 0.2 s.
    images = {"retention_days": 0.00002, "cleanup_interval_seconds": 0.2}
    async with running_proxy(proxy_settings(emulator, tmp_path, images=images)) as proxy:
        task = await imagine(proxy, "a melting clock")
        assert task["status"] == "SUCCESS" and task["imageUrl"].startswith(proxy.base_url)
        stored = await get(task["imageUrl"])
        assert stored.status_code == 200
        expired = await proxy.wait_for(task["id"], statuses=("SUCCESS",))
        deadline = time.monotonic() + 30
        while not expired["properties"].get("imagesExpired"):
            assert time.monotonic() < deadline, "the retention job never expired the images"
            await asyncio.sleep(0.1)
            expired = await proxy.fetch(task["id"])
        assert expired["imageUrl"] == task["properties"]["discordImageUrl"]
        assert expired["imageUrls"] is None and "thumbnailUrl" not in expired["properties"]
        assert (await get(task["imageUrl"])).status_code == 404
        gone = await proxy.client.get(f"/mj/image/{task['id']}")
        assert gone.status_code == 404 and "retention" in gone.json()["detail"]
        await proxy.runtime.media.cleanup() if proxy.runtime.media else None
        health = (await proxy.client.get("/healthz")).json()
        assert health["images"]["files"] == 0 and health["images"]["bytes"] == 0


async def test_progress_previews_can_be_stored_too(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 1.5
    async with running_proxy(proxy_settings(emulator, tmp_path, images={"store_previews": True})) as proxy:
        submitted = await proxy.imagine("a slow sunrise")
        seen: list[dict[str, Any]] = []
        task = await proxy.wait_for(submitted["result"], on_poll=seen.append, interval=0.02)
        assert task["status"] == "SUCCESS"
        previews = [t["imageUrl"] for t in seen if t["status"] == "IN_PROGRESS" and t["imageUrl"]
                    and t["imageUrl"].startswith(proxy.base_url + "/media/")]
        assert previews, "some progress preview was served from our storage"
        assert all("/preview-" in url for url in previews)
        response = await get(previews[-1])
        assert response.status_code == 200 and response.headers["content-type"] == "image/webp"


async def test_a_restart_resumes_storing_the_image(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, images={"retry_backoff_seconds": 60, "download_attempts": 2})
    emulator.config.cdn_fail_always = True
    async with running_proxy(settings) as proxy:
        submitted = await proxy.imagine("an interrupted portrait")
        waiting = await proxy.wait_for(submitted["result"], statuses=("IN_PROGRESS",))
        while waiting["progress"] != "100%":
            waiting = await proxy.wait_for(submitted["result"], statuses=("IN_PROGRESS",))
    emulator.config.cdn_fail_always = False  # the proxy stopped while waiting to retry
    async with running_proxy(settings) as restarted:
        task = await restarted.wait_for(submitted["result"])
        assert task["status"] == "SUCCESS", task["failReason"]
        assert len(task["imageUrls"]) == 4
        assert (await get(task["imageUrls"][0]["url"])).status_code == 200


async def test_the_account_slot_is_free_while_an_image_is_stored(emulator: Emulator, tmp_path: Path) -> None:
    accounts = [account_entry(emulator.sandbox, core_size=1)]
    settings = proxy_settings(emulator, tmp_path, accounts=accounts,
                              images={"retry_backoff_seconds": 5.0, "download_attempts": 2})
    async with running_proxy(settings) as proxy:
        emulator.config.cdn_failures = 1  # the first task's first download fails: it waits 5 s to retry
        first = await proxy.imagine("a patient heron")
        waiting = await proxy.wait_for(first["result"], statuses=("IN_PROGRESS",))
        while waiting["progress"] != "100%":
            waiting = await proxy.wait_for(first["result"], statuses=("IN_PROGRESS",))
        second = await proxy.wait_for((await proxy.imagine("a hasty hare"))["result"])
        assert second["status"] == "SUCCESS", "the one slot was not held by the image download"
        assert (await proxy.fetch(first["result"]))["status"] == "IN_PROGRESS"
        assert (await proxy.wait_for(first["result"]))["status"] == "SUCCESS"
