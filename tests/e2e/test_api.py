"""The HTTP surface: authentication, bad input, health, and the sandbox default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjproxy.config import Settings
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, start_proxy


@pytest.mark.parametrize(("body", "fragment"), [
    ({"prompt": ""}, "prompt is required"),
    ({"prompt": "   "}, "prompt is required"),
    ({}, "prompt is required"),
    ({"prompt": "x" * 4001}, "too long"),
    ({"prompt": 123}, "prompt"),
    ({"prompt": "cat", "notifyHook": "ftp://example.org/hook"}, "notifyHook"),
    ({"prompt": "cat", "botType": "SOMETHING"}, "botType"),
    ({"prompt": "cat", "accountFilter": {"instanceId": "999"}}, "no available account"),
])
async def test_bad_imagine_input_gets_a_clear_code_4_or_3(proxy: Proxy, body: dict[str, object],
                                                          fragment: str) -> None:
    response = await proxy.client.post("/mj/submit/imagine", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["code"] in (3, 4)
    assert fragment in result["description"]
    assert result["result"] is None


async def test_malformed_json_is_a_400_with_a_clear_message(proxy: Proxy) -> None:
    response = await proxy.client.post("/mj/submit/imagine", content=b"{not json",
                                       headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == 4
    assert "malformed JSON" in response.json()["description"]


async def test_unknown_task_is_404_and_wrong_types_are_422(proxy: Proxy) -> None:
    missing = await proxy.client.get("/mj/task/1234567890123456/fetch")
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]
    wrong = await proxy.client.post("/mj/task/list-by-condition", json={"ids": "not-a-list"})
    assert wrong.status_code == 422
    assert "ids" in wrong.json()["detail"]
    paging = await proxy.client.get("/mj/task/list", params={"page": 0})
    assert paging.status_code == 422


async def test_banned_word_prefilter_answers_24_before_discord(emulator: Emulator, tmp_path: Path) -> None:
    proxy = await start_proxy(proxy_settings(emulator, tmp_path, engine={"banned_words": ["forbidden"]}))
    try:
        blocked = await proxy.imagine("a Forbidden garden")
        allowed = await proxy.imagine("a forbiddenly nice garden")  # whole words only
    finally:
        await proxy.stop()
    assert blocked["code"] == 24
    assert blocked["properties"]["bannedWord"] == "Forbidden"
    assert allowed["code"] == 1


async def test_api_secret_is_enforced(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "s3cret-value"})
    proxy = await start_proxy(settings)
    try:
        denied = await proxy.client.post("/mj/submit/imagine", json={"prompt": "cat"})
        wrong = await proxy.client.get("/mj/task/list", headers={"mj-api-secret": "nope"})
        allowed = await proxy.client.post("/mj/submit/imagine", json={"prompt": "cat"},
                                          headers={"mj-api-secret": "s3cret-value"})
        prefixed = await proxy.client.post("/mj-relax/mj/submit/imagine", json={"prompt": "cat"})
        health = await proxy.client.get("/healthz")
    finally:
        await proxy.stop()
    assert denied.status_code == 401 and wrong.status_code == 401 and prefixed.status_code == 401
    assert allowed.status_code == 200 and allowed.json()["code"] == 1
    assert health.status_code == 200


async def test_tokens_never_reach_responses(emulator: Emulator, proxy: Proxy) -> None:
    task_id = (await proxy.imagine("a lantern"))["result"]
    await proxy.wait_for(task_id)
    bodies = [
        (await proxy.client.get("/healthz")).text,
        (await proxy.client.get(f"/mj/task/{task_id}/fetch")).text,
        (await proxy.client.get("/mj/task/list")).text,
        (await proxy.client.get("/openapi.json")).text,
    ]
    for body in bodies:
        assert emulator.sandbox.token not in body
    health = json.loads(bodies[0])
    assert health["accounts"][0]["userToken"].count("…") == 1


async def test_openapi_docs_are_served(proxy: Proxy) -> None:
    assert (await proxy.client.get("/docs")).status_code == 200
    spec = (await proxy.client.get("/openapi.json")).json()
    assert "/mj/submit/imagine" in spec["paths"]


async def test_sandbox_starts_by_default_and_says_so(tmp_path: Path) -> None:
    settings = Settings(storage={"database_url": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
                                 "data_dir": str(tmp_path)},
                        sandbox={"job_duration_seconds": 0})
    proxy = await start_proxy(settings)
    try:
        health = (await proxy.client.get("/healthz")).json()
        task_id = (await proxy.imagine("a sandbox castle"))["result"]
        task = await proxy.wait_for(task_id)
    finally:
        await proxy.stop()
    assert health["sandbox"]["enabled"] is True
    assert health["accounts"][0]["name"] == "sandbox"
    assert health["accounts"][0]["state"] == "ready"
    assert task["status"] == "SUCCESS"
