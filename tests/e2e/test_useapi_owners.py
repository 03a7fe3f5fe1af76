"""/v2 jobs belong to the key that created them (ownership seam of api/auth.py): other users' jobs are 404."""

from __future__ import annotations

from mjproxy.api.auth import Authenticator, Principal
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy
from tests.e2e.useapi_helpers import wait_job


class TwoUsers(Authenticator):
    """API keys as the security branch provides them: one owner per key (here two fixed keys)."""

    async def authenticate(self, credential: str) -> Principal | None:
        return {"key-a": Principal("user", "a"), "key-b": Principal("user", "b"),
                "admin": Principal("admin")}.get(credential)


async def test_users_see_only_their_jobs(emulator: Emulator, proxy: Proxy) -> None:
    app = proxy.server.config.app
    app.state.authenticator = TwoUsers(proxy.runtime.settings.server)
    a, b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    emulator.config.job_duration_s = 3
    started = (await proxy.client.post("/v2/jobs/imagine", json={"prompt": "a's fox"}, headers=a)).json()
    jobid = started["jobid"]
    assert (await proxy.client.get("/v2/jobs", headers=a)).json() == [jobid]
    assert (await proxy.client.get("/v2/jobs", headers=b)).json() == []
    assert (await proxy.client.get("/v2/jobs", headers={"Authorization": "Bearer admin"})).json() == [jobid]
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
