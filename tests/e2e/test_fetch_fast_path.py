"""The fetch fast path (api/mj/fast_fetch.py) answers exactly what the FastAPI route answers, or steps aside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import mjproxy.api.app as app_module
from mjproxy.api.mj.fast_fetch import fetch_task_id
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_proxy

ADMIN_SECRET = "admin-secret-for-the-fast-path"


@pytest.fixture
async def secured(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = proxy_settings(emulator, tmp_path, server={"admin_secret": ADMIN_SECRET})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = ADMIN_SECRET
        yield proxy


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For each GET of a fetch path: did the fast path answer it (True) or step aside for the route (False)."""
    seen: list[bool] = []
    original = app_module.answer_fetch

    async def spy(scope: dict[str, Any], service: Any, send: Any) -> bool:
        done = await original(scope, service, send)
        if scope["path"].endswith("/fetch"):
            seen.append(done)
        return done

    monkeypatch.setattr(app_module, "answer_fetch", spy)
    yield seen


async def key(proxy: Proxy, name: str) -> httpx.AsyncClient:
    response = await proxy.client.post("/mj/api-key/create", json={"name": name, "scope": "user"})
    assert response.status_code == 200, response.text
    return httpx.AsyncClient(base_url=proxy.base_url, timeout=30,
                             headers={"Authorization": f"Bearer {response.json()['key']}"})


async def test_the_fast_path_answers_the_routes_bytes_and_steps_aside_for_everything_else(
        secured: Proxy, answered: list[bool]) -> None:
    alice, bob = await key(secured, "alice"), await key(secured, "bob")
    try:
        submitted = (await alice.post("/mj/submit/imagine", json={"prompt": "a red kite"})).json()
        task_id = submitted["result"]
        secured.client = alice
        await secured.wait_for(task_id)
        answered.clear()

        fast = await alice.get(f"/mj/task/{task_id}/fetch")
        routed = await alice.get(f"/mj/task/{task_id}/fetch", params={"withBase64": "false"})
        prefixed = await alice.get(f"/mj-fast/mj/task/{task_id}/fetch")
        assert answered == [True, False, True]
        assert fast.status_code == routed.status_code == prefixed.status_code == 200
        assert fast.content == routed.content == prefixed.content
        assert fast.json()["status"] == "SUCCESS" and fast.json()["buttons"]
        for name in ("content-type", "content-length"):
            assert fast.headers[name] == routed.headers[name]

        answered.clear()
        other = await bob.get(f"/mj/task/{task_id}/fetch")  # another key's task: 404, as if it did not exist
        unknown = await alice.get("/mj/task/9999999999999999/fetch")
        refused = await alice.get(f"/mj/task/{task_id}/fetch", headers={"Authorization": "Bearer mjp_not-a-key"})
        anonymous = await httpx.AsyncClient(base_url=secured.base_url).get(f"/mj/task/{task_id}/fetch")
        browser = await alice.get(f"/mj/task/{task_id}/fetch", headers={"Origin": "https://example.test"})
        assert answered == [False, False, False, False, False]
        assert (other.status_code, unknown.status_code, refused.status_code, anonymous.status_code) == (
            404, 404, 401, 401)
        assert browser.status_code == 200 and browser.content == fast.content
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_an_open_server_answers_every_caller_on_the_fast_path(proxy: Proxy, answered: list[bool]) -> None:
    task_id = (await proxy.client.post("/mj/submit/imagine", json={"prompt": "a blue kite"})).json()["result"]
    await proxy.wait_for(task_id)
    answered.clear()
    fast = await proxy.client.get(f"/mj/task/{task_id}/fetch")
    assert answered == [True] and fast.json()["id"] == task_id


@pytest.mark.parametrize(("path", "query", "method", "expected"), [
    ("/mj/task/123/fetch", b"", "GET", "123"),
    ("/mj-relax/mj/task/123/fetch", b"", "GET", "123"),
    ("/mj/task/123/fetch", b"withBase64=true", "GET", None),
    ("/mj/task/123/fetch", b"", "POST", None),
    ("/mj/task//fetch", b"", "GET", None),
    ("/mj/task/1/2/fetch", b"", "GET", None),
    ("/other/mj/task/123/fetch", b"", "GET", None),
    ("/mj/task/123/fetchx", b"", "GET", None),
])
def test_which_requests_the_fast_path_takes(path: str, query: bytes, method: str, expected: str | None) -> None:
    scope = {"type": "http", "method": method, "path": path, "query_string": query, "root_path": "", "headers": []}
    assert fetch_task_id(scope) == expected
