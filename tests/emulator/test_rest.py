from __future__ import annotations

import io
import json
import re
import time

import httpx
from PIL import Image

from mjproxy.emulator import Emulator

from .conftest import IMAGINE_ID, RawGateway, imagine_body, nonce


async def test_auth_and_basic_routes(emu: Emulator, http: httpx.AsyncClient) -> None:
    acc = emu.sandbox
    for prefix in ("/api/v9", "/api/v10", "/api"):
        r = await http.get(emu.base_url + prefix + "/users/@me")
        assert r.status_code == 200 and r.json()["id"] == acc.user_id
    r = await http.get("/users/@me", headers={"Authorization": "Bot " + acc.token})
    assert r.status_code == 401 and r.json() == {"message": "401: Unauthorized", "code": 0}
    r = await http.get("/nope/nothing")
    assert r.status_code == 404 and r.json() == {"message": "404: Not Found", "code": 0}
    ch = (await http.get(f"/channels/{acc.channel_id}")).json()
    assert ch["guild_id"] == acc.guild_id and ch["type"] == 0
    r = await http.get("/channels/123456789012345678")
    assert r.status_code == 404 and r.json() == {"message": "Unknown Channel", "code": 10003}
    r = await http.get(f"/channels/{acc.channel_id}/messages/123456789012345678")
    assert r.status_code == 403 and r.json()["code"] == 20002
    dms = (await http.get("/users/@me/channels")).json()
    assert dms[0]["recipients"][0]["id"] == "936929561302675456"
    dm = (await http.post("/users/@me/channels", json={"recipients": ["936929561302675456"]})).json()
    assert dm["id"] == dms[0]["id"]
    assert "X-RateLimit-Bucket" in r.headers or r.status_code >= 400


async def test_command_index_and_search(emu: Emulator, http: httpx.AsyncClient) -> None:
    idx = (await http.get(f"/guilds/{emu.sandbox.guild_id}/application-command-index")).json()
    names = {c["name"] for c in idx["application_commands"]}
    assert {"imagine", "describe", "blend", "settings"} <= names
    assert idx["applications"][0]["id"] == "936929561302675456"
    idx2 = (await http.get(f"/channels/{emu.sandbox.channel_id}/application-command-index")).json()
    assert idx2["version"] == idx["version"]
    found = (await http.get(f"/channels/{emu.sandbox.channel_id}/application-commands/search",
                            params={"type": 1, "query": "imagine", "limit": 1, "include_applications": "true"}))
    assert [c["id"] for c in found.json()["application_commands"]] == [IMAGINE_ID]


