"""API keys end to end: scopes, per-key isolation on every task route, revocation, the open-server rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from mjproxy.domain.api_keys import hash_key
from mjproxy.emulator import Emulator
from tests.e2e.harness import HookReceiver, Proxy, button, proxy_settings, running_proxy

ADMIN_SECRET = "admin-secret-for-the-tests"


class Caller:
    """One credential's view of the API."""

    def __init__(self, proxy: Proxy, credential: str, *, bearer: bool = True) -> None:
        headers = {"Authorization": f"Bearer {credential}"} if bearer else {"mj-api-secret": credential}
        self.client = httpx.AsyncClient(base_url=proxy.base_url, timeout=30, headers=headers)
        self.proxy = proxy

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def imagine(self, prompt: str, **extra: Any) -> str:
        result = await self.post("/mj/submit/imagine", {"prompt": prompt, **extra})
        assert result["code"] == 1, result
        return str(result["result"])

    async def finished(self, task_id: str) -> dict[str, Any]:
        # Polled with this caller's own credential: the owner can always read its task.
        original = self.proxy.client
        self.proxy.client = self.client
        try:
            return await self.proxy.wait_for(task_id)
        finally:
            self.proxy.client = original


async def create_key(proxy: Proxy, name: str, scope: str = "user") -> dict[str, Any]:
    response = await proxy.client.post("/mj/api-key/create", json={"name": name, "scope": scope})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["key"].startswith("mjp_") and body["scope"] == scope
    return body


