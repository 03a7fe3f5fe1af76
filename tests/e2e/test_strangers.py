"""Strangers learn nothing (issue 11 §2): /healthz without an admin credential, 403 for a credential without
the right, and URLs we hand to Discord for Midjourney to fetch pass the same public-address guard as our own
fetches (schemes compared case-insensitively)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import proxy_settings, running_proxy

NO_ALLOW_LIST = {"fetch_allow": []}
ACCOUNT_SYNC = {"info", "settings"}
ADMIN = "admin-secret-0123456789"
USER = "user-secret-0123456789"


def jobs_sent(emulator: Emulator) -> list[str]:
    return [str(i.data.get("name") or i.data.get("custom_id")) for i in emulator.world.interactions.values()
            if i.data.get("name") not in ACCOUNT_SYNC]


async def test_healthz_tells_only_admins_about_accounts(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": USER, "admin_secret": ADMIN})
    async with running_proxy(settings) as proxy:
        anonymous = (await proxy.client.get("/healthz")).json()
        wrong = (await proxy.client.get("/healthz", headers={"mj-api-secret": "wrong"})).json()
        user = (await proxy.client.get("/healthz", headers={"mj-api-secret": USER})).json()
        admin = (await proxy.client.get("/healthz", headers={"Authorization": f"Bearer {ADMIN}"})).json()
    for answer in (anonymous, wrong, user):
        assert set(answer) == {"status", "version"} and answer["status"] == "ok", answer
    text = str([anonymous, wrong, user])
    for detail in (emulator.sandbox.channel_id, emulator.sandbox.guild_id, "userToken", "userAgent"):
        assert detail not in text
    assert admin["accounts"][0]["id"] == emulator.sandbox.channel_id
    assert {"sandbox", "tasks", "images"} <= set(admin)


async def test_an_open_server_still_shows_its_health(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        health = (await proxy.client.get("/healthz")).json()
    assert health["accounts"][0]["state"] == "ready"  # no credential configured: the local, single-user default


PRIVATE = ["http://127.0.0.1:8080/cat.png", "HTTP://10.0.0.1/cat.png", "https://[::1]/x.png",
           "Http://169.254.169.254/latest/meta-data/", "http://192.168.1.10/a.jpg", "http://localhost/a.png"]


@pytest.mark.parametrize("url", PRIVATE)
async def test_urls_handed_to_midjourney_must_be_public(emulator: Emulator, tmp_path: Path, url: str) -> None:
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST)
    async with running_proxy(settings) as proxy:
        for path, body in [("/mj/submit/describe", {"link": url}),
                           ("/mj/submit/imagine", {"prompt": f"{url} a cat in the style of the image"}),
                           ("/mj/submit/imagine", {"prompt": f"a cat --sref {url}"}),
                           ("/mj/submit/shorten", {"prompt": f"{url} a very long prompt about a cat"})]:
            refused = (await proxy.client.post(path, json=body)).json()
            assert refused["code"] == 4 and "refused" in refused["description"], (path, refused)
        for path, v2 in [("/v2/jobs/describe", {"describeUrl": url}),
                         ("/v2/jobs/imagine", {"prompt": f"{url} a cat"})]:
            response = await proxy.client.post(path, json=v2)
            assert response.status_code == 400, (path, response.text)
            assert "refused" in response.json()["error"] and response.json()["code"] == 400
        assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
    assert jobs_sent(emulator) == []  # nothing was handed to Discord


async def test_public_and_unresolvable_links_are_forwarded(emulator: Emulator, tmp_path: Path) -> None:
    # A name that does not resolve here cannot lead Midjourney into our network: it is passed on.
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST)
    async with running_proxy(settings) as proxy:
        for body in [{"link": "https://example.invalid/cat.png"}, {"link": "HTTPS://93.184.215.14/cat.png"}]:
            accepted = (await proxy.client.post("/mj/submit/describe", json=body)).json()
            assert accepted["code"] == 1, accepted
            await proxy.wait_for(accepted["result"])


async def test_remix_prompts_with_private_links_are_refused(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST)
    async with running_proxy(settings) as proxy:
        grid = await proxy.wait_for((await proxy.imagine("a lighthouse"))["result"])
        upscale = (await proxy.client.post("/mj/submit/action", json={
            "taskId": grid["id"], "customId": next(b["customId"] for b in grid["buttons"] if b["label"] == "U1")}))
        upscaled = await proxy.wait_for(upscale.json()["result"])
        zoom = next(b["customId"] for b in upscaled["buttons"] if b["label"] == "Custom Zoom")
        opened = (await proxy.client.post("/mj/submit/action", json={"taskId": upscaled["id"],
                                                                     "customId": zoom})).json()
        assert opened["code"] == 21
        sent_before = len(jobs_sent(emulator))
        refused = (await proxy.client.post("/mj/submit/modal", json={
            "taskId": opened["result"], "prompt": "http://10.1.2.3/x.png a lighthouse --zoom 2"})).json()
        assert refused["code"] == 4 and "prompt refused" in refused["description"]
        assert len(jobs_sent(emulator)) == sent_before
        assert (await proxy.fetch(opened["result"]))["status"] == "MODAL"  # still waiting for a good prompt


async def test_hooks_are_checked_whatever_the_scheme_case(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST)
    async with running_proxy(settings) as proxy:
        refused = (await proxy.client.post("/mj/submit/imagine", json={
            "prompt": "a cat", "notifyHook": "HTTP://127.0.0.1:9/hook"})).json()
        assert refused["code"] == 4 and "loopback" in refused["description"]
        v2 = await proxy.client.post("/v2/jobs/imagine", json={"prompt": "a cat", "replyUrl": "hTTp://10.0.0.1/"})
        assert v2.status_code == 400 and "private" in v2.json()["error"]
        upper = await proxy.client.post("/mj/submit/describe", json={
            "base64": "DATA:image/png;base64,iVBORw0KGgo="})  # a data URL's scheme is case-insensitive too
        assert "data URL" not in upper.json()["description"], upper.json()
