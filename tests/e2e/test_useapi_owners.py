"""/v2 jobs belong to the API key that created them: other users' jobs are 404, admins see all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_proxy
from tests.e2e.test_api_keys import create_key
from tests.e2e.useapi_helpers import wait_job

ADMIN = "the-admin-secret"


@pytest.fixture
async def secured(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Proxy]:
    settings = proxy_settings(emulator, tmp_path, server={"admin_secret": ADMIN})
    async with running_proxy(settings) as proxy:
        yield proxy


async def test_users_see_only_their_jobs(emulator: Emulator, secured: Proxy) -> None:
    proxy = secured
    admin = {"Authorization": f"Bearer {ADMIN}"}
    proxy.client.headers.update(admin)
    key_a, key_b = (await create_key(proxy, "a"))["key"], (await create_key(proxy, "b"))["key"]
    del proxy.client.headers["Authorization"]
    a, b = {"Authorization": f"Bearer {key_a}"}, {"Authorization": f"Bearer {key_b}"}
    emulator.config.job_duration_s = 3
    started = (await proxy.client.post("/v2/jobs/imagine", json={"prompt": "a's fox"}, headers=a)).json()
    jobid = started["jobid"]
    assert (await proxy.client.get("/v2/jobs", headers=a)).json() == [jobid]
    assert (await proxy.client.get("/v2/jobs", headers=b)).json() == []
    assert (await proxy.client.get("/v2/jobs", headers=admin)).json() == [jobid]
    proxy.client.headers.update(a)
    await wait_job(proxy.client, jobid)
    for response in (await proxy.client.get("/v2/jobs/", params={"jobid": jobid}, headers=b),
                     await proxy.client.post("/v2/jobs/button", json={"jobid": jobid, "button": "U1"}, headers=b),
                     await proxy.client.post("/v2/jobs/seed", json={"jobid": jobid}, headers=b),
                     await proxy.client.get("/v2/jobs/cancel/", params={"jobid": jobid}, headers=b)):
        assert response.status_code == 404 and response.json()["error"] == f"Unable to locate job {jobid}"
    child = (await proxy.client.post("/v2/jobs/button", json={"jobid": jobid, "button": "U1"}, headers=a)).json()
    assert (await proxy.client.get("/v2/jobs/", params={"jobid": child["jobid"]}, headers=b)).status_code == 404
    assert (await wait_job(proxy.client, child["jobid"]))["status"] == "completed"
