"""Safe by default (issue 11 §3): token fields take strings only, CORS is off unless configured.
(The open server's key routes and encryption at rest are in test_api_keys.py and test_security.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.config import ServerSettings
from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_proxy


async def test_a_number_is_never_taken_as_a_token(proxy: Proxy, emulator: Emulator) -> None:
    extra = emulator.add_account("numbers")
    created = await proxy.client.post("/mj/account/create", json={
        "guildId": extra.guild_id, "channelId": extra.channel_id, "userToken": 1234567890123456})
    assert created.status_code == 422 and "userToken" in created.json()["detail"], created.text
    updated = await proxy.client.put(f"/mj/account/{emulator.sandbox.channel_id}/update",
                                     json={"userToken": 1234567})
    assert updated.status_code == 422 and "userToken" in updated.json()["detail"], updated.text
    v2 = await proxy.client.post(f"/v2/account/midjourney/{extra.channel_id}", json={
        "discord": 1234567, "server": extra.guild_id, "channel": extra.channel_id})
    assert v2.status_code == 400 and v2.json()["code"] == 400 and "discord" in v2.json()["error"], v2.text
    ids = [a["id"] for a in (await proxy.client.get("/mj/account/list")).json()]
    assert ids == [emulator.sandbox.channel_id]  # nothing was created
    assert (await proxy.client.get(f"/mj/account/{emulator.sandbox.channel_id}/fetch")).json()["userToken"] == \
        (await proxy.client.get("/mj/account/list")).json()[0]["userToken"]


PREFLIGHT = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type"}


async def test_cors_is_off_by_default(proxy: Proxy) -> None:
    preflight = await proxy.client.options("/mj/submit/imagine", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    fetched = await proxy.client.get("/mj/task/list", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in fetched.headers


async def test_configured_origins_may_call_the_api(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"cors_origins": ["https://app.example.com"]})
    async with running_proxy(settings) as proxy:
        preflight = await proxy.client.options("/mj/submit/imagine", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        listed = await proxy.client.get("/mj/task/list", headers={"Origin": "https://app.example.com"})
        assert listed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "X-Total-Count" in listed.headers["access-control-expose-headers"]
        other = await proxy.client.options("/mj/submit/imagine", headers={**PREFLIGHT, "Origin": "https://evil.test"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.test"


def test_cors_origins_are_checked() -> None:
    assert ServerSettings(cors_origins=["https://a.example/"]).cors_origins == ["https://a.example"]
    with pytest.raises(ValueError, match="not an origin"):
        ServerSettings(cors_origins=["https://a.example/path"])