@pytest.fixture
async def secured(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = proxy_settings(emulator, tmp_path, server={"admin_secret": ADMIN_SECRET})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = ADMIN_SECRET
        yield proxy


async def test_a_user_key_sees_only_its_own_tasks_on_every_route(secured: Proxy, hooks: HookReceiver) -> None:
    proxy = secured
    alice = Caller(proxy, (await create_key(proxy, "alice"))["key"])
    bob = Caller(proxy, (await create_key(proxy, "bob"))["key"], bearer=False)  # the mj-api-secret header
    try:
        grid_id = await alice.imagine("a lighthouse at dusk", notifyHook=hooks.url)
        grid = await alice.finished(grid_id)
        assert grid["status"] == "SUCCESS"
        bobs = await bob.imagine("a quiet harbour")
        await bob.finished(bobs)

        # fetch, list, list-by-condition / list-by-ids, queue, image-seed: as if alice's task did not exist
        assert (await bob.client.get(f"/mj/task/{grid_id}/fetch")).status_code == 404
        listed = await bob.client.get("/mj/task/list")
        assert [t["id"] for t in listed.json()] == [bobs] and listed.headers["X-Total-Count"] == "1"
        for path in ("/mj/task/list-by-condition", "/mj/task/list-by-ids"):
            assert [t["id"] for t in (await bob.post(path, {"ids": [grid_id, bobs]}))] == [bobs]
        assert grid_id not in [t["id"] for t in (await bob.client.get("/mj/task/queue")).json()]
        seed = await bob.client.get(f"/mj/task/{grid_id}/image-seed")
        assert seed.status_code == 404 and seed.json()["code"] == 3

        # buttons on a foreign parent: "not found" (code 3), never "forbidden", so existence does not leak
        upscale = button(grid, "U1")
        for path, body in [("/mj/submit/action", {"taskId": grid_id, "customId": upscale}),
                           ("/mj/submit/change", {"taskId": grid_id, "action": "UPSCALE", "index": 1}),
                           ("/mj/submit/simple-change", {"content": f"{grid_id} U1"})]:
            refused = await bob.post(path, body)
            assert refused["code"] == 3, (path, refused)
            assert "does not exist" in refused["description"]

        # alice's own follow-ups are hers: an upscale, then a modal (Custom Zoom) bob cannot confirm
        upscaled_id = (await alice.post("/mj/submit/action", {"taskId": grid_id, "customId": upscale}))["result"]
        upscaled = await alice.finished(upscaled_id)
        assert (await bob.client.get(f"/mj/task/{upscaled_id}/fetch")).status_code == 404
        opened = await alice.post("/mj/submit/action", {"taskId": upscaled_id,
                                                        "customId": button(upscaled, "Custom Zoom")})
        assert opened["code"] == 21
        stolen = await bob.post("/mj/submit/modal", {"taskId": opened["result"], "prompt": "mine --zoom 2"})
        assert stolen["code"] == 3
        assert (await alice.client.get(f"/mj/task/{opened['result']}/fetch")).json()["status"] == "MODAL"

        # alice sees hers and not bob's
        assert (await alice.client.get(f"/mj/task/{bobs}/fetch")).status_code == 404
        mine = {t["id"] for t in (await alice.client.get("/mj/task/list")).json()}
        assert mine == {grid_id, upscaled_id, opened["result"]}

        # the admin sees everything, and a button it presses on alice's task makes a task alice owns
        everything = {t["id"] for t in (await proxy.client.get("/mj/task/list")).json()}
        assert {grid_id, upscaled_id, bobs} <= everything
        by_admin = (await proxy.client.post("/mj/submit/action", json={"taskId": grid_id,
                                                                       "customId": button(grid, "U2")})).json()
        assert by_admin["code"] == 1
        assert (await alice.client.get(f"/mj/task/{by_admin['result']}/fetch")).status_code == 200
        assert (await bob.client.get(f"/mj/task/{by_admin['result']}/fetch")).status_code == 404

        # callbacks carry only the task they were asked for
        assert hooks.bodies and {b["id"] for b in hooks.bodies} == {grid_id}
    finally:
        await alice.client.aclose()
        await bob.client.aclose()


async def test_scopes_and_revocation(secured: Proxy) -> None:
    proxy = secured
    user_key = await create_key(proxy, "ci")
    admin_key = await create_key(proxy, "ops", scope="admin")
    user = Caller(proxy, user_key["key"])
    admin = Caller(proxy, admin_key["key"])
    try:
        task_id = await user.imagine("a red kite")
        # a valid key without the right: 403 on every admin route of every face (401 is for bad credentials)
        for path in ("/mj/account/list", "/mj/api-key/list", "/mj/admin/callbacks", "/v2/account/midjourney"):
            refused = await user.client.get(path)
            assert refused.status_code == 403, (path, refused.text)
        assert (await user.client.get("/v2/account/midjourney")).json() == {
            "error": "Forbidden: this API token may not manage accounts", "code": 403}
        assert (await user.client.post("/mj/api-key/create", json={"name": "escalate", "scope": "admin"})
                ).status_code == 403
        wrong = httpx.AsyncClient(base_url=proxy.base_url, headers={"Authorization": "Bearer mjp_wrong"})
        try:
            assert (await wrong.get("/mj/account/list")).status_code == 401
            assert (await wrong.get("/v2/account/midjourney")).json() == {"error": "Unauthorized", "code": 401}
        finally:
            await wrong.aclose()
        assert (await admin.client.get("/mj/account/list")).status_code == 200
        assert (await admin.client.get(f"/mj/task/{task_id}/fetch")).status_code == 200  # admin keys see all
        assert (await admin.client.get("/mj/task/list")).headers["X-Total-Count"] == "1"

        listed = (await proxy.client.get("/mj/api-key/list")).json()
        assert {k["id"] for k in listed} == {user_key["id"], admin_key["id"]}
        assert all("key" not in k and "key_hash" not in k for k in listed)

        revoked = await proxy.client.post(f"/mj/api-key/{user_key['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        assert (await user.client.get(f"/mj/task/{task_id}/fetch")).status_code == 401  # at once
        assert (await proxy.client.post("/mj/api-key/nope/revoke")).status_code == 404
        unknown = await proxy.client.get("/mj/task/list", headers={"mj-api-secret": "mjp_" + "x" * 43})
        assert unknown.status_code == 401
        bad_scope = await proxy.client.post("/mj/api-key/create", json={"name": "x", "scope": "root"})
        assert bad_scope.status_code == 422
    finally:
        await user.client.aclose()
        await admin.client.aclose()


async def test_an_open_server_refuses_anonymous_key_creation_and_the_first_key_closes_it(
        emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = proxy_settings(emulator, tmp_path)
    async with running_proxy(settings) as proxy:
        assert "OPEN SERVER" in caplog.text and "mjproxy keys create --scope admin" in caplog.text  # the banner
        assert (await proxy.client.get("/mj/task/list")).status_code == 200  # no secret, no key: open
        for method, path in [("POST", "/mj/api-key/create"), ("GET", "/mj/api-key/list"),
                             ("POST", "/mj/api-key/x/revoke")]:
            refused = await proxy.client.request(method, path, json={"name": "sneaky", "scope": "admin"})
            assert refused.status_code == 403, refused.text
            assert "mjproxy keys create --scope admin" in refused.json()["detail"]
        assert proxy.runtime.keys is not None
        assert await proxy.runtime.keys.list() == []  # nothing was created
        # The operator creates the first admin key on the server (what `mjproxy keys create` does).
        record, secret = await proxy.runtime.keys.create("first admin", "admin")
        key = {**record.to_json(), "key": secret}
        assert (await proxy.client.get("/mj/task/list")).status_code == 401
        assert (await proxy.client.post("/mj/api-key/create", json={"name": "sneaky"})).status_code == 401
        allowed = await proxy.client.get("/mj/task/list", headers={"Authorization": f"Bearer {key['key']}"})
        assert allowed.status_code == 200
        made = await proxy.client.post("/mj/api-key/create", json={"name": "ci"},
                                       headers={"Authorization": f"Bearer {key['key']}"})
        assert made.status_code == 200 and made.json()["key"].startswith("mjp_")
    database = Path(str(make_url(settings.storage.database_url).database))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert key["key"].encode() not in stored and key["key"][4:].encode() not in stored
    # ...and it stays closed after a restart: the keys are in the database
    async with running_proxy(settings) as proxy:
        assert (await proxy.client.get("/mj/task/list")).status_code == 401
        allowed = await proxy.client.get("/mj/task/list", headers={"mj-api-secret": key["key"]})
        assert allowed.status_code == 200


async def test_the_shared_secrets_keep_working_next_to_keys(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "shared-api-secret"})
    async with running_proxy(settings) as proxy:
        proxy.client.headers["mj-api-secret"] = "shared-api-secret"
        key = await create_key(proxy, "tenant")  # api_secret without admin_secret is the admin credential
        tenant = Caller(proxy, key["key"])
        try:
            theirs = await tenant.imagine("a tenant's cat")
            ours = (await proxy.client.post("/mj/submit/imagine", json={"prompt": "a shared cat"})).json()["result"]
            assert (await proxy.client.get(f"/mj/task/{theirs}/fetch")).status_code == 200
            assert (await tenant.client.get(f"/mj/task/{ours}/fetch")).status_code == 404
        finally:
            await tenant.client.aclose()


async def test_keys_from_the_configuration(emulator: Emulator, tmp_path: Path) -> None:
    plain_key = "mjp_" + "k" * 40
    hashed_key = "mjp_" + "h" * 40
    configured = [{"name": "from file", "scope": "user", "key": plain_key},
                  {"name": "ops", "scope": "admin", "sha256": hash_key(hashed_key)}]
    settings = proxy_settings(emulator, tmp_path, security={"api_keys": configured})
    async with running_proxy(settings) as proxy:
        assert (await proxy.client.get("/mj/task/list")).status_code == 401  # configured keys close the server
        user = Caller(proxy, plain_key)
        admin = Caller(proxy, hashed_key)
        try:
            await user.imagine("a configured cat")
            assert (await user.client.get("/mj/account/list")).status_code == 403  # a user key: not allowed
            listed = (await admin.client.get("/mj/api-key/list")).json()
            assert {(k["name"], k["scope"]) for k in listed} == {("from file", "user"), ("ops", "admin")}
            revoked = next(k["id"] for k in listed if k["scope"] == "user")
            assert (await admin.client.post(f"/mj/api-key/{revoked}/revoke")).status_code == 200
        finally:
            await user.client.aclose()
            await admin.client.aclose()
    database = Path(str(make_url(settings.storage.database_url).database))
    assert plain_key.encode() not in b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    async with running_proxy(settings) as proxy:  # a restart does not bring the revoked key back
        assert (await proxy.client.get("/mj/task/list", headers={"mj-api-secret": plain_key})).status_code == 401
        assert (await proxy.client.get("/mj/task/list", headers={"mj-api-secret": hashed_key})).status_code == 200


@pytest.mark.parametrize(("entry", "fragment"), [
    ({"name": "x"}, "exactly one"),
    ({"key": "mjp_short"}, "at least 32"),
    ({"key": "not-prefixed-" + "x" * 40}, "mjp_"),
    ({"sha256": "abc"}, "64 hexadecimal"),
    ({"key": "mjp_" + "x" * 40, "scope": "root"}, "scope"),
])
def test_bad_configured_keys_are_clear_errors(entry: dict[str, str], fragment: str) -> None:
    from mjproxy.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=fragment):
        load_settings(security={"api_keys": [entry]})
