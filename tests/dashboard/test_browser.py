"""The dashboard in real headless Chromium against a live sandbox server; each test saves a screenshot
(docs/screenshots/, shown in the README)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from typing import Any

import httpx
from PIL import Image

from tests.dashboard.conftest import PHONE, Site, screenshot


async def finished(site: Site, result: dict[str, Any]) -> dict[str, Any]:
    assert result["code"] in (1, 22), result
    task = await site.proxy.wait_for(result["result"])
    assert task["status"] == "SUCCESS", task["failReason"]
    return task


def button_id(task: dict[str, Any], label: str) -> str:
    return next(b["customId"] for b in task["buttons"] if label in (b["label"], b["emoji"]))


async def wait_status(page: Any, status: str, timeout_ms: int = 30_000) -> None:
    await page.wait_for_function(
        "s => document.querySelector('#task')?.dataset.status === s", arg=status, timeout=timeout_ms)


async def test_sign_in_with_a_key(site: Site) -> None:
    page = await site.page()
    await page.goto(f"{site.url}/")
    assert "/dashboard/login" in page.url, "a locked server sends the browser to the sign-in page"
    await page.get_by_label("API key").fill("mjp_not-a-real-key")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="not accepted").wait_for()
    await screenshot(page, "sign-in")

    await site.sign_in(page)
    await page.get_by_role("heading", name="Tasks").wait_for()
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Tasks", "Create", "Accounts", "API keys", "Callbacks"):
        assert await nav.get_by_role("link", name=name).count() == 1
    cookie = next(c for c in await site.browser.cookies() if c["name"] == "mjproxy_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"] != site.admin_key, "the cookie is an opaque session token, not the key"
    assert not page.errors


async def test_imagine_progress_rises_without_reloading(slow_site: Site) -> None:
    site = slow_site
    page = await site.page()
    await site.sign_in(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Create", exact=True).click()
    imagine = page.get_by_role("region", name="Imagine")
    await imagine.get_by_label("Prompt", exact=True).fill("a lighthouse at dusk")
    await imagine.get_by_label("Aspect ratio").select_option("3:2")
    await imagine.get_by_label("Stylize (0–1000)").fill("250")
    await imagine.get_by_role("button", name="Imagine").click()
    await page.wait_for_url("**/dashboard/tasks/*")
    await page.evaluate("window.__sameDocument = true")

    seen: list[int] = []
    deadline = time.monotonic() + 40
    screenshot_taken = False
    while time.monotonic() < deadline:
        value = int(await page.get_attribute("#task progress[data-field=progress]", "value") or 0)
        if not seen or value != seen[-1]:
            seen.append(value)
        if 0 < value < 100 and not screenshot_taken:
            await screenshot(page, "imagine-progress")
            screenshot_taken = True
        if await page.evaluate("document.querySelector('#task').dataset.status") == "SUCCESS":
            break
        await asyncio.sleep(0.1)
    assert await page.evaluate("window.__sameDocument === true"), "the page was never reloaded"
    assert any(0 < v < 100 for v in seen), f"progress seen: {seen}"
    assert seen == sorted(seen) and seen[-1] == 100, f"progress rises to 100: {seen}"
    assert screenshot_taken
    task_id = page.url.rsplit("/", 1)[-1]
    stored = await site.proxy.fetch(task_id)
    assert stored["status"] == "SUCCESS" and stored["prompt"].startswith("a lighthouse at dusk")
    assert "--ar 3:2" in stored["prompt"] and "--s 250" in stored["prompt"]
    await page.get_by_role("button", name="U2").wait_for()
    await screenshot(page, "task-grid")
    assert not page.errors


async def test_press_u2_and_see_the_upscale(site: Site) -> None:
    grid = await finished(site, await site.proxy.imagine("a red fox in the snow"))
    page = await site.page()
    await site.sign_in(page)
    await page.goto(f"{site.url}/dashboard/tasks/{grid['id']}")
    assert await page.get_by_role("img", name="Image 2 of the grid").count() == 1, "the four split images are shown"
    await page.get_by_role("button", name="U2", exact=True).click()
    await page.wait_for_url(lambda url: not url.endswith(grid["id"]))
    await wait_status(page, "SUCCESS")
    await page.get_by_role("heading", name="Upscale").wait_for()
    await page.get_by_role("link", name=f"Imagine {grid['id']}").wait_for()  # its parent
    upscale_id = page.url.rsplit("/", 1)[-1]
    upscale = await site.proxy.fetch(upscale_id)
    assert upscale["action"] == "UPSCALE" and upscale["parentId"] == grid["id"]
    assert await page.get_by_role("button", name="Vary (Region)").count() == 1
    await screenshot(page, "upscale")

    await page.goto(f"{site.url}/dashboard/tasks/{grid['id']}")
    children = page.get_by_role("region", name="From this task")
    await children.locator(f'[data-task-id="{upscale_id}"]').wait_for()
    assert not page.errors


async def test_paint_a_vary_region_mask_and_submit_it(site: Site) -> None:
    grid = await finished(site, await site.proxy.imagine("a cat on a chair"))
    upscale = await finished(site, (await site.proxy.client.post("/mj/submit/action", json={
        "taskId": grid["id"], "customId": button_id(grid, "U1")})).json())
    page = await site.page()
    await site.sign_in(page)
    await page.goto(f"{site.url}/dashboard/tasks/{upscale['id']}")
    await page.get_by_role("button", name="Vary (Region)").click()
    dialog = page.get_by_role("dialog", name="Vary (Region)")
    await dialog.wait_for()
    canvas = page.locator("#mask-canvas")
    await page.wait_for_function("document.querySelector('#mask-canvas').width > 0")
    box = await canvas.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    await page.mouse.down()
    for step in range(12):
        await page.mouse.move(box["x"] + box["width"] * (0.3 + step * 0.03), box["y"] + box["height"] * 0.45)
    await page.mouse.up()
    await dialog.get_by_label("Prompt").fill("a cat wearing a tiny hat")
    await screenshot(page, "vary-region-mask")

    async with page.expect_request("**/mj/submit/modal") as sent:
        await dialog.get_by_role("button", name="Submit").click()
    body = json.loads((await sent.value).post_data or "{}")
    mask = Image.open(io.BytesIO(base64.b64decode(body["maskBase64"].split(",", 1)[1]))).convert("L")
    async with httpx.AsyncClient() as client:
        original = Image.open(io.BytesIO((await client.get(upscale["imageUrl"])).content))
    assert mask.size == original.size, "the mask has the image's own size"
    low, high = mask.getextrema()
    assert (low, high) == (0, 255), "black where kept, white where painted"
    assert body["prompt"] == "a cat wearing a tiny hat"

    await page.wait_for_url(lambda url: "/dashboard/tasks/" in url and not url.endswith(upscale["id"]))
    await wait_status(page, "SUCCESS")
    varied = await site.proxy.fetch(page.url.rsplit("/", 1)[-1])
    assert varied["action"] == "VARIATION" and varied["parentId"] == upscale["id"]
    assert varied["prompt"].startswith("a cat wearing a tiny hat")
    await screenshot(page, "vary-region-result")
    assert not page.errors


async def test_reset_a_held_account(site: Site) -> None:
    site.emulator.config.trigger_embeds = {"trip-the-wire": "captcha"}
    tripped = await site.proxy.wait_for((await site.proxy.imagine("trip-the-wire fox"))["result"])
    assert tripped["status"] == "FAILURE"
    page = await site.page()
    await site.sign_in(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts", exact=True).click()
    account = page.locator(f'[data-account-id="{site.emulator.sandbox.channel_id}"]')
    await account.locator('[data-field="state"]', has_text="captcha_required").wait_for()
    assert (await account.locator('[data-field="reason"]').inner_text()).strip(), "the page says why"
    await screenshot(page, "accounts-held")
    await account.get_by_role("button", name="Reset").click()
    await account.locator('[data-field="state"]', has_text="ready").wait_for()
    await page.get_by_role("status").filter(has_text="reset done").wait_for()
    health = (await site.proxy.client.get("/healthz")).json()["accounts"][0]
    assert health["state"] == "ready"
    await screenshot(page, "accounts")
    assert not page.errors


async def test_add_an_account_with_a_masked_token(site: Site) -> None:
    other = site.emulator.add_account("second")
    page = await site.page()
    await site.sign_in(page)
    await page.goto(f"{site.url}/dashboard/accounts")
    await page.get_by_label("Name").fill("second")
    await page.get_by_label("Server (guild) id").fill(other.guild_id)
    await page.get_by_label("Channel id").fill(other.channel_id)
    await page.get_by_label("User token (entered once, shown masked afterwards)").fill(other.token)
    await page.get_by_role("button", name="Add account").click()
    added = page.locator(f'[data-account-id="{other.channel_id}"]')
    await added.wait_for()
    assert other.token not in await page.content(), "the token is never shown again"
    assert "…" in await added.locator("code").inner_text()
    assert await page.get_by_label("User token (entered once, shown masked afterwards)").input_value() == ""
    await added.locator('[data-field="state"]', has_text="ready").wait_for(timeout=20_000)


async def test_create_and_revoke_a_key(site: Site) -> None:
    page = await site.page()
    await site.sign_in(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys", exact=True).click()
    await page.get_by_label("Name").fill("chat front end")
    await page.get_by_label("Scope").select_option("user")
    await page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("New key")
    await shown.wait_for()
    key = await shown.input_value()
    assert key.startswith("mjp_")
    await screenshot(page, "api-keys")
    assert (await site.proxy.client.get("/mj/task/list", headers={"Authorization": f"Bearer {key}"})).status_code == 200

    await page.reload()
    assert key not in await page.content(), "the secret is shown once only"
    await page.get_by_role("button", name="Revoke chat front end").click()
    row = page.locator("tr", has_text="chat front end")
    await row.locator('[data-field="state"]', has_text="revoked").wait_for()
    answer = await site.proxy.client.get("/mj/task/list", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401, "a revoked key stops working at once"
    assert not page.errors


async def test_a_user_key_sees_none_of_another_keys_tasks(site: Site) -> None:
    alice, bob = await site.create_key("alice"), await site.create_key("bob")
    alices = await finished(site, (await site.proxy.client.post(
        "/mj/submit/imagine", json={"prompt": "alice's secret garden"}, headers=site.headers(alice))).json())
    bobs = await finished(site, (await site.proxy.client.post(
        "/mj/submit/imagine", json={"prompt": "bob's boat"}, headers=site.headers(bob))).json())
    page = await site.page(PHONE)
    await site.sign_in(page, bob)
    gallery = page.locator("#gallery")
    await gallery.locator(f'[data-task-id="{bobs["id"]}"]').wait_for()
    assert await gallery.locator(f'[data-task-id="{alices["id"]}"]').count() == 0
    assert "secret garden" not in await page.content()
    nav = page.get_by_role("navigation", name="Main")
    assert await nav.get_by_role("link", name="Accounts").count() == 0, "a user key has no admin pages"
    await screenshot(page, "user-key-phone")

    answer = await page.goto(f"{site.url}/dashboard/tasks/{alices['id']}")
    assert answer is not None and answer.status == 404
    answer = await page.goto(f"{site.url}/dashboard/accounts")
    assert answer is not None and answer.status == 403
    answer = await page.goto(f"{site.url}/dashboard/?key={alice}")
    assert "secret garden" not in await page.content(), "a user key cannot filter its way to another's tasks"
    fetched = await page.evaluate("id => fetch(`/mj/task/${id}/fetch`).then(r => r.status)", alices["id"])
    assert fetched == 404, "the session cookie gives the key's own isolation on the JSON routes too"
    assert not page.errors
