"""/v2 replyUrl callbacks (the job JSON with replyRef, on every change) and the account routes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from mjproxy.emulator import Emulator
from tests.e2e.harness import HookReceiver, Proxy, account_entry, proxy_settings, running_proxy
from tests.e2e.useapi_helpers import post, wait_job


async def bodies_until(hooks: HookReceiver, jobid: str, status: str, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        bodies = [b for b in hooks.bodies if b.get("jobid") == jobid]
        if any(b["status"] == status for b in bodies):
            return bodies
        if time.monotonic() > deadline:
            raise AssertionError(f"no {status} callback for {jobid}: {bodies}")
        await asyncio.sleep(0.05)


async def test_reply_url_receives_the_job_with_reply_ref(emulator: Emulator, tmp_path: Path,
                                                         hooks: HookReceiver) -> None:
    emulator.config.job_duration_s = 0.5
    emulator.config.trigger_embeds = {"be-moderated": "action_needed"}
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        started = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a snowy owl", "replyUrl": hooks.url,
                                                                "replyRef": "order-42"})
        bodies = await bodies_until(hooks, started["jobid"], "completed")
        assert all(b["replyRef"] == "order-42" and b["replyUrl"] == hooks.url and b["verb"] == "imagine"
                   for b in bodies)
        assert all("id" not in b and "properties" not in b for b in bodies), "the job JSON, not the Task JSON"
        statuses = [b["status"] for b in bodies]
        assert statuses[-1] == "completed" and "progress" in statuses
        order = ["created", "started", "progress", "completed"]
        assert statuses == sorted(statuses, key=order.index), "callbacks arrive in order"
        assert bodies[-1]["attachments"] and bodies[-1]["buttons"]
        assert bodies[-1] == {**(await wait_job(proxy.client, started["jobid"])),
                              **{k: bodies[-1][k] for k in ("attachments",)}}

        child = await post(proxy.client, "/v2/jobs/button", {"jobid": started["jobid"], "button": "U1",
                                                             "replyUrl": hooks.url, "replyRef": "order-43"})
        child_bodies = await bodies_until(hooks, child["jobid"], "completed")
        assert child_bodies[-1]["replyRef"] == "order-43" and child_bodies[-1]["parentJobId"] == started["jobid"]

        moderated = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "be-moderated", "replyUrl": hooks.url,
                                                                  "replyRef": "bad"}, expect=422)
        moderated_bodies = await bodies_until(hooks, moderated["jobid"], "moderated")
        assert moderated_bodies[-1]["replyRef"] == "bad"
        assert moderated_bodies[-1]["error"] == "Action needed to continue"


async def test_account_routes(emulator: Emulator, tmp_path: Path) -> None:
    second = emulator.add_account("second")
    first = emulator.sandbox
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "user-key", "admin_secret": "admin-key"},
                              accounts=[account_entry(first)])
    async with running_proxy(settings) as proxy:
        admin = {"Authorization": "Bearer admin-key"}
        user = {"Authorization": "Bearer user-key"}
        assert (await proxy.client.get("/v2/account/midjourney", headers=user)).status_code == 403
        proxy.client.headers.update(user)  # jobs as a user; account routes name the admin key
        listed = (await proxy.client.get("/v2/account/midjourney", headers=admin)).json()
        assert listed == {first.channel_id: {
            "discord": f"{first.token[:3]}…secured…{first.token[-3:]}", "server": first.guild_id,
            "channel": first.channel_id, "maxJobs": 3, "state": "ready"}}

        path = f"/v2/account/midjourney/{second.channel_id}"
        config = {"discord": second.token, "server": second.guild_id, "channel": second.channel_id, "maxJobs": 2}
        for body, error in [({**config, "channel": "123"},
                             f"Required param channel (123) not matching to /midjourney/{second.channel_id}"),
                            ({**config, "maxJobs": 16}, "Required param maxJobs 16 can't be more that 15"),
                            ({**config, "discord": first.token},
                             f"Channel {first.channel_id} configuration has same discord value"),
                            ({**config, "discord": ""}, "Required param discord is missing")]:
            response = await proxy.client.post(path, json=body, headers=admin)
            assert response.status_code == 400 and response.json() == {"error": error, "code": 400}
        created = await proxy.client.post(path, json=config, headers=admin)
        assert created.status_code == 204 and created.content == b""
        await proxy.wait_accounts_ready()
        one = (await proxy.client.get(path, headers=admin)).json()
        assert one["maxJobs"] == 2 and one["channel"] == second.channel_id and second.token not in str(one)

        job = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a fox", "channel": second.channel_id})
        assert job["channel"] == second.channel_id and job["maxJobs"] == 2
        await wait_job(proxy.client, job["jobid"])
        updated = await proxy.client.post(path, json={**config, "maxJobs": 1}, headers=admin)
        assert updated.status_code == 204
        assert (await proxy.client.get(path, headers=admin)).json()["maxJobs"] == 1

        assert (await proxy.client.delete(path, headers=admin)).status_code == 204
        assert (await proxy.client.get(path, headers=admin)).status_code == 404
        assert (await proxy.client.delete(path, headers=admin)).status_code == 404
        assert (await proxy.client.post(f"{path}/reset", headers=admin)).status_code == 404
        refused = await proxy.client.post("/v2/jobs/imagine", json={"prompt": "x", "channel": second.channel_id},
                                          headers=user)
        assert refused.status_code == 400

        assert (await proxy.client.delete(f"/v2/account/midjourney/{first.channel_id}",
                                          headers=admin)).status_code == 204
        assert (await proxy.client.get("/v2/account/midjourney", headers=admin)).status_code == 404
        none_left = await proxy.client.post("/v2/jobs/imagine", json={"prompt": "x"}, headers=user)
        assert none_left.status_code == 404 and none_left.json()["code"] == 404


async def test_running_jobs_lists_both_dialects(emulator: Emulator, proxy: Proxy) -> None:
    emulator.config.job_duration_s = 30
    v2 = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a slow v2 castle"})
    mj = await proxy.imagine("a slow mj castle")
    assert sorted((await proxy.client.get("/v2/jobs")).json()) == sorted([v2["jobid"], mj["result"]])
    for jobid in (v2["jobid"], mj["result"]):
        assert (await proxy.client.get("/v2/jobs/cancel/", params={"jobid": jobid})).status_code == 200
    assert (await proxy.client.get("/v2/jobs")).json() == []
