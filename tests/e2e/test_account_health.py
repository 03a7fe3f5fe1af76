"""Many accounts: a held account leaves rotation with its reason, its tasks fail or move, the rest keeps
working, and a reset puts it back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mjproxy.domain.account import AccountDefinition
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, account_entry, proxy_settings, running_proxy

HOLDS = [("pending_mod", "pending_mod_message"), ("blocked", "blocked"), ("captcha", "captcha_required"),
         ("subscription_required", "subscription_required")]


async def health_of(proxy: Proxy, account_id: str) -> dict[str, Any]:
    accounts = (await proxy.client.get("/healthz")).json()["accounts"]
    return next(a for a in accounts if a["id"] == account_id)


async def wait_state(proxy: Proxy, account_id: str, state: str, timeout: float = 10) -> dict[str, Any]:
    for _ in range(int(timeout / 0.05)):
        account = await health_of(proxy, account_id)
        if account["state"] == state:
            return account
        await asyncio.sleep(0.05)
    raise AssertionError(f"account {account_id} is {account['state']}, not {state}")


@pytest.mark.parametrize(("trigger", "state"), HOLDS)
async def test_a_held_account_leaves_rotation_and_reset_restores_it(
        emulator: Emulator, tmp_path: Path, trigger: str, state: str) -> None:
    other = emulator.add_account("second")
    emulator.config.trigger_embeds = {"trip-the-wire": trigger}
    first = emulator.sandbox
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(first), account_entry(other)])
    async with running_proxy(settings) as proxy:
        tripped = await proxy.wait_for((await proxy.imagine("trip-the-wire fox",
                                                           accountFilter={"instanceId": first.channel_id}))["result"])
        assert tripped["status"] == "FAILURE"
        held = await wait_state(proxy, first.channel_id, state)
        assert held["reason"], "the reason is shown"
        assert (await health_of(proxy, other.channel_id))["state"] == "ready"

        pinned = await proxy.imagine("a fox", accountFilter={"instanceId": first.channel_id})
        assert pinned["code"] == 3 and state in pinned["description"], "pinned work is refused with the reason"
        elsewhere = await proxy.wait_for((await proxy.imagine("a fox"))["result"])
        assert elsewhere["status"] == "SUCCESS" and elsewhere["properties"]["discordInstanceId"] == other.channel_id

        assert proxy.runtime.accounts_manager is not None
        await proxy.runtime.accounts_manager.reset(first.channel_id)
        assert (await health_of(proxy, first.channel_id))["state"] == "ready"
        back = await proxy.wait_for((await proxy.imagine("a fox",
                                                         accountFilter={"instanceId": first.channel_id}))["result"])
        assert back["status"] == "SUCCESS"


async def test_held_account_fails_its_running_tasks_at_once(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.trigger_embeds = {"trip-the-wire": "blocked"}
    emulator.config.job_duration_s = 30  # would take far longer than the test
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=3)])
    async with running_proxy(settings) as proxy:
        slow = (await proxy.imagine("a very slow castle"))["result"]
        await asyncio.sleep(0.5)
        emulator.config.job_duration_s = 0
        await proxy.imagine("trip-the-wire")
        task = await proxy.wait_for(slow, timeout=10)
    assert task["status"] == "FAILURE"
    assert "needs attention (blocked)" in task["failReason"]


async def test_waiting_tasks_move_to_another_account_when_theirs_is_disabled(
        emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 2
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=1)])
    async with running_proxy(settings) as proxy:
        ids = [(await proxy.imagine(f"lighthouse {i}"))["result"] for i in range(3)]
        other = emulator.add_account("rescuer")
        manager = proxy.runtime.accounts_manager
        assert manager is not None
        await manager.create(AccountDefinition(channel_id=other.channel_id, guild_id=other.guild_id,
                                               user_token=other.token, name="rescuer"))
        await proxy.wait_accounts_ready()
        await manager.set_enabled(emulator.sandbox.channel_id, False)
        tasks = [await proxy.wait_for(task_id, timeout=20) for task_id in ids]
    assert tasks[0]["status"] == "FAILURE" and "disabled" in tasks[0]["failReason"]
    assert [t["status"] for t in tasks[1:]] == ["SUCCESS", "SUCCESS"]
    assert {t["properties"]["discordInstanceId"] for t in tasks[1:]} == {other.channel_id}


async def test_credits_exhausted_switches_the_account_to_relax(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.trigger_embeds = {"out-of-hours": "credits_exhausted"}
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        await proxy.wait_for((await proxy.imagine("out-of-hours fox"))["result"])
        account = await health_of(proxy, emulator.sandbox.channel_id)
        for _ in range(100):
            if emulator.world.state.users[emulator.sandbox.user_id].settings.mode == "relax":
                break
            await asyncio.sleep(0.05)
        assert emulator.world.state.users[emulator.sandbox.user_id].settings.mode == "relax"
        assert account["state"] == "ready" and account["fastExhausted"] is True
        task = await proxy.wait_for((await proxy.imagine("a fox"))["result"])
    assert task["status"] == "SUCCESS"
    assert task["properties"]["messageContent"].endswith("(relaxed)")
