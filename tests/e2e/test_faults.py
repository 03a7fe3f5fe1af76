"""A test per injectable fault (issue 5): the proxy against the emulator with the fault switched on, asserting
the task's outcome and that nothing is lost (one Midjourney job per task, results complete)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, account_entry, proxy_settings, running_proxy, start_proxy


def jobs_for(emulator: Emulator, prompt: str) -> list[Any]:
    return [job for job in emulator.jobs if prompt in job.prompt]


async def succeed_once(emulator: Emulator, proxy: Proxy, prompt: str, timeout: float = 30) -> dict[str, Any]:
    """The task ends SUCCESS with its whole result, and Midjourney ran exactly one job for it."""
    task = await proxy.wait_for((await proxy.imagine(prompt))["result"], timeout=timeout)
    assert task["status"] == "SUCCESS", task["failReason"]
    assert task["imageUrl"] and len(task["buttons"]) == 9
    assert len(jobs_for(emulator, prompt)) == 1, "the interaction ran more than once"
    return task


async def wait_until(predicate: Any, timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def proxy(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    """The proxy once its account has read /info and /settings: that start-up traffic must not be what takes
    the faults a test injects for its own task."""
    async with running_proxy(proxy_settings(emulator, tmp_path)) as started:
        await wait_until(lambda: all(a.settings is not None for a in started.runtime.accounts.values()),
                         what="the account's first /info and /settings")
        yield started


# --- REST ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["user", "global", "shared"])
async def test_429_on_interactions_is_retried_with_the_same_nonce(
        emulator: Emulator, proxy: Proxy, scope: str) -> None:
    fault = emulator.inject_rest_fault("/interactions", 429, count=2, retry_after=0.3, scope=scope)
    await succeed_once(emulator, proxy, f"a harbour at dawn, {scope} limited")
    assert fault.remaining == 0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_on_interactions_is_retried(emulator: Emulator, proxy: Proxy, status: int) -> None:
    fault = emulator.inject_rest_fault("/interactions", status, count=2)
    await succeed_once(emulator, proxy, f"a quiet forest after a {status}")
    assert fault.remaining == 0


async def test_5xx_after_discord_accepted_the_interaction_does_not_run_it_twice(
        emulator: Emulator, proxy: Proxy) -> None:
    """The 204 is lost (a 502 from a proxy in front of Discord) but the job started: the retry carries the same
    nonce, so Discord de-duplicates it. A fresh nonce on retry would run the job twice."""
    fault = emulator.inject_rest_fault("/interactions", 502, count=1, after_processing=True)
    await succeed_once(emulator, proxy, "a parcel delivered twice")
    assert fault.remaining == 0


async def test_5xx_that_never_ends_fails_the_task_with_a_clear_reason(emulator: Emulator, proxy: Proxy) -> None:
    emulator.inject_rest_fault("/interactions", 503, count=100)
    task = await proxy.wait_for((await proxy.imagine("a gate that stays shut"))["result"], timeout=60)
    emulator.clear_faults()
    assert task["status"] == "FAILURE"
    assert "503" in task["failReason"] or "Discord" in task["failReason"]
    assert jobs_for(emulator, "a gate that stays shut") == []


async def test_slow_rest_still_succeeds(emulator: Emulator, proxy: Proxy) -> None:
    fault = emulator.slow_rest("/interactions", 1.0, count=1)
    await succeed_once(emulator, proxy, "a snail crossing a bridge")
    assert fault.remaining == 0


async def test_faults_can_be_switched_on_through_the_control_api(emulator: Emulator, proxy: Proxy) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as control:
        bad = await control.post("/_emulator/faults", json={"route": "/interactions", "scope": "galactic"})
        assert bad.status_code == 400
        added = await control.post("/_emulator/faults", json={"route": "/interactions", "status": 429,
                                                               "count": 1, "scope": "shared", "retry_after": 0.1})
        assert added.status_code == 200
        slow = await control.post("/_emulator/faults", json={"route": "/interactions", "status": 0,
                                                              "latency": 0.3, "count": 1})
        assert slow.status_code == 200
        state = (await control.get("/_emulator/state")).json()
        assert [(f["status"], f["remaining"]) for f in state["faults"]] == [(429, 1), (0, 1)]
        await succeed_once(emulator, proxy, "a kite over the dunes")
        assert (await control.get("/_emulator/state")).json()["faults"] == []


# --- gateway ------------------------------------------------------------------------------------------

async def start_slow_job(emulator: Emulator, proxy: Proxy, prompt: str) -> str:
    emulator.config.job_duration_s = 2
    task_id: str = (await proxy.imagine(prompt))["result"]
    await proxy.wait_for(task_id, statuses=("IN_PROGRESS",), timeout=20)
    return task_id


async def finish_once(emulator: Emulator, proxy: Proxy, task_id: str, prompt: str) -> None:
    task = await proxy.wait_for(task_id, timeout=30)
    assert task["status"] == "SUCCESS", task["failReason"]
    assert len(task["buttons"]) == 9
    assert len(jobs_for(emulator, prompt)) == 1


@pytest.mark.parametrize("code", [4000, 4008, 4009, 1011])
async def test_gateway_closed_with_a_code_mid_job(emulator: Emulator, proxy: Proxy, code: int) -> None:
    prompt = f"a ship in a bottle, closed {code}"
    task_id = await start_slow_job(emulator, proxy, prompt)
    await emulator.close_sessions(emulator.sandbox.user_id, code)
    await finish_once(emulator, proxy, task_id, prompt)
    await proxy.wait_accounts_ready()


async def test_gateway_dropped_without_a_close_frame_mid_job(emulator: Emulator, proxy: Proxy) -> None:
    prompt = "a cable cut under the sea"
    task_id = await start_slow_job(emulator, proxy, prompt)
    await emulator.drop_sessions(emulator.sandbox.user_id)
    await finish_once(emulator, proxy, task_id, prompt)


@pytest.mark.parametrize("resumable", [True, False])
async def test_invalid_session_mid_job(emulator: Emulator, proxy: Proxy, resumable: bool) -> None:
    prompt = f"a passport stamped {'again' if resumable else 'anew'}"
    task_id = await start_slow_job(emulator, proxy, prompt)
    await emulator.send_invalid_session(emulator.sandbox.user_id, resumable)
    await finish_once(emulator, proxy, task_id, prompt)
    await proxy.wait_accounts_ready()


async def test_reconnect_request_mid_job(emulator: Emulator, proxy: Proxy) -> None:
    prompt = "a relay runner passing the baton"
    task_id = await start_slow_job(emulator, proxy, prompt)
    await emulator.send_reconnect(emulator.sandbox.user_id)
    await finish_once(emulator, proxy, task_id, prompt)


async def test_lost_heartbeat_acks_make_the_client_resume(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.heartbeat_interval_ms = 300
    settings = proxy_settings(emulator, tmp_path)
    proxy = await start_proxy(settings)
    try:
        [session] = emulator.world.gateway.sessions_of(emulator.sandbox.user_id)
        first_connection = session.connection
        prompt = "a lighthouse keeper asleep"
        task_id = await start_slow_job(emulator, proxy, prompt)
        emulator.lose_heartbeat_acks(emulator.sandbox.user_id, count=1)
        # The zombie is noticed at the next beat: the same session continues on a new socket (RESUME).
        await wait_until(lambda: session.connection is not None and session.connection is not first_connection,
                         what="a resumed connection")
        assert emulator.world.gateway.loss.ack_losses[emulator.sandbox.user_id] == 0
        assert [s.id for s in emulator.world.gateway.sessions_of(emulator.sandbox.user_id)] == [session.id]
        await finish_once(emulator, proxy, task_id, prompt)
    finally:
        await proxy.stop()


# --- lost events: settled from the channel history ------------------------------------------------------

async def test_a_lost_final_message_is_read_back_from_history_before_the_timeout(
        emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, timeout_minutes=0.05)])
    proxy = await start_proxy(settings)
    try:
        rule = emulator.drop_events(["MESSAGE_CREATE"], count=1, final_only=True)
        task = await proxy.wait_for((await proxy.imagine("a letter lost in the post"))["result"], timeout=30)
    finally:
        await proxy.stop()
    assert [event for event, _ in rule.dropped] == ["MESSAGE_CREATE"]
    assert task["status"] == "SUCCESS", task["failReason"]
    assert task["imageUrl"] and len(task["buttons"]) == 9
    assert task["progress"] == "100%"
    [job] = jobs_for(emulator, "a letter lost in the post")
    assert rule.dropped[0][1] == job.final_message_id


async def test_a_lost_result_is_found_beyond_the_first_page_of_history(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, timeout_minutes=0.1)])
    proxy = await start_proxy(settings)
    try:
        rule = emulator.drop_events(["MESSAGE_CREATE"], count=1, final_only=True)
        prompt = "a needle in a haystack"
        task_id = (await proxy.imagine(prompt))["result"]
        await wait_until(lambda: [j.status for j in jobs_for(emulator, prompt)] == ["done"], what="the job")
        # A busy channel: 150 newer messages push the result off the first page (100) of the history.
        account = emulator.sandbox
        async with httpx.AsyncClient(base_url=f"{emulator.base_url}/api/v9",
                                     headers={"Authorization": account.token}) as discord:
            for i in range(150):
                posted = await discord.post(f"/channels/{account.channel_id}/messages", json={"content": f"chat {i}"})
                assert posted.status_code == 200
            first_page = (await discord.get(f"/channels/{account.channel_id}/messages", params={"limit": 100})).json()
            assert rule.dropped[0][1] not in [m["id"] for m in first_page]
        task = await proxy.wait_for(task_id, timeout=30)
    finally:
        await proxy.stop()
    assert len(rule.dropped) == 1
    assert task["status"] == "SUCCESS", task["failReason"]
    assert len(task["buttons"]) == 9


async def test_a_lost_error_embed_is_read_back_from_history(emulator: Emulator, tmp_path: Path) -> None:
    emulator.update_config(trigger_embeds={"forbidden-fruit": "invalid_parameter"}, error_embeds_ephemeral=False)
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, timeout_minutes=0.05)])
    proxy = await start_proxy(settings)
    try:
        rule = emulator.drop_events(["MESSAGE_CREATE"], count=1, text="Invalid parameter")
        task = await proxy.wait_for((await proxy.imagine("a forbidden-fruit still life"))["result"], timeout=30)
    finally:
        await proxy.stop()
    assert len(rule.dropped) == 1
    assert task["status"] == "FAILURE"
    assert "Invalid parameter" in task["failReason"], task["failReason"]


async def test_a_lost_result_with_nothing_in_history_times_out_with_a_reason(
        emulator: Emulator, tmp_path: Path) -> None:
    emulator.update_config(never_ack_triggers=["vanishing"], interaction_ack_timeout_s=30)
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, timeout_minutes=0.03)])
    proxy = await start_proxy(settings)
    try:
        task = await proxy.wait_for((await proxy.imagine("a vanishing act"))["result"], timeout=30)
    finally:
        await proxy.stop()
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("Task timed out")


async def test_restart_settles_a_job_that_finished_while_the_proxy_was_down(
        emulator: Emulator, tmp_path: Path) -> None:
    """The new process has a new gateway session: no replay, so the result comes from the history."""
    emulator.config.job_duration_s = 2
    settings = proxy_settings(emulator, tmp_path)
    first = await start_proxy(settings)
    prompt = "a clock that stopped at midnight"
    try:
        task_id = await start_slow_job(emulator, first, prompt)
    finally:
        await first.stop()
    await wait_until(lambda: [j.status for j in jobs_for(emulator, prompt)] == ["done"], what="the job to finish")
    second = await start_proxy(settings)
    try:
        task = await second.wait_for(task_id, timeout=20)
    finally:
        await second.stop()
    assert task["status"] == "SUCCESS", task["failReason"]
    assert task["imageUrl"] and len(task["buttons"]) == 9
    assert len(jobs_for(emulator, prompt)) == 1


# --- moderation, captcha, blocked: switched on per run ---------------------------------------------------

@pytest.mark.parametrize(("kind", "title"), [("action_needed", "Action needed to continue"),
                                             ("captcha", "Action required to continue"),
                                             ("blocked", "Blocked")])
async def test_moderation_embeds_switched_on_per_run(emulator: Emulator, proxy: Proxy, kind: str, title: str) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as control:
        response = await control.post("/_emulator/config", json={"trigger_embeds": {"trip-wire": kind}})
        assert response.status_code == 200
    task = await proxy.wait_for((await proxy.imagine("a trip-wire in the grass"))["result"], timeout=30)
    assert task["status"] == "FAILURE"
    assert title in task["failReason"]
