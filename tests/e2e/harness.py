"""End-to-end harness: the real server and the real emulator on free loopback ports, in-process."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mjproxy.api.app import create_app
from mjproxy.config import Settings
from mjproxy.emulator import Emulator, EmulatorConfig, SandboxAccount
from mjproxy.runtime import Runtime


@asynccontextmanager
async def running_emulator(**knobs: Any) -> AsyncIterator[Emulator]:
    """The emulator as the e2e tests use it: instant jobs, quick heartbeats, any knob overridden."""
    config = {"job_duration_s": 0, "heartbeat_interval_ms": 2000, **knobs}
    emulator = Emulator(EmulatorConfig(**config))
    await emulator.start(host="127.0.0.1", port=0)
    try:
        yield emulator
    finally:
        await emulator.stop()


@asynccontextmanager
async def running_proxy(settings: Settings) -> AsyncIterator[Proxy]:
    proxy = await start_proxy(settings)
    try:
        yield proxy
    finally:
        await proxy.stop()


async def serve_in_loop(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                          lifespan="on"))
    job = asyncio.get_running_loop().create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if job.done():
            job.result()  # surfaces the start-up error
            raise RuntimeError("server stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, job, port


def account_entry(account: SandboxAccount, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": account.username, "guild_id": account.guild_id,
                             "channel_id": account.channel_id, "user_token": account.token}
    entry.update(overrides)
    return entry


def proxy_settings(emulator: Emulator, tmp_path: Path, *, accounts: list[dict[str, Any]] | None = None,
                   **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "storage": {"database_url": f"sqlite+aiosqlite:///{tmp_path}/mjproxy.db", "data_dir": str(tmp_path)},
        "discord": {"api_base": emulator.base_url, "gateway_url": emulator.gateway_url,
                    "activity_base": emulator.base_url},
        "accounts": accounts if accounts is not None else [account_entry(emulator.sandbox)],
        "sandbox": {"enabled": "never"},
        "engine": {"timeout_sweep_seconds": 0.5},
        # Everything runs on loopback, which the SSRF guard refuses unless allow-listed; the guard's own
        # tests pass security={"fetch_allow": []} to see the refusals.
        "security": {"fetch_allow": ["127.0.0.1/32"]},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return Settings(**data)


@dataclass
class Proxy:
    runtime: Runtime
    server: uvicorn.Server
    job: asyncio.Task[None]
    base_url: str
    client: httpx.AsyncClient

    async def imagine(self, prompt: str, **extra: Any) -> dict[str, Any]:
        response = await self.client.post("/mj/submit/imagine", json={"prompt": prompt, **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def fetch(self, task_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/mj/task/{task_id}/fetch")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for(self, task_id: str, statuses: tuple[str, ...] = ("SUCCESS", "FAILURE", "CANCEL"),
                       timeout: float = 30.0, on_poll: Callable[[dict[str, Any]], None] | None = None,
                       interval: float = 0.05) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task = await self.fetch(task_id)
            if on_poll is not None:
                on_poll(task)
            if task["status"] in statuses:
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']} {task['progress']} after {timeout}s")
            await asyncio.sleep(interval)

    async def wait_accounts_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            accounts = self.runtime.account_health()  # in-process: whatever credentials the client holds
            if accounts and all(a["state"] == "ready" for a in accounts):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"accounts not ready: {accounts}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.client.aclose()
        self.server.should_exit = True
        await asyncio.wait_for(self.job, timeout=30)


async def start_proxy(settings: Settings, *, wait_ready: bool = True,
                      headers: dict[str, str] | None = None) -> Proxy:
    runtime = Runtime(settings)
    server, job, port = await serve_in_loop(create_app(runtime))
    base_url = f"http://127.0.0.1:{port}"
    runtime.served_base_url = base_url  # the links to stored images (images.public_base_url unset)
    proxy = Proxy(runtime, server, job, base_url, httpx.AsyncClient(base_url=base_url, timeout=30,
                                                                    headers=headers or {}))
    if wait_ready:
        await proxy.wait_accounts_ready()
    return proxy


@dataclass(frozen=True)
class HookCall:
    """One POST the receiver got, with the outbox's headers and whether its signature checks out."""

    body: dict[str, Any]
    raw: bytes
    sequence: int | None
    event_id: str | None
    timestamp: str | None
    signature: str | None
    signature_valid: bool | None  # None: the receiver has no secret to check with
    answered: int

    @property
    def task_id(self) -> str:
        return str(self.body.get("id"))


