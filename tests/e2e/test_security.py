"""Security end to end: the SSRF guard at submit, body limits, decompression bombs, banned words that never
reach Discord, tokens encrypted at rest and absent from every response and log line."""

from __future__ import annotations

import base64
import logging
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from mjproxy.config import Settings
from mjproxy.domain.account import AccountDefinition
from mjproxy.emulator import Emulator
from mjproxy.logs import NOISY_LIBRARIES, quiet_libraries
from mjproxy.runtime import Runtime
from mjproxy.store import Database
from mjproxy.store.accounts import AccountRepository
from mjproxy.store.errors import TokenKeyError
from mjproxy.store.secrets import KEY_FILE
from tests.e2e.harness import (
    HookReceiver,
    account_entry,
    png_data_url,
    proxy_settings,
    running_proxy,
    submit,
)

NO_ALLOW_LIST = {"fetch_allow": []}
ACCOUNT_SYNC = {"info", "settings"}  # what the proxy itself runs when an account connects


def jobs_sent(emulator: Emulator) -> list[str]:
    """Every interaction that reached the emulated Discord other than the account's own sync."""
    return [str(i.data.get("name") or i.data.get("custom_id")) for i in emulator.world.interactions.values()
            if i.data.get("name") not in ACCOUNT_SYNC]


