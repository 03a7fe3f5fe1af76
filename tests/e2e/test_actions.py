"""Every button through /mj/submit/action and /mj/submit/modal, in both message profiles."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, button, mask_data_url, submit


@pytest.fixture
def world(any_profile_emulator: Emulator, any_profile_proxy: Proxy) -> tuple[Emulator, Proxy]:
    """Every button in both message profiles."""
    return any_profile_emulator, any_profile_proxy


async def finished(proxy: Proxy, result: dict[str, Any]) -> dict[str, Any]:
    assert result["code"] in (1, 22), result
    task = await proxy.wait_for(result["result"])
    assert task["status"] == "SUCCESS", task["failReason"]
    return task


async def act(proxy: Proxy, parent: dict[str, Any], label: str, **extra: Any) -> dict[str, Any]:
    body = {"taskId": parent["id"], "customId": button(parent, label), **extra}
    return await submit(proxy, "/mj/submit/action", body)


async def press_all(proxy: Proxy, parent: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
    """Press several buttons at once (all in flight together), then wait for every result."""
    submitted = await asyncio.gather(*(act(proxy, parent, label) for label in labels))
    return list(await asyncio.gather(*(finished(proxy, result) for result in submitted)))


async def image_size(url: str) -> tuple[int, int]:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    size: tuple[int, int] = Image.open(io.BytesIO(response.content)).size
    return size


async def grid(proxy: Proxy, prompt: str = "a red fox") -> dict[str, Any]:
    return await finished(proxy, await proxy.imagine(prompt))


async def test_upscale_then_every_solo_button(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    parent = await grid(proxy)
    upscaled = await finished(proxy, await act(proxy, parent, "U2"))
    assert upscaled["action"] == "UPSCALE"
    assert upscaled["parentId"] == parent["id"]
    assert "Image #2" in upscaled["properties"]["messageContent"]
    assert upscaled["properties"]["referencedMessageId"] == parent["properties"]["messageId"]
    assert upscaled["properties"]["discordInstanceId"] == parent["properties"]["discordInstanceId"]
    labels = {b["label"] or b["emoji"] for b in upscaled["buttons"]}
    assert {"Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)", "Vary (Strong)", "Vary (Region)",
            "Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️", "❤️"} <= labels

    results = await press_all(proxy, upscaled, ["Upscale (Subtle)", "Upscale (Creative)", "Vary (Strong)",
                                                 "Vary (Subtle)", "Zoom Out 2x", "Zoom Out 1.5x", "⬅️", "⬆️", "❤️"])
    by_label = dict(zip(("subtle", "creative", "strong", "vsubtle", "zoom2", "zoom15", "left", "up", "heart"),
                        results, strict=True))
    assert "Upscaled (Subtle)" in by_label["subtle"]["properties"]["messageContent"]
    assert "Upscaled (Creative)" in by_label["creative"]["properties"]["messageContent"]
    assert "Variations (Strong)" in by_label["strong"]["properties"]["messageContent"]
    assert "Variations (Subtle)" in by_label["vsubtle"]["properties"]["messageContent"]
    assert "Zoom Out" in by_label["zoom2"]["properties"]["messageContent"]
    assert "Pan Left" in by_label["left"]["properties"]["messageContent"]
    assert "Pan Up" in by_label["up"]["properties"]["messageContent"]
    assert [r["action"] for r in results] == ["UPSCALE", "UPSCALE", "VARIATION", "VARIATION", "ZOOM", "ZOOM", "PAN",
                                              "PAN", "BOOKMARK"]
    for task in results[:-1]:
        assert task["properties"]["messageHash"] not in (None, upscaled["properties"]["messageHash"])
    for task in (by_label["strong"], by_label["zoom2"], by_label["left"]):
        assert len(task["buttons"]) == 9, "grids come back with their nine buttons"
    big = await image_size(by_label["subtle"]["imageUrl"])
    small = await image_size(upscaled["imageUrl"])
    assert big[0] > small[0]


async def test_variation_reroll_and_four_upscales_at_once(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    parent = await grid(proxy, "a quiet harbour")
    variation, reroll = await press_all(proxy, parent, ["V3", "🔄"])
    assert variation["action"] == "VARIATION" and "Variations" in variation["properties"]["messageContent"]
    assert reroll["action"] == "REROLL" and len(reroll["buttons"]) == 9
    # four "Image #N" replies to the same grid, in flight together: each lands on its own task
    ups = await press_all(proxy, parent, [f"U{i}" for i in range(1, 5)])
    assert [f"Image #{i}" in u["properties"]["messageContent"] for i, u in enumerate(ups, 1)] == [True] * 4
    assert len({u["properties"]["messageHash"] for u in ups}) == 4


async def test_custom_zoom_is_a_two_step_action(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    upscaled = await finished(proxy, await act(proxy, await grid(proxy), "U1"))
    opened = await act(proxy, upscaled, "Custom Zoom")
    assert opened["code"] == 21
    assert opened["properties"]["finalPrompt"].endswith("--zoom 2")
    modal_task = await proxy.fetch(opened["result"])
    assert modal_task["status"] == "MODAL" and modal_task["action"] == "ZOOM"
    bad = await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"], "prompt": "a red fox --zoom 7"})
    assert bad["code"] == 4 and "zoom" in bad["description"]
    done = await finished(proxy, await submit(proxy, "/mj/submit/modal",
                                              {"taskId": opened["result"], "prompt": "a red fox --zoom 1.5"}))
    assert "--zoom 1.5" in done["properties"]["finalPrompt"]
    assert "Zoom Out" in done["properties"]["messageContent"]
    again = await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"], "prompt": "x --zoom 1.5"})
    assert again["code"] == 4, "a confirmed modal cannot be confirmed twice"


async def test_vary_region_with_a_mask(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    upscaled = await finished(proxy, await act(proxy, await grid(proxy), "U3"))
    width, height = await image_size(upscaled["imageUrl"])
    opened = await act(proxy, upscaled, "Vary (Region)")
    assert opened["code"] == 21 and opened["properties"]["finalPrompt"]
    missing = await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"], "prompt": "a hat"})
    assert missing["code"] == 4 and "mask" in missing["description"]
    wrong = await submit(proxy, "/mj/submit/modal", {"taskId": opened["result"], "prompt": "a hat",
                                                     "maskBase64": mask_data_url(width // 2, height // 2)})
    assert wrong["code"] == 4 and "size" in wrong["description"]
    done = await finished(proxy, await submit(proxy, "/mj/submit/modal", {
        "taskId": opened["result"], "prompt": "a red fox wearing a hat", "maskBase64": mask_data_url(width, height)}))
    assert "Variations (Region)" in done["properties"]["messageContent"] or "Remix (Region)" in \
        done["properties"]["messageContent"]
    assert done["action"] == "VARIATION"


async def test_remix_mode_turns_variations_into_modals(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    parent = await grid(proxy, "a castle")
    account = next(iter(proxy.runtime.accounts.values()))
    assert await account.toggle_remix() is True
    await account.sync()
    assert account.remix is True
    opened = await act(proxy, parent, "V1")
    assert opened["code"] == 21 and opened["properties"]["remix"] is True
    assert opened["properties"]["finalPrompt"].startswith("a castle")
    done = await finished(proxy, await submit(proxy, "/mj/submit/modal",
                                              {"taskId": opened["result"], "prompt": "a castle in the snow"}))
    assert "Remix" in done["properties"]["messageContent"]
    assert done["properties"]["finalPrompt"].startswith("a castle in the snow")
    empty = await act(proxy, parent, "🔄")
    assert empty["code"] == 21
    rerolled = await finished(proxy, await submit(proxy, "/mj/submit/modal", {"taskId": empty["result"], "prompt": ""}))
    assert rerolled["properties"]["finalPrompt"].startswith("a castle"), "an empty prompt reuses the parent's"


async def test_action_errors_are_clear(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    parent = await grid(proxy)
    unknown = await submit(proxy, "/mj/submit/action", {"taskId": "1234567890123456", "customId": "MJ::JOB::x"})
    assert unknown["code"] == 3
    foreign = await submit(proxy, "/mj/submit/action", {"taskId": parent["id"],
                                                        "customId": "MJ::JOB::upsample::1::deadbeef"})
    assert foreign["code"] == 4 and "not one of the buttons" in foreign["description"]
    failing = await finished_or_failed(proxy, await proxy.imagine("bannedword cat"))
    refused = await submit(proxy, "/mj/submit/action", {"taskId": failing["id"], "customId": "MJ::JOB::upsample::1::x"})
    assert refused["code"] == 4 and "FAILURE" in refused["description"]
    not_modal = await submit(proxy, "/mj/submit/modal", {"taskId": parent["id"], "prompt": "x"})
    assert not_modal["code"] == 4


async def finished_or_failed(proxy: Proxy, result: dict[str, Any]) -> dict[str, Any]:
    return await proxy.wait_for(result["result"])


async def test_open_edition_change_and_simple_change(world: tuple[Emulator, Proxy]) -> None:
    _, proxy = world
    parent = await grid(proxy)
    up = await finished(proxy, await submit(proxy, "/mj/submit/change",
                                            {"taskId": parent["id"], "action": "UPSCALE", "index": 2}))
    assert up["description"] == f"/up {parent['id']} U2" and "Image #2" in up["properties"]["messageContent"]
    var = await finished(proxy, await submit(proxy, "/mj/submit/simple-change", {"content": f"{parent['id']} v4"}))
    assert var["action"] == "VARIATION" and var["description"] == f"/up {parent['id']} V4"
    reroll = await finished(proxy, await submit(proxy, "/mj/submit/simple-change", {"content": f"{parent['id']} R"}))
    assert reroll["action"] == "REROLL"
    bad = await submit(proxy, "/mj/submit/simple-change", {"content": f"{parent['id']} U9"})
    assert bad["code"] == 4
    no_index = await submit(proxy, "/mj/submit/change", {"taskId": parent["id"], "action": "UPSCALE"})
    assert no_index["code"] == 4
    of_upscale = await submit(proxy, "/mj/submit/change", {"taskId": up["id"], "action": "VARIATION", "index": 1})
    assert of_upscale["code"] == 4


async def test_seed_through_show_and_envelope(world: tuple[Emulator, Proxy]) -> None:
    emulator, proxy = world
    parent = await grid(proxy, "a seeded garden")
    upscaled = await finished(proxy, await act(proxy, parent, "U1"))
    response = await proxy.client.get(f"/mj/task/{upscaled['id']}/image-seed")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 1 and body["result"].isdigit()
    jobs = [j for j in emulator.jobs if j.job_id == upscaled["properties"]["messageHash"]]
    assert jobs and str(jobs[0].seed) == body["result"]
    cached = (await proxy.client.get(f"/mj/task/{upscaled['id']}/image-seed")).json()
    assert cached == body
    assert (await proxy.fetch(upscaled["id"]))["properties"]["seed"] == body["result"]
    missing = await proxy.client.get("/mj/task/1234567890123456/image-seed")
    assert missing.status_code == 404