@dataclass
class HookReceiver:
    """A real HTTP server on loopback that records every notify-hook call it receives.

    ``bodies`` holds the accepted bodies (as before); ``calls`` every request with its outbox headers. Set
    ``secret`` to check signatures, ``fail_next`` to refuse that many requests (with ``fail_status``), or
    ``down`` to refuse all of them until it is cleared.
    """

    secret: str = ""
    fail_next: int = 0
    fail_status: int = 500
    down: bool = False
    # Refuse this fraction of requests at random (seeded by fail_seed), as a flaky receiver would.
    fail_ratio: float = 0.0
    fail_seed: int = 0
    # Calls for tasks whose prompt contains one of these words wait until release() is called.
    hold_prompts: set[str] = field(default_factory=set)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    calls: list[HookCall] = field(default_factory=list)
    url: str = ""
    _server: uvicorn.Server | None = None
    _job: asyncio.Task[None] | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0  # calls being held right now
    _rng: random.Random = field(default_factory=random.Random)

    def release(self) -> None:
        self.hold_prompts.clear()
        self._released.set()

    async def start(self) -> None:
        self._rng.seed(self.fail_seed)

        async def receive(request: Request) -> Response:
            from mjproxy.notify import signing

            raw = await request.body()
            prompt = str(json.loads(raw).get("prompt") or "")
            if any(word in prompt for word in self.hold_prompts):
                self.waiting += 1
                await self._released.wait()
                self.waiting -= 1
            headers = request.headers
            sequence = headers.get(signing.SEQUENCE_HEADER)
            timestamp = headers.get(signing.TIMESTAMP_HEADER)
            signature = headers.get(signing.SIGNATURE_HEADER)
            valid = None
            if self.secret:
                valid = bool(signature and timestamp and signing.verify(self.secret, timestamp, raw, signature))
            refuse = self.down or self.fail_next > 0 or (self.fail_ratio > 0 and self._rng.random() < self.fail_ratio)
            if self.fail_next > 0:
                self.fail_next -= 1
            answered = (503 if self.down else self.fail_status) if refuse else 204
            body = json.loads(raw)
            self.calls.append(HookCall(body, raw, int(sequence) if sequence else None,
                                       headers.get(signing.EVENT_ID_HEADER), timestamp, signature, valid, answered))
            if refuse:
                return Response("receiver unavailable", status_code=answered)
            self.bodies.append(body)
            return Response(status_code=204)

        app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
        self._server, self._job, port = await serve_in_loop(app)
        self.url = f"http://127.0.0.1:{port}/hook"

    def for_task(self, task_id: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b["id"] == task_id]

    def accepted(self, task_id: str) -> list[HookCall]:
        return [c for c in self.calls if c.task_id == task_id and c.answered < 300]

    def refused(self, task_id: str) -> list[HookCall]:
        return [c for c in self.calls if c.task_id == task_id and c.answered >= 300]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0, what: str = "callbacks") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                seen = [(c.task_id, c.sequence, c.answered) for c in self.calls]
                raise AssertionError(f"{what} not received after {timeout}s; calls so far: {seen}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._job is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._job, timeout=10)


def png_data_url(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 40, 40)) -> str:
    """A real PNG image as a data URL, as clients send them."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def mask_data_url(width: int, height: int) -> str:
    """Vary (Region) mask: black background, a white square to repaint."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), fill=255)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def submit(proxy: Proxy, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await proxy.client.post(path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def button(task: dict[str, Any], label: str) -> str:
    """The customId of a task's button, found by label or emoji."""
    for candidate in task["buttons"]:
        if label in (candidate["label"], candidate["emoji"]):
            return str(candidate["customId"])
    raise AssertionError(f"no button {label!r} in {[(b['label'], b['emoji']) for b in task['buttons']]}")
