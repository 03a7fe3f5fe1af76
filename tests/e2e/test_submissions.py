"""Describe, blend, shorten, image prompts, uploads, Niji, face swap and the account commands."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, button, png_data_url, submit


@pytest.fixture
def emulator(any_profile_emulator: Emulator) -> Emulator:
    """Every submission in both message profiles."""
    return any_profile_emulator


@pytest.fixture
def proxy(any_profile_proxy: Proxy) -> Proxy:
    return any_profile_proxy


async def succeeded(proxy: Proxy, result: dict[str, Any]) -> dict[str, Any]:
    assert result["code"] in (1, 22), result
    task = await proxy.wait_for(result["result"])
    assert task["status"] == "SUCCESS", task["failReason"]
    return task


async def test_describe_an_uploaded_image_then_imagine_a_pick(emulator: Emulator, proxy: Proxy) -> None:
    task = await succeeded(proxy, await submit(proxy, "/mj/submit/describe", {"base64": png_data_url(96, 64)}))
    assert task["action"] == "DESCRIBE"
    assert task["description"] == f"/describe {task['id']}.png"
    text = task["properties"]["finalPrompt"]
    assert all(f"{n}\ufe0f\u20e3" in text for n in range(1, 5)), text
    assert task["prompt"] == text
    assert task["imageUrl"]
    assert {b["emoji"] for b in task["buttons"]} >= {"1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"}
    opened = await submit(proxy, "/mj/submit/action", {"taskId": task["id"], "customId": button(task, "2️⃣")})
    assert opened["code"] == 21
    second = text.split("\n\n")[1][3:].strip()
    assert opened["properties"]["finalPrompt"] == second
    imagined = await succeeded(proxy, await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"]}))
    assert imagined["action"] == "IMAGINE" and len(imagined["buttons"]) == 9
    retried = await succeeded(proxy, await submit(proxy, "/mj/submit/action",
                                                  {"taskId": task["id"], "customId": button(task, "🔄")}))
    assert retried["action"] == "DESCRIBE" and "1️⃣" in retried["properties"]["finalPrompt"]


async def test_describe_by_link(emulator: Emulator, proxy: Proxy) -> None:
    task = await succeeded(proxy, await submit(proxy, "/mj/submit/describe",
                                               {"link": "https://example.org/images/cat.png"}))
    assert "1️⃣" in task["properties"]["finalPrompt"]


async def test_blend_two_and_five_images(emulator: Emulator, proxy: Proxy) -> None:
    two = await succeeded(proxy, await submit(proxy, "/mj/submit/blend", {
        "base64Array": [png_data_url(color=(255, 0, 0)), png_data_url(color=(0, 0, 255))], "dimensions": "PORTRAIT"}))
    assert two["action"] == "BLEND" and two["description"] == f"/blend {two['id']} 2"
    assert len(two["buttons"]) == 9
    five = await succeeded(proxy, await submit(proxy, "/mj/submit/blend", {
        "base64Array": [png_data_url(color=(40 * i, 10, 10)) for i in range(5)]}))
    assert five["status"] == "SUCCESS"


async def test_shorten_then_imagine_an_option(emulator: Emulator, proxy: Proxy) -> None:
    prompt = "a very detailed and extremely beautiful painting of a majestic mountain at golden hour"
    task = await succeeded(proxy, await submit(proxy, "/mj/submit/shorten", {"prompt": prompt}))
    assert task["action"] == "SHORTEN"
    assert task["prompt"] == task["properties"]["finalPrompt"] and task["promptEn"] == prompt
    options = [line for line in task["properties"]["finalPrompt"].splitlines() if "\ufe0f\u20e3" in line]
    assert len(options) == 5
    opened = await submit(proxy, "/mj/submit/action", {"taskId": task["id"], "customId": button(task, "3️⃣")})
    assert opened["code"] == 21 and opened["properties"]["finalPrompt"]
    imagined = await succeeded(proxy, await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"]}))
    assert imagined["action"] == "IMAGINE"


async def test_imagine_with_image_prompts_puts_the_urls_first(emulator: Emulator, proxy: Proxy) -> None:
    task = await succeeded(proxy, await proxy.imagine("in the style of these", base64Array=[png_data_url()]))
    first = task["prompt"].split()[0]
    assert first.startswith("http") and task["prompt"].endswith("in the style of these")
    assert task["promptEn"] == task["prompt"]
    async with httpx.AsyncClient() as client:
        assert (await client.get(first)).status_code == 200


async def test_upload_discord_images_returns_fetchable_urls(emulator: Emulator, proxy: Proxy) -> None:
    images = [png_data_url(color=(1, 2, 3)), png_data_url(color=(9, 8, 7))]
    response = await proxy.client.post("/mj/submit/upload-discord-images", json={"base64Array": images})
    body = response.json()
    assert body["code"] == 1 and len(body["result"]) == 2
    async with httpx.AsyncClient() as client:
        for url, original in zip(body["result"], images, strict=True):
            fetched = await client.get(url)
            assert fetched.content == base64.b64decode(original.split(",", 1)[1])


async def test_niji_bot_for_imagine_describe_blend_and_shorten(emulator: Emulator, proxy: Proxy) -> None:
    niji = {"botType": "NIJI_JOURNEY"}
    imagined = await succeeded(proxy, await proxy.imagine("an anime fox", **niji))
    described = await succeeded(proxy, await submit(proxy, "/mj/submit/describe", {"base64": png_data_url(), **niji}))
    blended = await succeeded(proxy, await submit(proxy, "/mj/submit/blend",
                                                  {"base64Array": [png_data_url(), png_data_url(color=(0, 9, 0))],
                                                   **niji}))
    shortened = await succeeded(proxy, await submit(proxy, "/mj/submit/shorten", {"prompt": "an anime fox", **niji}))
    for task in (imagined, described, blended, shortened):
        assert task["botType"] == "NIJI_JOURNEY"
    niji_jobs = [j for j in emulator.jobs if j.nonce == imagined["properties"]["nonce"]]
    assert niji_jobs, "the niji bot ran the imagine"
    upscaled = await succeeded(proxy, await submit(proxy, "/mj/submit/action",
                                                   {"taskId": imagined["id"], "customId": button(imagined, "U1")}))
    assert upscaled["botType"] == "NIJI_JOURNEY"


async def test_face_swap_through_insightface(emulator: Emulator, proxy: Proxy) -> None:
    task = await succeeded(proxy, await submit(proxy, "/mj/insight-face/swap", {
        "sourceBase64": png_data_url(color=(250, 200, 150)), "targetBase64": png_data_url(128, 128, (10, 80, 160))}))
    assert task["action"] == "SWAP_FACE" and task["botType"] == "INSIGHT_FACE"
    async with httpx.AsyncClient() as client:
        assert (await client.get(task["imageUrl"])).status_code == 200


@pytest.mark.parametrize(("path", "body", "fragment"), [
    ("/mj/submit/describe", {"base64": "data:image/png;base64,aGVsbG8="}, "not an image"),
    ("/mj/submit/describe", {}, "either base64"),
    ("/mj/submit/describe", {"base64": png_data_url(), "link": "https://x.org/a.png"}, "either base64"),
    ("/mj/submit/describe", {"link": "ftp://x.org/a.png"}, "http"),
    ("/mj/submit/describe", {"base64": "not a data url"}, "data URL"),
    ("/mj/submit/blend", {"base64Array": [png_data_url()]}, "2 to 5"),
    ("/mj/submit/blend", {"base64Array": [png_data_url()] * 6}, "2 to 5"),
    ("/mj/submit/blend", {"base64Array": [png_data_url()] * 2, "dimensions": None}, "dimensions"),
    ("/mj/submit/blend", {"base64Array": [png_data_url()] * 2, "dimensions": "WIDE"}, "dimensions"),
    ("/mj/submit/imagine", {"prompt": "cat", "base64Array": ["data:text/plain;base64,aGk="]}, "not an image"),
    ("/mj/submit/shorten", {"prompt": ""}, "prompt is required"),
    ("/mj/insight-face/swap", {"sourceBase64": png_data_url()}, "targetBase64"),
    ("/mj/submit/upload-discord-images", {"base64Array": []}, "at least one"),
])
async def test_bad_media_input_gets_code_4(proxy: Proxy, path: str, body: dict[str, Any], fragment: str) -> None:
    result = await submit(proxy, path, body)
    assert result["code"] == 4, result
    assert fragment in result["description"]


async def test_images_over_ten_megabytes_are_refused(proxy: Proxy) -> None:
    huge = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 + 10)).decode()
    result = await submit(proxy, "/mj/submit/describe", {"base64": huge})
    assert result["code"] == 4 and "10 MB" in result["description"]


async def test_account_commands_info_settings_speed_and_remix(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.deferred_update_delay_s = 0  # placeholder and answer in the same tick must both be seen
    account = next(iter(proxy.runtime.accounts.values()))
    profile = await account.sync()
    assert profile["info"]["subscription"]
    assert profile["info"]["jobMode"] == "fast"
    assert profile["info"]["fastTimeRemainingHours"] is not None
    assert profile["remix"] is False
    assert profile["settings"]["version"]
    assert "Done" in await account.set_mode("relax")
    await account.sync()
    assert account.info is not None and account.info.job_mode is not None
    assert account.info.job_mode.value == "relax"
    assert await account.toggle_remix() is True
    assert account.remix is True
    assert await account.toggle_remix() is False
    health = (await proxy.client.get("/healthz")).json()
    assert health["accounts"][0]["profile"]["info"]["subscription"]


async def test_describe_imagine_all_gives_four_tasks_with_their_own_prompts(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.concurrency = 2  # Midjourney queues two of the four: they start after the first ones end
    described = await succeeded(proxy, await submit(proxy, "/mj/submit/describe", {"base64": png_data_url(80, 60)}))
    result = await submit(proxy, "/mj/submit/action", {"taskId": described["id"],
                                                       "customId": button(described, "Imagine all")})
    assert result["code"] == 1 and len(result["properties"]["taskIds"]) == 4
    assert result["result"] == result["properties"]["taskIds"][0]
    tasks = [await proxy.wait_for(task_id) for task_id in result["properties"]["taskIds"]]
    assert [t["status"] for t in tasks] == ["SUCCESS"] * 4, [t["failReason"] for t in tasks]
    prompts = described["properties"]["finalPrompt"].split("\n\n")
    for task, option in zip(tasks, prompts, strict=True):
        assert task["prompt"] == option[3:].strip()
        assert task["properties"]["finalPrompt"].startswith(task["prompt"].split(" --")[0])
        assert task["parentId"] == described["id"] and len(task["buttons"]) == 9
    assert len({t["properties"]["messageHash"] for t in tasks}) == 4
