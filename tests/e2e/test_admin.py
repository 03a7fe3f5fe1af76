"""The admin API: accounts managed at run time over HTTP, against the emulator.

Every response any test here receives is checked for raw tokens (see ``admin``): DESIGN invariant 6.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjproxy.emulator import Emulator, SandboxAccount
from mjproxy.emulator.state import make_token
from tests.e2e.harness import Proxy, proxy_settings, running_proxy, start_proxy


def never_leaks_tokens(client: httpx.AsyncClient, emulator: Emulator) -> None:
    """Fail any request whose response body carries a raw user token of any emulated account."""

    async def check(response: httpx.Response) -> None:
        body = (await response.aread()).decode(errors="replace")
        for account in emulator.accounts:
            assert account.token not in body, f"{response.request.url} leaked the token of {account.username}"
        for user in emulator.world.state.users.values():  # rotated tokens too
            assert user.token not in body, f"{response.request.url} leaked the token of {user.username}"

    client.event_hooks["response"].append(check)


@pytest.fixture
async def admin(proxy: Proxy, emulator: Emulator) -> Proxy:
    never_leaks_tokens(proxy.client, emulator)
    return proxy


def body_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    return response.json()


async def fetch(proxy: Proxy, account_id: str) -> dict[str, Any]:
    result: dict[str, Any] = body_of(await proxy.client.get(f"/mj/account/{account_id}/fetch"))
    return result


async def wait_state(proxy: Proxy, account_id: str, state: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        account = await fetch(proxy, account_id)
        if account["state"] == state:
            return account
        if time.monotonic() > deadline:
            raise AssertionError(f"account {account_id} is {account['state']} ({account.get('reason')}), "
                                 f"not {state}, after {timeout}s")
        await asyncio.sleep(0.05)


def create_body(account: SandboxAccount, **extra: Any) -> dict[str, Any]:
    return {"guildId": account.guild_id, "channelId": account.channel_id, "userToken": account.token, **extra}


async def create(proxy: Proxy, account: SandboxAccount, **extra: Any) -> dict[str, Any]:
    created: dict[str, Any] = body_of(await proxy.client.post("/mj/account/create",
                                                              json=create_body(account, **extra)))
    return created


async def pinned_imagine(proxy: Proxy, account_id: str, prompt: str = "a lighthouse") -> dict[str, Any]:
    return await proxy.imagine(prompt, accountFilter={"instanceId": account_id})


def emulated_user(emulator: Emulator, account: SandboxAccount) -> Any:
    return emulator.bot.user(account.user_id)


# -- reading --------------------------------------------------------------------------------------


async def test_list_fetch_and_query(admin: Proxy, emulator: Emulator) -> None:
    sandbox = emulator.sandbox
    accounts = body_of(await admin.client.get("/mj/account/list"))
    assert [a["id"] for a in accounts] == [sandbox.channel_id]
    account = accounts[0]
    assert (account["channelId"], account["guildId"], account["state"]) == (sandbox.channel_id,
                                                                             sandbox.guild_id, "ready")
    assert account["enable"] is True
    assert account["userToken"] == f"{sandbox.token[:3]}…{sandbox.token[-3:]}"
    assert {"coreSize", "queueSize", "timeoutMinutes", "running", "queued", "modes", "profile"} <= set(account)
    assert account["modes"] == ["FAST", "RELAX", "TURBO"]

    assert (await fetch(admin, sandbox.channel_id))["id"] == sandbox.channel_id
    missing = await admin.client.get("/mj/account/123/fetch")
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]

    await create(admin, emulator.add_account())
    first = body_of(await admin.client.post("/mj/account/query", json={"pageNumber": 0, "pageSize": 1}))
    assert (first["totalElements"], first["pageNumber"], first["pageSize"]) == (2, 0, 1)
    assert [a["id"] for a in first["content"]] == [sandbox.channel_id]
    second = body_of(await admin.client.post("/mj/account/query", json={"pagination": {"pageNumber": 1,
                                                                                       "pageSize": 1}}))
    assert len(second["content"]) == 1 and second["content"][0]["id"] != sandbox.channel_id
    everything = body_of(await admin.client.post("/mj/account/query"))
    assert everything["totalElements"] == 2 and len(everything["content"]) == 2
    bad = await admin.client.post("/mj/account/query", json={"pageSize": 0})
    assert bad.status_code == 422 and "pageSize" in bad.json()["detail"]


# -- creating -------------------------------------------------------------------------------------


async def test_create_an_account_that_connects_and_runs_pinned_work(admin: Proxy, emulator: Emulator) -> None:
    second = emulator.add_account("second")
    created = await create(admin, second, name="second", coreSize=2, queueSize=5, remark="team b",
                           modes=["RELAX", "FAST"], dailyLimit=100, minIntervalSeconds=0,
                           fastExhaustedPolicy="remove", enable=True)
    assert created["id"] == second.channel_id
    assert (created["name"], created["coreSize"], created["queueSize"], created["remark"]) == ("second", 2, 5,
                                                                                                 "team b")
    assert created["modes"] == ["RELAX", "FAST"]
    assert created["fastExhaustedPolicy"] == "remove"
    assert created["dailyLimit"] == 100
    assert created["state"] in ("connecting", "ready")
    await wait_state(admin, second.channel_id, "ready")

    submitted = await pinned_imagine(admin, second.channel_id)
    assert submitted["code"] == 1, submitted
    task = await admin.wait_for(submitted["result"])
    assert task["status"] == "SUCCESS"
    assert task["properties"]["discordInstanceId"] == second.channel_id
    assert any(job.channel_id == second.channel_id for job in emulator.jobs)

    again = await admin.client.post("/mj/account/create", json=create_body(second))
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


@pytest.mark.parametrize(("change", "fragment"), [
    ({"guildId": "not-a-number"}, "guildId"),
    ({"channelId": None}, "channelId"),
    ({"userToken": "   "}, "userToken"),
    ({"userToken": "abc…xyz"}, "masked token"),
    ({"coreSize": 0}, "coreSize"),
    ({"queueSize": -1}, "queueSize"),
    ({"timeoutMinutes": 0}, "timeoutMinutes"),
    ({"modes": ["FAST", "SLOW"]}, "modes"),
    ({"modes": []}, "modes"),
    ({"fastExhaustedPolicy": "panic"}, "fastExhaustedPolicy"),
    ({"weight": -1}, "weight"),
])
async def test_create_refuses_bad_input_readably(admin: Proxy, emulator: Emulator, change: dict[str, Any],
                                                 fragment: str) -> None:
    body = {**create_body(emulator.add_account()), **change}
    response = await admin.client.post("/mj/account/create", json=body)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]
    assert len(body_of(await admin.client.get("/mj/account/list"))) == 1


async def test_created_accounts_and_edits_survive_a_restart(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path)
    second = emulator.add_account("second")
    async with running_proxy(settings) as proxy:
        never_leaks_tokens(proxy.client, emulator)
        await create(proxy, second, remark="made at run time")
        body_of(await proxy.client.put(f"/mj/account/{emulator.sandbox.channel_id}/update", json={"coreSize": 7}))
    # The configuration still says core_size 3 for the sandbox account: the stored edit wins.
    async with running_proxy(settings) as proxy:
        never_leaks_tokens(proxy.client, emulator)
        accounts = {a["id"]: a for a in body_of(await proxy.client.get("/mj/account/list"))}
        assert accounts[emulator.sandbox.channel_id]["coreSize"] == 7
        assert accounts[second.channel_id]["remark"] == "made at run time"
        await wait_state(proxy, second.channel_id, "ready")


# -- updating -------------------------------------------------------------------------------------


async def test_update_is_partial(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    before = await fetch(admin, account_id)
    updated = body_of(await admin.client.put(f"/mj/account/{account_id}/update",
                                             json={"coreSize": 5, "remark": "moved", "weight": 4}))
    assert (updated["coreSize"], updated["remark"], updated["weight"]) == (5, "moved", 4)
    assert (updated["queueSize"], updated["guildId"]) == (before["queueSize"], before["guildId"])
    assert (await fetch(admin, account_id))["coreSize"] == 5
    # A UI that PUTs back the object it fetched sends the masked token: that is not a new token.
    echoed = body_of(await admin.client.put(f"/mj/account/{account_id}/update", json=updated))
    assert echoed["userToken"] == before["userToken"]
    await wait_state(admin, account_id, "ready")
    submitted = await pinned_imagine(admin, account_id)
    assert (await admin.wait_for(submitted["result"]))["status"] == "SUCCESS"

    for bad, fragment in (({"coreSize": 0}, "coreSize"), ({"modes": ["NOPE"]}, "modes"),
                          ({"channelId": "42"}, "channel")):
        response = await admin.client.put(f"/mj/account/{account_id}/update", json=bad)
        assert response.status_code == 422, response.text
        assert fragment in response.json()["detail"]
    unknown = await admin.client.put("/mj/account/42/update", json={"remark": "x"})
    assert unknown.status_code == 404


def rotate_token(emulator: Emulator, account: SandboxAccount) -> str:
    """The user resets their password: Discord issues a new token and the old one stops working.

    The emulator has no public call for this, so the test edits its state directly.
    """
    state = emulator.world.state
    user = state.users[account.user_id]
    new_token = make_token(user.id) + "x"
    del state.tokens[user.token]
    user.token = new_token
    state.tokens[new_token] = user.id
    return new_token


async def test_update_reconnect_with_a_new_token(admin: Proxy, emulator: Emulator) -> None:
    account = emulator.sandbox
    new_token = rotate_token(emulator, account)
    response = body_of(await admin.client.put(f"/mj/account/{account.channel_id}/update-reconnect",
                                              json={"userToken": new_token}))
    assert response["userToken"] == f"{new_token[:3]}…{new_token[-3:]}"
    ready = await wait_state(admin, account.channel_id, "ready")
    assert ready["userToken"] == response["userToken"]
    submitted = await pinned_imagine(admin, account.channel_id)
    assert (await admin.wait_for(submitted["result"]))["status"] == "SUCCESS"
    # Plain reconnect works too, and keeps the new token.
    body_of(await admin.client.post(f"/mj/account/{account.channel_id}/reconnect"))
    await wait_state(admin, account.channel_id, "ready")


# -- enabling, disabling, deleting ----------------------------------------------------------------


async def test_disable_takes_the_account_out_and_enable_brings_it_back(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    disabled = body_of(await admin.client.post(f"/mj/account/{account_id}/disable"))
    assert disabled["enable"] is False and disabled["state"] == "disabled"
    refused = await pinned_imagine(admin, account_id)
    assert refused["code"] == 3, refused
    # Commands need the account's connection.
    sync = await admin.client.post(f"/mj/account/{account_id}/sync-info")
    assert sync.status_code == 409 and "disabled" in sync.json()["detail"]

    enabled = body_of(await admin.client.post(f"/mj/account/{account_id}/enable"))
    assert enabled["enable"] is True
    await wait_state(admin, account_id, "ready")
    submitted = await pinned_imagine(admin, account_id)
    assert (await admin.wait_for(submitted["result"]))["status"] == "SUCCESS"


async def test_update_can_disable_too(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    body_of(await admin.client.put(f"/mj/account/{account_id}/update", json={"enable": False}))
    assert (await fetch(admin, account_id))["state"] == "disabled"
    assert (await pinned_imagine(admin, account_id))["code"] == 3
    body_of(await admin.client.put(f"/mj/account/{account_id}/update", json={"enabled": True}))
    await wait_state(admin, account_id, "ready")


async def test_delete(admin: Proxy, emulator: Emulator) -> None:
    second = emulator.add_account()
    await create(admin, second)
    await wait_state(admin, second.channel_id, "ready")
    deleted = body_of(await admin.client.delete(f"/mj/account/{second.channel_id}/delete"))
    assert deleted["id"] == second.channel_id
    assert (await admin.client.get(f"/mj/account/{second.channel_id}/fetch")).status_code == 404
    assert [a["id"] for a in body_of(await admin.client.get("/mj/account/list"))] == [emulator.sandbox.channel_id]
    assert (await pinned_imagine(admin, second.channel_id))["code"] == 3
    assert (await admin.client.delete(f"/mj/account/{second.channel_id}/delete")).status_code == 404


# -- Midjourney commands --------------------------------------------------------------------------


async def test_sync_info_returns_info_and_settings(admin: Proxy, emulator: Emulator) -> None:
    account = body_of(await admin.client.post(f"/mj/account/{emulator.sandbox.channel_id}/sync-info"))
    profile = account["profile"]
    assert profile["info"]["subscription"]
    assert profile["info"]["jobMode"]
    assert profile["settings"]["version"]
    assert any(t["label"] == "Remix mode" for t in profile["settings"]["toggles"])


async def test_mode_switches_the_account(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    result = body_of(await admin.client.post(f"/mj/account/{account_id}/mode/relax"))
    assert result["mode"] == "RELAX"
    assert "fast-hours" in result["answer"]
    assert emulated_user(emulator, emulator.sandbox).settings.mode == "relax"
    body_of(await admin.client.post(f"/mj/account/{account_id}/mode/TURBO"))
    assert emulated_user(emulator, emulator.sandbox).settings.mode == "turbo"
    bad = await admin.client.post(f"/mj/account/{account_id}/mode/ludicrous")
    assert bad.status_code == 422 and "fast, relax or turbo" in bad.json()["detail"]


async def test_change_version(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    result = body_of(await admin.client.post(f"/mj/account/{account_id}/change-version",
                                             params={"version": "V6.1"}))
    assert result["settings"]["version"] == "Midjourney Model V6.1"
    assert emulated_user(emulator, emulator.sandbox).settings.version == "6.1"
    unknown = await admin.client.post(f"/mj/account/{account_id}/change-version", params={"version": "V99"})
    assert unknown.status_code == 502 and "V99" in unknown.json()["detail"]
    missing = await admin.client.post(f"/mj/account/{account_id}/change-version")
    assert missing.status_code == 422 and "version" in missing.json()["detail"]


async def test_action_clicks_a_settings_button(admin: Proxy, emulator: Emulator) -> None:
    account_id = emulator.sandbox.channel_id
    user = emulated_user(emulator, emulator.sandbox)
    assert user.settings.remix is False
    result = body_of(await admin.client.post(f"/mj/account/{account_id}/action", params={"customId": "Remix mode"}))
    assert result["settings"]["remix"] is True
    assert user.settings.remix is True
    by_id = body_of(await admin.client.post(f"/mj/account/{account_id}/action",
                                            params={"customId": "MJ::Settings::RemixMode", "botType": "MID_JOURNEY"}))
    assert by_id["settings"]["remix"] is False and user.settings.remix is False
    unknown = await admin.client.post(f"/mj/account/{account_id}/action", params={"customId": "Warp drive"})
    assert unknown.status_code == 502 and "Warp drive" in unknown.json()["detail"]


async def test_commands_on_unknown_accounts_are_404(admin: Proxy) -> None:
    for path in ("sync-info", "mode/fast", "change-version?version=V7", "action?customId=x", "reset",
                 "reconnect", "enable", "disable"):
        response = await admin.client.post(f"/mj/account/404/{path}")
        assert response.status_code == 404, (path, response.text)


async def test_reset_puts_a_held_account_back_into_rotation(emulator: Emulator, tmp_path: Path) -> None:
    emulator.update_config(trigger_embeds={"moderator bait": "pending_mod"})
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        never_leaks_tokens(proxy.client, emulator)
        account_id = emulator.sandbox.channel_id
        bait = await pinned_imagine(proxy, account_id, "moderator bait")
        assert (await proxy.wait_for(bait["result"]))["status"] == "FAILURE"
        held = await wait_state(proxy, account_id, "pending_mod_message")
        assert held["reason"]
        assert (await pinned_imagine(proxy, account_id))["code"] == 3

        reset = body_of(await proxy.client.post(f"/mj/account/{account_id}/reset"))
        assert reset["state"] == "ready"
        submitted = await pinned_imagine(proxy, account_id)
        assert (await proxy.wait_for(submitted["result"]))["status"] == "SUCCESS"


# -- auth -----------------------------------------------------------------------------------------


async def admin_routes(proxy: Proxy, account_id: str) -> list[tuple[str, str]]:
    """(method, path) of every admin route, read from the OpenAPI document so new routes are covered too."""
    schema = (await proxy.client.get("/openapi.json")).json()
    routes = []
    for path, operations in schema["paths"].items():
        if not path.startswith("/mj/account/"):
            continue
        concrete = path.replace("{account_id}", account_id).replace("{mode}", "relax")
        routes.extend((method.upper(), concrete) for method in operations)
    assert len(routes) >= 15, routes
    return routes


@pytest.fixture
async def guarded(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "api-secret"})
    proxy = await start_proxy(settings, wait_ready=False, headers={"mj-api-secret": "api-secret"})
    try:
        await proxy.wait_accounts_ready()
        never_leaks_tokens(proxy.client, emulator)
        yield proxy
    finally:
        await proxy.stop()


async def test_api_secret_guards_every_admin_route(guarded: Proxy, emulator: Emulator) -> None:
    routes = await admin_routes(guarded, "404")
    async with httpx.AsyncClient(base_url=guarded.base_url) as anonymous:
        for method, path in routes:
            for headers in ({}, {"mj-api-secret": "wrong"}):
                response = await anonymous.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path, response.text)
                assert "mj-api-secret" in response.json()["detail"]
    # With the secret, the request gets past auth: an unknown account is a 404 (or bad input a 422).
    for method, path in routes:
        response = await guarded.client.request(method, path, json={})
        assert response.status_code in (404, 422, 200), (method, path, response.text)
    assert len(body_of(await guarded.client.get("/mj/account/list"))) == 1


async def test_admin_secret_replaces_the_api_secret_for_admin_routes(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "api-secret", "admin_secret": "adm"})
    async with running_proxy(settings) as proxy:
        never_leaks_tokens(proxy.client, emulator)
        account_id = emulator.sandbox.channel_id
        for method, path in await admin_routes(proxy, account_id):
            response = await proxy.client.request(method, path, headers={"mj-api-secret": "api-secret"}, json={})
            assert response.status_code == 403, (method, path, response.text)  # valid, but not admin
        listed = await proxy.client.get("/mj/account/list", headers={"mj-api-secret": "adm"})
        assert [a["id"] for a in body_of(listed)] == [account_id]
        # The ordinary routes keep the ordinary secret; the admin scope includes them too.
        ok = await proxy.client.post("/mj/submit/imagine", json={"prompt": "a cat"},
                                     headers={"mj-api-secret": "api-secret"})
        assert ok.json()["code"] == 1
        admin_too = await proxy.client.post("/mj/submit/imagine", json={"prompt": "a cat"},
                                            headers={"Authorization": "Bearer adm"})
        assert admin_too.json()["code"] == 1
        wrong = await proxy.client.post("/mj/submit/imagine", json={"prompt": "a cat"},
                                        headers={"mj-api-secret": "neither"})
        assert wrong.status_code == 401


async def test_admin_routes_are_open_when_no_secret_is_set(admin: Proxy) -> None:
    assert (await admin.client.get("/mj/account/list")).status_code == 200