async def test_strict_versions_after_bump(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    r = await http.post("/interactions", json=imagine_body(emu.sandbox, "ok", gw.session_id, version="1"))
    assert r.status_code == 204  # lenient by default
    emu.config.strict_command_versions = True
    emu.bump_command_versions()
    r = await http.post("/interactions", json=imagine_body(emu.sandbox, "stale", gw.session_id))
    assert r.status_code == 400
    assert r.json() == {"code": 50035, "message": "Invalid Form Body", "errors": {"data": {"_errors": [
        {"code": "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION",
         "message": "This command is outdated, please try again in a few minutes"}]}}}
    idx = (await http.get(f"/guilds/{emu.sandbox.guild_id}/application-command-index")).json()
    fresh = next(c for c in idx["application_commands"] if c["name"] == "imagine")
    r = await http.post("/interactions", json=imagine_body(emu.sandbox, "fresh", gw.session_id,
                                                           version=fresh["version"]))
    assert r.status_code == 204


async def test_interaction_validation(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    body = imagine_body(emu.sandbox, "x", gw.session_id)
    body["nonce"] = "abc"
    r = await http.post("/interactions", json=body)
    assert r.status_code == 400 and r.json()["code"] == 50035 and "nonce" in r.json()["errors"]
    body = imagine_body(emu.sandbox, "x", gw.session_id)
    body["data"]["options"] = []
    r = await http.post("/interactions", json=body)
    assert r.status_code == 400 and r.json()["code"] == 50035
    body = imagine_body(emu.sandbox, "x", gw.session_id)
    body["data"]["name"] = "imagin"
    assert (await http.post("/interactions", json=body)).status_code == 400
    body = imagine_body(emu.sandbox, "x", gw.session_id)
    body["channel_id"] = "111111111111111111"
    r = await http.post("/interactions", json=body)
    assert r.status_code == 404 and r.json()["code"] == 10003
    # multipart with payload_json
    body = imagine_body(emu.sandbox, "multipart cat", gw.session_id)
    r = await http.post("/interactions", files={"payload_json": (None, json.dumps(body))})
    assert r.status_code == 204 and r.content == b""
    assert (await gw.wait_for("INTERACTION_CREATE"))["d"]["nonce"] == body["nonce"]


async def test_session_routing_fallback(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    g2 = RawGateway(emu.gateway_url)
    await g2.open()
    await g2.identify(emu.sandbox.token)
    n = nonce()
    await http.post("/interactions", json=imagine_body(emu.sandbox, "routed", gw.session_id, n))
    assert (await gw.wait_for("INTERACTION_CREATE"))["d"]["nonce"] == n
    # g2 sees the public messages but not gw's interaction events
    seen = await g2.dispatches_until(lambda p: p["t"] == "MESSAGE_CREATE" and p["d"].get("nonce") == n)
    seen += await g2.dispatches_until(lambda p: p["t"] == "MESSAGE_DELETE")
    assert not [p for p in seen if p["t"].startswith("INTERACTION")]
    n2 = nonce()
    await http.post("/interactions", json=imagine_body(emu.sandbox, "fake session", "f1a313a09ce079ce", n2))
    assert (await g2.wait_for("INTERACTION_CREATE", pred=lambda d: d["nonce"] == n2))
    await g2.close()


async def test_rate_limit_injection(emu: Emulator, http: httpx.AsyncClient, gw: RawGateway) -> None:
    emu.inject_rest_fault("/interactions", status=429, count=2, retry_after=0.25, scope="user")
    body = imagine_body(emu.sandbox, "x", gw.session_id)
    for _ in range(2):
        r = await http.post("/interactions", json=body)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "0.25" and r.headers["x-ratelimit-scope"] == "user"
        assert r.json() == {"message": "You are being rate limited.", "retry_after": 0.25, "global": False}
    assert (await http.post("/interactions", json=body)).status_code == 204
    emu.inject_rest_fault(re.compile(r"^/channels/\d+/messages$"), status=502, method="GET")
    r = await http.get(f"/channels/{emu.sandbox.channel_id}/messages")
    assert r.status_code == 502 and "<html>" in r.text
    r = await http.get(f"/channels/{emu.sandbox.channel_id}/messages")
    assert r.status_code == 200 and r.headers["x-ratelimit-bucket"]


async def test_upload_flow_and_cdn(emu: Emulator, http: httpx.AsyncClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, "PNG")
    png = buf.getvalue()
    cid = emu.sandbox.channel_id
    slots = (await http.post(f"/channels/{cid}/attachments",
                             json={"files": [{"id": "0", "filename": "cat.png", "file_size": len(png)}]})).json()
    slot = slots["attachments"][0]
    assert slot["id"] == "0" and slot["upload_filename"].endswith("/cat.png")
    async with httpx.AsyncClient() as raw:
        r = await raw.put(slot["upload_url"], content=png, headers={"Content-Type": "image/png"})
        assert r.status_code == 200
        msg = (await http.post(f"/channels/{cid}/messages", json={
            "content": "upload image", "nonce": nonce(), "attachments": [
                {"id": "0", "filename": "cat.png", "uploaded_filename": slot["upload_filename"]}]})).json()
        att = msg["attachments"][0]
        assert att["url"].startswith(f"{emu.base_url}/attachments/{cid}/")
        assert (att["width"], att["height"]) == (40, 30)
        got = await raw.get(att["url"])
        assert got.status_code == 200 and got.content == png
        # tampered signature / expired links answer an error page
        bad = await raw.get(att["url"].replace("hm=", "hm=0"))
        assert bad.status_code == 404
    emu.config.link_ttl_seconds = -10
    msg = (await http.post(f"/channels/{cid}/messages", files={"files[0]": ("a.png", png, "image/png")})).json()
    async with httpx.AsyncClient() as raw:
        assert (await raw.get(msg["attachments"][0]["url"])).status_code == 404
    ex = int(re.search(r"ex=([0-9a-f]{8})", msg["attachments"][0]["url"]).group(1), 16)  # type: ignore[union-attr]
    assert ex < time.time()


async def test_history_paging(emu: Emulator, http: httpx.AsyncClient) -> None:
    cid = emu.sandbox.channel_id
    ids = [(await http.post(f"/channels/{cid}/messages", json={"content": str(i)})).json()["id"] for i in range(5)]
    hist = (await http.get(f"/channels/{cid}/messages", params={"limit": 3})).json()
    assert [m["id"] for m in hist] == ids[::-1][:3]
    before = (await http.get(f"/channels/{cid}/messages", params={"before": ids[2], "limit": 10})).json()
    assert [m["id"] for m in before] == [ids[1], ids[0]]
    after = (await http.get(f"/channels/{cid}/messages", params={"after": ids[2]})).json()
    assert [m["id"] for m in after] == [ids[4], ids[3]]
    around = (await http.get(f"/channels/{cid}/messages", params={"around": ids[2], "limit": 3})).json()
    assert ids[2] in [m["id"] for m in around] and len(around) == 3
    r = await http.put(f"/channels/{cid}/messages/{ids[0]}/reactions/%E2%9C%89%EF%B8%8F/@me",
                       params={"location": "Message", "type": 0})
    assert r.status_code == 204


async def test_control_api(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.base_url) as raw:
        state = (await raw.get("/_emulator/state")).json()
        assert state["accounts"][0]["token"] != emu.sandbox.token and "…" in state["accounts"][0]["token"]
        r = await raw.post("/_emulator/config", json={"job_duration_s": 0.5, "profile": "modern"})
        assert r.status_code == 200 and emu.config.profile == "modern" and emu.config.job_duration_s == 0.5
        assert (await raw.post("/_emulator/config", json={"profile": "bogus"})).status_code == 400
        acc = (await raw.post("/_emulator/accounts", json={"username": "carol"})).json()
        assert acc["username"] == "carol" and len(emu.accounts) == 2