def database_bytes(settings: Settings) -> bytes:
    path = Path(str(make_url(settings.storage.database_url).database))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def bomb_png(width: int = 100_000, height: int = 100_000) -> str:
    """A tiny, valid PNG whose header declares ``width`` × ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")
    assert len(png) < 200
    return "data:image/png;base64," + base64.b64encode(png).decode()


# -- SSRF ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hook", [
    "http://127.0.0.1:9/hook", "http://localhost:8080/mj/account/list", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/hook", "http://192.168.1.20/hook",
    "http://0.0.0.0:8080/",
])
async def test_private_notify_hooks_are_refused_at_submit(emulator: Emulator, tmp_path: Path, hook: str) -> None:
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST)
    async with running_proxy(settings) as proxy:
        for path, body in [("/mj/submit/imagine", {"prompt": "a cat", "notifyHook": hook}),
                           ("/mj/submit/shorten", {"prompt": "a cat", "notifyHook": hook}),
                           ("/mj/submit/describe", {"base64": png_data_url(), "notifyHook": hook}),
                           ("/mj/submit/blend", {"base64Array": [png_data_url(), png_data_url()],
                                                 "dimensions": "SQUARE", "notifyHook": hook})]:
            refused = await submit(proxy, path, body)
            assert refused["code"] == 4, (path, refused)
            assert refused["description"].startswith("notifyHook refused:"), refused
        assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
    assert jobs_sent(emulator) == []  # nothing was sent to Discord either


async def test_hooks_on_buttons_are_checked_and_the_operators_hook_is_trusted(
        emulator: Emulator, tmp_path: Path, hooks: HookReceiver) -> None:
    # The operator's own hook is on loopback (not allow-listed) and still receives callbacks.
    settings = proxy_settings(emulator, tmp_path, security=NO_ALLOW_LIST, server={"notify_hook": hooks.url})
    async with running_proxy(settings) as proxy:
        grid = await proxy.wait_for((await proxy.imagine("a lighthouse"))["result"])
        assert grid["status"] == "SUCCESS"
        upscale = next(b["customId"] for b in grid["buttons"] if b["label"] == "U1")
        refused = await submit(proxy, "/mj/submit/action", {"taskId": grid["id"], "customId": upscale,
                                                            "notifyHook": "http://169.254.169.254/"})
        assert refused["code"] == 4 and "link-local" in refused["description"]
        changed = await submit(proxy, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE", "index": 1,
                                                            "notifyHook": "http://127.0.0.1:1/"})
        assert changed["code"] == 4 and "loopback" in changed["description"]
    assert grid["id"] in {body["id"] for body in hooks.bodies}


async def test_the_allow_list_admits_a_host_name_without_its_address(
        emulator: Emulator, tmp_path: Path, hooks: HookReceiver) -> None:
    settings = proxy_settings(emulator, tmp_path, security={"fetch_allow": ["localhost"]})
    async with running_proxy(settings) as proxy:
        # "localhost" is allowed by name (an operator's choice); 127.0.0.1 itself is not allow-listed.
        ok = await proxy.imagine("a fox", notifyHook=hooks.url.replace("127.0.0.1", "localhost"))
        direct = await submit(proxy, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": hooks.url})
        assert ok["code"] == 1 and direct["code"] == 4
        await proxy.wait_for(ok["result"])
    assert {body["id"] for body in hooks.bodies} == {ok["result"]}


# -- request bodies and images ------------------------------------------------------------------------

async def test_body_limits_hold_for_chunked_bodies_too(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"max_body_bytes": 2000})
    async with running_proxy(settings) as proxy:
        big = b'{"prompt": "' + b"a" * 5000 + b'"}'

        async def chunked() -> Any:  # no Content-Length: the server must count as it reads
            for start in range(0, len(big), 500):
                yield big[start:start + 500]

        streamed = await proxy.client.post("/mj/submit/imagine", content=chunked(),
                                           headers={"content-type": "application/json"})
        assert streamed.status_code == 413, streamed.text
        assert "larger than 2000 bytes" in streamed.json()["detail"]
        declared = await proxy.client.post("/mj/submit/imagine", content=big,
                                           headers={"content-type": "application/json"})
        assert declared.status_code == 413

        async def small() -> Any:
            yield b'{"prompt": "a small cat"}'

        fine = await proxy.client.post("/mj/submit/imagine", content=small(),
                                       headers={"content-type": "application/json"})
        assert fine.status_code == 200 and fine.json()["code"] == 1
        assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "1"


async def test_decompression_bombs_are_refused_before_discord(emulator: Emulator, tmp_path: Path) -> None:
    async with running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        for path, body in [("/mj/submit/imagine", {"prompt": "a cat", "base64Array": [bomb_png()]}),
                           ("/mj/submit/describe", {"base64": bomb_png()}),
                           ("/mj/submit/blend", {"base64Array": [png_data_url(), bomb_png()], "dimensions": "SQUARE"}),
                           ("/mj/submit/upload-discord-images", {"base64Array": [bomb_png(20_000, 20_000)]})]:
            refused = await submit(proxy, path, body)
            assert refused["code"] == 4, (path, refused)
            assert "pixels" in refused["description"]
        named_png = "data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\0" * 40).decode()
        mislabelled = await submit(proxy, "/mj/submit/describe", {"base64": named_png})
        assert mislabelled["code"] == 4  # sniffed as GIF by content, then unreadable: refused, not trusted
    assert jobs_sent(emulator) == [] and not emulator.world.cdn.uploads


# -- banned words -------------------------------------------------------------------------------------

async def test_banned_words_answer_24_and_nothing_reaches_discord(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, engine={"banned_words": ["forbidden", "nope"]})
    async with running_proxy(settings) as proxy:
        for path, body in [("/mj/submit/imagine", {"prompt": "a FORBIDDEN garden"}),
                           ("/mj/submit/imagine", {"prompt": "a nope garden", "base64Array": [png_data_url()]}),
                           ("/mj/submit/shorten", {"prompt": "a forbidden, long prompt"})]:
            blocked = await submit(proxy, path, body)
            assert blocked["code"] == 24, (path, blocked)
        assert (await proxy.client.get("/mj/task/list")).headers["X-Total-Count"] == "0"
    assert jobs_sent(emulator) == [], "a banned prompt reached Discord"
    assert not emulator.world.cdn.uploads, "an image of a banned prompt was uploaded"


# -- tokens -------------------------------------------------------------------------------------------

async def test_tokens_never_appear_in_responses_logs_or_the_database(
        emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_libraries(logging.DEBUG)  # exactly what `mjproxy serve` does with logging.level = "DEBUG"
    request.addfinalizer(lambda: [logging.getLogger(n).setLevel(logging.NOTSET) for n in NOISY_LIBRARIES])
    second = emulator.add_account("second")
    tokens = [emulator.sandbox.token, second.token]
    key = Fernet.generate_key().decode()
    settings = proxy_settings(emulator, tmp_path, security={"encryption_key": key})
    seen: list[str] = []

    async def record(response: httpx.Response) -> None:
        seen.append((await response.aread()).decode(errors="replace"))

    async with running_proxy(settings) as proxy:
        proxy.client.event_hooks["response"].append(record)
        client = proxy.client
        account_id = emulator.sandbox.channel_id
        await client.get("/mj/account/list")
        await client.get(f"/mj/account/{account_id}/fetch")
        await client.post("/mj/account/query", json={"pageNumber": 0, "pageSize": 10})
        created = await client.post("/mj/account/create", json={
            "guildId": second.guild_id, "channelId": second.channel_id, "userToken": second.token})
        assert created.status_code == 200, created.text
        await client.post("/mj/account/create", json={  # a conflict: the error must not echo the token
            "guildId": second.guild_id, "channelId": second.channel_id, "userToken": second.token})
        await client.post("/mj/account/create", json={"guildId": "x", "channelId": "1", "userToken": second.token})
        await client.put(f"/mj/account/{second.channel_id}/update", json={"userToken": second.token, "coreSize": 0})
        await client.put(f"/mj/account/{second.channel_id}/update", json={"userToken": second.token,
                                                                          "remark": "edited"})
        await client.post(f"/mj/account/{second.channel_id}/sync-info")
        await client.post(f"/mj/account/{account_id}/reconnect")
        await client.get("/mj/account/999/fetch")
        await client.get("/healthz")
        result = await proxy.imagine("a token-free cat")
        await proxy.wait_for(result["result"])
        await client.get("/mj/task/list")
        await client.post("/mj/submit/imagine", content=b"{not json", headers={"content-type": "application/json"})
        emulator.set_token_valid(second.token, False)  # an auth failure: logged, with the token masked
        await client.post(f"/mj/account/{second.channel_id}/reconnect")
        await client.get(f"/mj/account/{second.channel_id}/fetch")
    stored = database_bytes(settings)
    assert seen and caplog.records
    for token in tokens:
        for fragment in (token, token.split(".")[-1]):
            assert all(fragment not in body for body in seen), "a response carried a token"
            leaks = [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
                     if fragment in f"{r.getMessage()} {r.exc_text or ''} {r.args!r}"]
            assert not leaks, f"a log line carried a token: {leaks[:3]}"
            assert fragment.encode() not in stored, "the database holds a token in clear text"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_tokens_are_encrypted_by_default_and_files_are_private(emulator: Emulator, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """No key configured: one is generated into the data directory (0600) and every token is stored encrypted;
    the database, its WAL and the gateway session file are readable by their owner only."""
    extra = emulator.add_account("extra")
    settings = proxy_settings(emulator, tmp_path)
    async with running_proxy(settings) as proxy:
        response = await proxy.client.post("/mj/account/create", json={
            "guildId": extra.guild_id, "channelId": extra.channel_id, "userToken": extra.token})
        assert response.status_code == 200
        await proxy.wait_for((await proxy.imagine("a private cat"))["result"])
    key_file = tmp_path / KEY_FILE
    assert key_file.exists() and mode(key_file) == 0o600
    assert "generated the token encryption key" in caplog.text and key_file.read_text().strip() not in caplog.text
    content = database_bytes(settings)
    assert emulator.sandbox.token.encode() not in content and extra.token.encode() not in content
    database = Path(str(make_url(settings.storage.database_url).database))
    private = [p for p in database.parent.glob(database.name + "*")] + [tmp_path / "gateway-sessions.json"]
    assert len(private) >= 2
    for path in private:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    # The next start reads them with the same generated key.
    async with running_proxy(settings) as proxy:
        assert len((await proxy.client.get("/mj/account/list")).json()) == 2


async def test_clear_text_tokens_are_encrypted_on_start_and_a_wrong_key_stops_start_up(
        emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = emulator.sandbox.token
    # A database written in clear text (by a version that did not encrypt by default), with an account that
    # lives only in the database: it is what must not be lost.
    extra = emulator.add_account("extra")
    plain = proxy_settings(emulator, tmp_path)
    db = await Database.connect(plain.storage.database_url)
    try:
        repo = AccountRepository(db)
        for account in (emulator.sandbox, extra):
            await repo.insert(AccountDefinition(channel_id=account.channel_id, guild_id=account.guild_id,
                                                user_token=account.token, name=account.username))
    finally:
        await db.close()
    assert token.encode() in database_bytes(plain)  # before: clear text

    key = Fernet.generate_key().decode()
    encrypted = proxy_settings(emulator, tmp_path, security={"encryption_key": key})
    async with running_proxy(encrypted) as proxy:
        ids = {a["id"] for a in (await proxy.client.get("/mj/account/list")).json()}
        assert ids == {emulator.sandbox.channel_id, extra.channel_id}
    content = database_bytes(encrypted)
    assert token.encode() not in content and extra.token.encode() not in content

    caplog.set_level(logging.CRITICAL)
    for settings in [proxy_settings(emulator, tmp_path, security={"encryption_key": Fernet.generate_key().decode()}),
                     # no key configured: the generated one is not the key these tokens were stored with
                     proxy_settings(emulator, tmp_path, accounts=[account_entry(emulator.sandbox)])]:
        runtime = Runtime(settings)
        with pytest.raises(TokenKeyError, match="encrypted with another key") as failure:
            await runtime.start()
        assert token not in str(failure.value) and extra.token not in str(failure.value)
        await runtime.stop()
    assert any("cannot start" in r.getMessage() for r in caplog.records)
    # nothing was dropped or rewritten by the failed starts: the right key still reads both accounts
    async with running_proxy(encrypted) as proxy:
        assert len((await proxy.client.get("/mj/account/list")).json()) == 2
