"""/v2/jobs/imagine end to end: the seed's own examples, the job model, and both dialects on one task."""

from __future__ import annotations

import re
from pathlib import Path

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_proxy
from tests.e2e.useapi_helpers import get_job, post, wait_job

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_the_seed_curl_example_works_as_written(emulator: Emulator, tmp_path: Path) -> None:
    account = emulator.sandbox
    settings = proxy_settings(emulator, tmp_path, server={"api_secret": "useapi-token"})
    async with running_proxy(settings) as proxy:
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   "Authorization": "Bearer useapi-token"}
        # curl ... -d '{"prompt": "…", "discord": "…", "server": "…", "channel": "…"}'
        body = {"prompt": "Steampunk cat", "discord": account.token, "server": account.guild_id,
                "channel": account.channel_id}
        response = await proxy.client.post("/v2/jobs/imagine", headers=headers, json=body)
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["code"] == 200 and job["verb"] == "imagine"
        assert job["status"] in ("started", "progress", "completed")
        assert job["prompt"] == "Steampunk cat"
        assert job["channel"] == account.channel_id and job["server"] == account.guild_id
        assert job["discord"] == f"{account.token[:3]}…secured…{account.token[-3:]}"
        assert account.token not in response.text, "the token never reaches a response"
        assert job["maxJobs"] == 3 and job["messageId"]
        assert ISO_MS.match(job["created"]) and ISO_MS.match(job["updated"])
        assert job["timestamp"].endswith("+00:00")

        # The request body of the model section, all fields set.
        full = {"prompt": "Midjourney prompt", "discord": account.token, "server": account.guild_id,
                "channel": account.channel_id, "maxJobs": 3, "replyUrl": "http://127.0.0.1:9/unused",
                "replyRef": "Place your reference id here"}
        response = await proxy.client.post("/v2/jobs/imagine", headers=headers, json=full)
        assert response.status_code == 200, response.text
        assert response.json()["replyRef"] == "Place your reference id here"
        assert response.json()["replyUrl"] == "http://127.0.0.1:9/unused"

        unauthorized = await proxy.client.post("/v2/jobs/imagine", json=body,
                                               headers={"Authorization": "Bearer wrong"})
        assert unauthorized.status_code == 401
        assert unauthorized.json() == {"error": "Unauthorized", "code": 401}
        for path in ("/v2/jobs", f"/v2/jobs/?jobid={job['jobid']}", "/v2/account/midjourney"):
            assert (await proxy.client.get(path)).status_code == 401, path


async def test_a_job_runs_to_completion_with_attachments_and_buttons(proxy: Proxy) -> None:
    started = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a red fox in the snow"})
    job = await wait_job(proxy.client, started["jobid"])
    assert job["status"] == "completed" and job["verb"] == "imagine"
    assert job["buttons"][:5] == ["U1", "U2", "U3", "U4", "🔄"]
    assert {"V1", "V2", "V3", "V4"} <= set(job["buttons"])
    [attachment] = job["attachments"]
    assert attachment["url"].startswith("http") and attachment["width"] > 0 and attachment["height"] > 0
    assert "a red fox in the snow" in job["content"]
    assert job["updated"] >= job["created"]
    assert "error" not in job


async def test_a_v2_job_is_an_mj_task_and_the_other_way_round(proxy: Proxy) -> None:
    started = await post(proxy.client, "/v2/jobs/imagine", {"prompt": "a lighthouse", "replyRef": "ref-1"})
    await wait_job(proxy.client, started["jobid"])
    task = await proxy.fetch(started["jobid"])
    assert task["status"] == "SUCCESS" and task["action"] == "IMAGINE" and task["prompt"] == "a lighthouse"
    assert task["properties"]["verb"] == "imagine" and task["properties"]["replyRef"] == "ref-1"

    submitted = await proxy.imagine("a windmill")
    mj_task = await proxy.wait_for(submitted["result"])
    job = await get_job(proxy.client, mj_task["id"])
    assert job["jobid"] == mj_task["id"] and job["status"] == "completed" and job["verb"] == "imagine"
    assert job["prompt"] == "a windmill" and job["attachments"][0]["url"] == mj_task["imageUrl"]
    # The attachment is our stored copy; Discord's own link stays in proxy_url; the split images are imageUx.
    assert job["attachments"][0]["proxy_url"] == mj_task["properties"]["discordImageUrl"] != mj_task["imageUrl"]
    assert job["imageUx"] == [{"id": image["index"], "url": image["url"]} for image in mj_task["imageUrls"]]
    assert [image["id"] for image in job["imageUx"]] == [1, 2, 3, 4]
    stored = await proxy.client.get(job["imageUx"][1]["url"])
    assert stored.status_code == 200 and stored.headers["content-type"].startswith("image/")
    account = proxy.runtime.settings.accounts[0]
    assert job["channel"] == account.channel_id and job["server"] == account.guild_id
    assert job["discord"] == f"{account.user_token[:3]}…secured…{account.user_token[-3:]}"
    without_slash = await proxy.client.get("/v2/jobs", params={"jobid": mj_task["id"]})
    assert without_slash.status_code == 200 and without_slash.json() == job


async def test_bad_requests_get_the_documented_400s(proxy: Proxy) -> None:
    missing = "prompt, discord, server or channel value is missing"
    too_long = "prompt, replyRef or replyUrl is too long"
    for body, error in [({}, missing), ({"prompt": "  "}, missing),
                        ({"prompt": "cat", "discord": "tok"}, missing),
                        ({"prompt": "x" * 2049}, too_long),
                        ({"prompt": "cat", "replyRef": "r" * 1025}, too_long),
                        ({"prompt": "cat", "replyUrl": "http://h/" + "u" * 1020}, too_long)]:
        response = await proxy.client.post("/v2/jobs/imagine", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json() == {"error": error, "code": 400}
    for body in [{"prompt": "cat", "maxJobs": 16}, {"prompt": "cat", "maxJobs": 0},
                 {"prompt": "cat", "channel": "404404"}, {"prompt": "cat", "replyUrl": "ftp://x"}]:
        response = await proxy.client.post("/v2/jobs/imagine", json=body)
        assert response.status_code == 400 and response.json()["code"] == 400, (body, response.text)
    malformed = await proxy.client.post("/v2/jobs/imagine", content=b"{not json",
                                        headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == 400
    assert (await proxy.client.get("/v2/jobs/", params={"jobid": "nope"})).json() == {
        "error": "Unable to locate job nope", "code": 404}
    assert (await proxy.client.get("/v2/jobs/")).status_code == 400
    wrong_token = await proxy.client.post("/v2/jobs/imagine", json={
        "prompt": "cat", "discord": "not-the-token", "server": proxy.runtime.settings.accounts[0].guild_id,
        "channel": proxy.runtime.settings.accounts[0].channel_id})
    assert wrong_token.status_code == 400
