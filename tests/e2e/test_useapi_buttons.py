"""/v2/jobs/button end to end: labels to customIds, children navigation, execute-once upscales, the modal
flow driven to completion in one request (remix, Custom Zoom, Vary (Region)), and seed."""

from __future__ import annotations

import asyncio
import base64
import io

import httpx
from PIL import Image

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, mask_data_url
from tests.e2e.useapi_helpers import get_job, imagine_completed, post, press, wait_job


async def image_size(url: str) -> tuple[int, int]:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    size: tuple[int, int] = Image.open(io.BytesIO(response.content)).size
    return size


async def test_children_navigation_from_grid_to_upscale_and_back(proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a red fox", replyRef="grid")
    upscale = await press(proxy.client, parent["jobid"], "U2", replyRef="up")
    assert upscale["verb"] == "button" and upscale["button"] == "U2" and upscale["parentJobId"] == parent["jobid"]
    assert upscale["replyRef"] == "up" and upscale["channel"] == parent["channel"]
    assert {"Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)", "Vary (Strong)", "Vary (Region)",
            "Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️"} <= set(upscale["buttons"])
    variation = await press(proxy.client, parent["jobid"], "V3")
    assert variation["buttons"][:4] == ["U1", "U2", "U3", "U4"]

    navigated = await get_job(proxy.client, parent["jobid"])
    assert [(c["button"], c["jobid"]) for c in navigated["children"]] == [
        ("U2", upscale["jobid"]), ("V3", variation["jobid"])]
    assert [c["messageId"] for c in navigated["children"]] == [upscale["messageId"], variation["messageId"]]
    child = await get_job(proxy.client, navigated["children"][0]["jobid"])
    assert child["parentJobId"] == parent["jobid"]

    # The follow-up is an /mj task too, with its parent.
    task = await proxy.fetch(upscale["jobid"])
    assert task["action"] == "UPSCALE" and task["parentId"] == parent["jobid"]

    for label in ("Vary (Strong)", "Zoom Out 2x", "⬅️", "Upscale (Subtle)"):
        result = await press(proxy.client, upscale["jobid"], label)
        assert result["button"] == label and result["attachments"]


async def test_upscales_execute_once(proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a quiet harbour")
    first = await press(proxy.client, parent["jobid"], "U1")
    again = await post(proxy.client, "/v2/jobs/button", {"jobid": parent["jobid"], "button": "U1"})
    assert again["jobid"] == first["jobid"] and again["status"] == "completed"
    both = await asyncio.gather(*(post(proxy.client, "/v2/jobs/button", {"jobid": parent["jobid"], "button": "U4"})
                                  for _ in range(3)))
    assert len({b["jobid"] for b in both}) == 1, "concurrent presses of one upscale make one job"
    # Variations may run as often as wanted.
    v1 = await post(proxy.client, "/v2/jobs/button", {"jobid": parent["jobid"], "button": "V1"})
    v1_again = await post(proxy.client, "/v2/jobs/button", {"jobid": parent["jobid"], "button": "V1"})
    assert v1["jobid"] != v1_again["jobid"]
    children = (await get_job(proxy.client, parent["jobid"]))["children"]
    assert [c["button"] for c in children] == ["U1", "U4", "V1", "V1"]


async def test_custom_zoom_and_vary_region_in_one_request(proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a red fox")
    upscale = await press(proxy.client, parent["jobid"], "U3")
    missing = await proxy.client.post("/v2/jobs/button", json={"jobid": upscale["jobid"], "button": "Custom Zoom"})
    assert missing.status_code == 400 and missing.json()["error"] == "prompt is required for button Custom Zoom"
    bad_zoom = await proxy.client.post("/v2/jobs/button", json={
        "jobid": upscale["jobid"], "button": "Custom Zoom", "prompt": "a red fox --zoom 7"})
    assert bad_zoom.status_code == 400 and "zoom" in bad_zoom.json()["error"]
    zoomed = await press(proxy.client, upscale["jobid"], "Custom Zoom", prompt="a red fox --zoom 1.5")
    assert "Zoom Out" in zoomed["content"] and zoomed["button"] == "Custom Zoom"
    assert (await proxy.fetch(zoomed["jobid"]))["properties"]["finalPrompt"].endswith("--zoom 1.5")

    no_mask = await proxy.client.post("/v2/jobs/button", json={"jobid": upscale["jobid"], "button": "Vary (Region)"})
    assert no_mask.status_code == 400 and "mask" in no_mask.json()["error"]
    width, height = await image_size(upscale["attachments"][0]["url"])
    assert (width, height) == (upscale["attachments"][0]["width"], upscale["attachments"][0]["height"])
    bare_base64 = mask_data_url(width, height).split(",", 1)[1]
    assert base64.b64decode(bare_base64)
    region = await press(proxy.client, upscale["jobid"], "Vary (Region)", prompt="a red fox wearing a hat",
                         mask=bare_base64)
    assert "(Region)" in region["content"]
    statuses = {c["button"]: c for c in (await get_job(proxy.client, upscale["jobid"]))["children"]}
    assert set(statuses) == {"Custom Zoom", "Vary (Region)"}, "refused presses leave no child"


async def test_remix_prompt_goes_through_the_modal(proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a castle")
    no_remix = await proxy.client.post("/v2/jobs/button", json={"jobid": parent["jobid"], "button": "V1",
                                                                "prompt": "a castle in the snow"})
    assert no_remix.status_code == 400
    account = next(iter(proxy.runtime.accounts.values()))
    assert await account.toggle_remix() is True
    await account.sync()
    remixed = await press(proxy.client, parent["jobid"], "V1", prompt="a castle in the snow")
    assert "Remix" in remixed["content"] and remixed["prompt"].startswith("a castle in the snow")
    rerolled = await press(proxy.client, parent["jobid"], "🔄")
    assert rerolled["prompt"].startswith("a castle")


async def test_button_errors(proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a garden")
    cases = [({}, 400), ({"jobid": parent["jobid"]}, 400), ({"jobid": "nope", "button": "U1"}, 404),
             ({"jobid": parent["jobid"], "button": "U9"}, 400)]
    for body, status in cases:
        response = await proxy.client.post("/v2/jobs/button", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] == status
    assert "U9" in (await proxy.client.post("/v2/jobs/button", json=cases[-1][0])).json()["error"]


async def test_seed_of_a_job(emulator: Emulator, proxy: Proxy) -> None:
    parent = await imagine_completed(proxy.client, "a seeded garden")
    upscale = await press(proxy.client, parent["jobid"], "U1")
    seeded = await post(proxy.client, "/v2/jobs/seed", {"jobid": upscale["jobid"]})
    assert seeded["verb"] == "seed" and seeded["status"] == "completed"
    assert seeded["parentJobId"] == upscale["jobid"] and seeded["seed"]["value"].isdigit()
    task = await proxy.fetch(upscale["jobid"])
    jobs = [j for j in emulator.jobs if j.job_id == task["properties"]["messageHash"]]
    assert jobs and str(jobs[0].seed) == seeded["seed"]["value"]
    assert (await get_job(proxy.client, upscale["jobid"]))["seed"] == seeded["seed"]["value"]
    # Seeding and pressing buttons of one job at once: neither write loses the other.
    grid = await imagine_completed(proxy.client, "a seeded meadow")
    seed_of_grid, child = await asyncio.gather(post(proxy.client, "/v2/jobs/seed", {"jobid": grid["jobid"]}),
                                               post(proxy.client, "/v2/jobs/button",
                                                    {"jobid": grid["jobid"], "button": "V2"}))
    after = await get_job(proxy.client, grid["jobid"])
    assert after["seed"] == seed_of_grid["seed"]["value"]
    assert [c["jobid"] for c in after["children"]] == [child["jobid"]]
    assert (await proxy.client.post("/v2/jobs/seed", json={"jobid": "nope"})).status_code == 404
    assert (await proxy.client.post("/v2/jobs/seed", json={})).status_code == 400


async def test_describe_and_blend(proxy: Proxy) -> None:
    grid = await imagine_completed(proxy.client, "a blue bird")
    url = grid["attachments"][0]["url"]
    started = await post(proxy.client, "/v2/jobs/describe", {"describeUrl": url, "replyRef": "d"})
    described = await wait_job(proxy.client, started["jobid"])
    assert described["verb"] == "describe" and described["status"] == "completed"
    assert described["describeUrl"] == url and described["replyRef"] == "d"
    assert described["content"].count("\n") >= 3, "four prompts"
    assert (await proxy.client.post("/v2/jobs/describe", json={})).status_code == 400
    assert (await proxy.client.post("/v2/jobs/describe", json={"describeUrl": "not a url"})).status_code == 400

    other = await imagine_completed(proxy.client, "a green frog")
    urls = [url, other["attachments"][0]["url"]]
    started = await post(proxy.client, "/v2/jobs/blend", {"blendUrls": urls, "blendDimensions": "Portrait"})
    blended = await wait_job(proxy.client, started["jobid"])
    assert blended["verb"] == "blend" and blended["status"] == "completed"
    assert blended["blendUrls"] == urls and blended["blendDimensions"] == "Portrait"
    assert blended["buttons"][:4] == ["U1", "U2", "U3", "U4"]
    for body in ({"blendUrls": urls[:1]}, {"blendUrls": urls, "blendDimensions": "Round"},
                 {"blendUrls": [urls[0], "http://127.0.0.1:9/gone.png"]}):
        response = await proxy.client.post("/v2/jobs/blend", json=body)
        assert response.status_code == 400, (body, response.text)
