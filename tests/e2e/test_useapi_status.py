"""/v2 status codes end to end: 422 moderated, 596 until reset, 402, 429 back-pressure, 504 Job queued, cancel."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import account_entry, proxy_settings, running_proxy
from tests.e2e.useapi_helpers import get_job, post, wait_job


async def test_moderated_prompts_answer_422_with_a_moderated_job(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.trigger_embeds = {"be-moderated": "action_needed", "bad-param": "invalid_parameter"}
    settings = proxy_settings(emulator, tmp_path, engine={"banned_words": ["forbiddenword"]})
    async with running_proxy(settings) as proxy:
        moderated = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "be-moderated cat"}, expect=422)
        assert moderated["status"] == "moderated" and moderated["error"] == "Action needed to continue"
        assert moderated["errorDetails"].startswith("Sorry! Our AI moderators feel your prompt")
        assert (await get_job(proxy.client, moderated["jobid"]))["status"] == "moderated"

        invalid = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "bad-param cat --size 3"}, expect=422)
        assert invalid["status"] == "moderated" and invalid["error"] == "Invalid parameter"
        assert invalid["errorDetails"] == "Unrecognized parameter(s): `size`"

        local = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a forbiddenword scene"}, expect=422)
        assert local["status"] == "moderated" and local["jobid"]
        assert (await proxy.fetch(local["jobid"]))["status"] == "FAILURE"

        # The account stays usable: moderation concerns the prompt, not the account.
        assert (await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a calm lake"}))["code"] == 200


@pytest.mark.parametrize("trigger", ["pending_mod", "captcha"])
async def test_596_until_the_account_is_reset(emulator: Emulator, tmp_path: Path, trigger: str) -> None:
    emulator.config.trigger_embeds = {"trip-the-wire": trigger}
    channel = emulator.sandbox.channel_id
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        tripped = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "trip-the-wire fox"}, expect=596)
        assert tripped["status"] == "failed" and tripped["jobid"] and tripped["verb"] == "imagine"
        assert tripped["error"] in ("Pending mod message", "Action required to continue")
        assert tripped["errorDetails"]

        for body in ({"prompt": "a fox"}, {"prompt": "a fox", "channel": channel}):
            refused = await post(proxy.client, "/v2/jobs/imagine", body, expect=596)
            assert f"account/midjourney/{channel}/reset" in refused["error"]
        accounts = (await proxy.client.get("/v2/account/midjourney")).json()
        assert accounts[channel]["pendingModMessage"]

        reset = await proxy.client.post(f"/v2/account/midjourney/{channel}/reset")
        assert reset.status_code == 204
        assert "pendingModMessage" not in (await proxy.client.get(f"/v2/account/midjourney/{channel}")).json()
        back = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"})
        assert (await wait_job(proxy.client, back["jobid"]))["status"] == "completed"


async def test_402_for_an_account_without_subscription(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.trigger_embeds = {"lapsed": "subscription_required"}
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        lapsed = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "lapsed fox"}, expect=402)
        assert lapsed["error"] == "Account has no subscription or subscription expired" and lapsed["jobid"]
        assert lapsed["status"] == "failed"
        again = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"}, expect=402)
        assert again["error"] == "Account has no subscription or subscription expired"


async def test_429_back_pressure_loop_never_exceeds_max_jobs(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 2.5
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=3)])
    async with running_proxy(settings) as proxy:
        first = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "job one", "maxJobs": 2})
        second = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "job two", "maxJobs": 2})
        full = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "job three", "maxJobs": 2}, expect=429)
        assert full["error"] == "Maximum of 2 jobs executing in parallel supported"
        assert sorted(full["executingJobs"]) == sorted([first["jobid"], second["jobid"]])
        running = (await proxy.client.get("/v2/jobs")).json()
        assert sorted(running) == sorted([first["jobid"], second["jobid"]])

        # A client script: submit 6 prompts with maxJobs 2, sleeping and retrying on 429.
        peak = 0
        accepted: list[str] = []
        pending = [f"loop prompt {n}" for n in range(6)]
        deadline = time.monotonic() + 120
        while pending:
            assert time.monotonic() < deadline, "the back-pressure loop never drained"
            response = await proxy.client.post("/v2/jobs/imagine", json={"prompt": pending[0], "maxJobs": 2})
            if response.status_code == 429:
                assert len(response.json()["executingJobs"]) >= 2
                await asyncio.sleep(0.2)
            else:
                assert response.status_code == 200, response.text
                accepted.append(response.json()["jobid"])
                pending.pop(0)
            peak = max(peak, len((await proxy.client.get("/v2/jobs")).json()))
        assert peak <= 2
        for jobid in accepted:
            assert (await wait_job(proxy.client, jobid, timeout=60))["status"] == "completed"


async def test_concurrent_submits_cannot_overshoot_max_jobs(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 10
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=5)])
    async with running_proxy(settings) as proxy:
        responses = await asyncio.gather(*(proxy.client.post("/v2/jobs/imagine",
                                                             json={"prompt": f"burst {n}", "maxJobs": 3})
                                           for n in range(8)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 3 + [429] * 5, [r.text for r in responses]


async def test_504_when_midjourney_queues_the_job(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.concurrency = 1  # the plan runs one job; the account claims three
    emulator.config.job_duration_s = 3
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=3)])
    async with running_proxy(settings) as proxy:
        running = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a slow castle"})
        queued = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a queued castle"}, expect=504)
        assert queued["error"] == "Job queued" and queued["status"] == "failed" and queued["jobid"]
        assert (await get_job(proxy.client, queued["jobid"]))["status"] == "failed"
        assert queued["jobid"] not in (await proxy.client.get("/v2/jobs")).json(), "its slot is free again"
        assert (await wait_job(proxy.client, running["jobid"]))["status"] == "completed"


async def test_cancel_frees_the_slot(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.job_duration_s = 30
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox, core_size=1)])
    async with running_proxy(settings) as proxy:
        slow = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a very slow castle"})
        await post(proxy.client, "/v2/jobs/imagine", {"prompt": "another"}, expect=429)
        response = await proxy.client.get("/v2/jobs/cancel/", params={"jobid": slow["jobid"]})
        assert response.status_code == 200 and response.json() == {
            "jobid": slow["jobid"], "status": "cancelled", "code": 200}
        assert (await get_job(proxy.client, slow["jobid"]))["status"] == "cancelled"
        assert (await proxy.fetch(slow["jobid"]))["status"] == "CANCEL"
        assert (await proxy.client.get("/v2/jobs")).json() == []
        emulator.config.job_duration_s = 0
        assert (await post(proxy.client, "/v2/jobs/imagine", {"prompt": "now there is room"}))["code"] == 200

        again = await proxy.client.get("/v2/jobs/cancel/", params={"jobid": slow["jobid"]})
        assert again.status_code == 400
        assert (await proxy.client.get("/v2/jobs/cancel/", params={"jobid": "nope"})).status_code == 404
        assert (await proxy.client.get("/v2/jobs/cancel/")).status_code == 400


async def test_an_unhealthy_channel_is_not_chosen_at_random(emulator: Emulator, tmp_path: Path) -> None:
    other = emulator.add_account("second")
    emulator.config.trigger_embeds = {"trip-the-wire": "pending_mod"}
    first = emulator.sandbox
    settings = proxy_settings(emulator, tmp_path, accounts=[account_entry(first), account_entry(other)])
    async with running_proxy(settings) as proxy:
        await post(proxy.client, "/v2/jobs/imagine", {"prompt": "trip-the-wire", "channel": first.channel_id},
                   expect=596)
        for _ in range(4):
            job = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"})
            assert job["channel"] == other.channel_id
            await wait_job(proxy.client, job["jobid"])
        await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox", "channel": first.channel_id}, expect=596)




async def test_429_when_discord_keeps_rate_limiting_the_interaction(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        emulator.faults.inject("/interactions", status=429, count=20, retry_after=0.05)
        limited = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"}, expect=429)
        assert limited["error"] == "Discord /interactions failed with HTTP status 429"
        assert "rate limit" in limited["errorDetails"] and limited["status"] == "failed"
        emulator.faults.clear()
        assert (await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"}))["code"] == 200


async def test_a_blocked_account_answers_503_and_a_failed_job(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.trigger_embeds = {"trip-the-wire": "blocked"}
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        tripped = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "trip-the-wire"})
        assert tripped["status"] == "failed" and tripped["error"] == "Blocked"
        refused = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox"}, expect=503)
        assert "blocked" in refused["error"] and refused["errorDetails"]


async def test_without_an_answer_in_time_the_job_is_created_and_runs_on(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.never_ack_triggers = ["silent-bot"]  # Midjourney never answers this one
    async with running_proxy(proxy_settings(emulator, tmp_path, useapi={"submit_wait_seconds": 0.5})) as proxy:
        job = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "silent-bot fox"})
        assert job["status"] == "created" and "messageId" not in job
        assert job["jobid"] in (await proxy.client.get("/v2/jobs")).json(), "it keeps its slot while it runs on"
        assert (await proxy.client.get("/v2/jobs/cancel/", params={"jobid": job["jobid"]})).status_code == 200
