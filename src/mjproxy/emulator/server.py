"""The `Emulator`: one FastAPI app (REST + gateway + CDN + control API) served by uvicorn in-loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from . import control
from .bot import Job, MidjourneyBot
from .config import EmulatorConfig
from .errors import DiscordHTTPError
from .event_loss import DropRule
from .faults import Fault, FaultInjector
from .rest import Rest
from .state import MJ_BOT_ID
from .world import World

log = logging.getLogger(__name__)

API_PREFIX = re.compile(r"^/api(?:/v\d+)?(?=/)")
ID_SEGMENT = re.compile(r"/\d{15,21}")


@dataclass(frozen=True)
class SandboxAccount:
    token: str
    user_id: str
    username: str
    guild_id: str
    channel_id: str


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._config = config or EmulatorConfig()
        self._host = "127.0.0.1"
        self._port = 0
        self.world = World(lambda: self._config, lambda: self.base_url, lambda: self.gateway_url)
        self.bot = MidjourneyBot(self.world)
        self.world.handler = self.bot
        self.faults = FaultInjector()
        self.rest = Rest(self.world, lambda: self.base_url)
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._chaos_task: asyncio.Task[None] | None = None
        self.accounts: list[SandboxAccount] = []
        self.sandbox = self.add_account("sandbox")

    # --- public properties -------------------------------------------------------------------------
    @property
    def config(self) -> EmulatorConfig:
        return self._config

    @config.setter
    def config(self, value: EmulatorConfig) -> None:
        self._config = value

    def update_config(self, **changes: Any) -> EmulatorConfig:
        self._config = self._config.model_validate({**self._config.model_dump(), **changes})
        if "chaos" in changes:
            self.world.gateway.chaos.reset()
        return self._config

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self._host}:{self._port}"

    @property
    def jobs(self) -> list[Job]:
        return self.bot.jobs

    @property
    def activity_base_url(self) -> str:
        """Where the Vary Region editor posts `/inpaint/api/submit-job` (served by this emulator)."""
        return (self._config.activity_base_url or self.base_url).rstrip("/")

    @staticmethod
    def job_json(job: Job) -> dict[str, Any]:
        return {k: getattr(job, k) for k in (
            "job_id", "nonce", "interaction_id", "prompt", "final_prompt", "user_id", "channel_id", "status",
            "mode", "seed", "queued", "response_message_id", "progress_message_id", "final_message_id",
            "command", "action", "index", "parent_job_id", "parent_message_id", "application_id")}

    # --- accounts ----------------------------------------------------------------------------------
    def add_account(self, username: str | None = None, token: str | None = None) -> SandboxAccount:
        state = self.world.state
        name = username or f"user{len(state.users) + 1}"
        user = state.create_user(name, token)
        guild, channel = state.create_guild(user, f"{name}'s server")
        state.open_dm(user, MJ_BOT_ID)  # shows up in READY.private_channels (seed DM flow)
        account = SandboxAccount(user.token, user.id, user.username, guild.id, channel.id)
        self.accounts.append(account)
        return account

    def set_token_valid(self, token: str, valid: bool) -> None:
        uid = self.world.state.tokens.get(token)
        if uid is None:
            raise KeyError("unknown token")
        self.world.state.users[uid].token_valid = valid
        if not valid:
            self.world.gateway.revoke(uid)

    def bump_command_versions(self) -> None:
        self.world.commands.bump()

    def inject_rest_fault(self, route: str | re.Pattern[str], status: int = 429, count: int = 1,
                          retry_after: float = 0.2, scope: str = "user", body: Any = None,
                          method: str | None = None, latency: float = 0.0,
                          after_processing: bool = False) -> Fault:
        """The next ``count`` calls matching ``route`` answer ``status`` (429: with ``scope`` user, global or
        shared and ``retry_after``); ``latency`` delays the answer; ``after_processing`` serves the request
        before answering the error (the work was done, the client cannot tell)."""
        return self.faults.inject(route, status, count, retry_after, scope, body, method, latency,
                                  after_processing)

    def slow_rest(self, route: str | re.Pattern[str], seconds: float, count: int = 1,
                  method: str | None = None) -> Fault:
        """The next ``count`` matching calls are served normally, ``seconds`` late."""
        return self.faults.inject(route, 0, count, method=method, latency=seconds)

    def drop_events(self, events: Iterable[str] = (), *, count: int | None = 1, fraction: float = 1.0,
                    final_only: bool = False, user_id: str | None = None, text: str | None = None) -> DropRule:
        """Lose gateway dispatches for good (no seq, no replay): the next ``count`` of ``events`` (all types
        when empty), each with probability ``fraction``; ``final_only`` = only job results; ``text`` = only
        messages whose content or embeds contain it."""
        return self.world.gateway.loss.drop(events, count=count, fraction=fraction, final_only=final_only,
                                            user_id=user_id, text=text)

    def lose_heartbeat_acks(self, user_id: str, count: int = 1) -> None:
        """Leave the user's next ``count`` heartbeats without an ACK (a zombie connection)."""
        self.world.gateway.loss.lose_acks(user_id, count)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.world.gateway.loss.clear()

    @property
    def chaos_counts(self) -> dict[str, int]:
        """How many random faults of each kind fired so far (chaos mode)."""
        return dict(self.world.gateway.chaos.counts)

    # --- gateway hooks (async for symmetry with real I/O; they only enqueue) --------------------------
    async def send_reconnect(self, user_id: str) -> None:
        self.world.gateway.send_reconnect(user_id)

    async def send_invalid_session(self, user_id: str, resumable: bool) -> None:
        self.world.gateway.send_invalid_session(user_id, resumable)

    async def request_heartbeat(self, user_id: str) -> None:
        self.world.gateway.request_heartbeat(user_id)

    async def close_sessions(self, user_id: str, code: int) -> None:
        self.world.gateway.close_sessions(user_id, code)

    async def drop_sessions(self, user_id: str) -> None:
        self.world.gateway.drop_sessions(user_id)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # Bind the socket ourselves so that port 0 resolves before uvicorn starts and the URLs are known.
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        self._host = host
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ws_ping_interval=None,
                                ws_ping_timeout=None, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()  # re-raise the startup error
            await asyncio.sleep(0.005)
        gateway = self.world.gateway
        self._chaos_task = asyncio.create_task(
            gateway.chaos.run(gateway, lambda: list(self.world.state.users)), name="emulator-chaos")

    async def stop(self) -> None:
        if self._chaos_task is not None:
            self._chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._chaos_task
            self._chaos_task = None
        for task in list(self.world.tasks):
            task.cancel()
        for conn in list(self.world.gateway.connections):
            conn.close(1001, "Emulator stopping")
        if self._server is not None and self._serve_task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._serve_task), 5)
            except (TimeoutError, asyncio.CancelledError):
                self._server.force_exit = True
                self._serve_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._serve_task
        self._server = None
        self._serve_task = None

    # --- app ---------------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        router = self.rest.router()
        for prefix in ("/api/v9", "/api/v10", "/api/v8", "/api"):
            app.include_router(router, prefix=prefix)
        app.include_router(self.rest.upload_router())
        app.include_router(self.world.cdn.router())
        app.include_router(self.bot.features.inpaint.router())  # the Vary Region activity backend
        app.include_router(control.build_router(self))

        @app.exception_handler(DiscordHTTPError)
        async def discord_error(request: Request, exc: DiscordHTTPError) -> Response:
            return JSONResponse(exc.body, exc.status)

        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
            text = {404: "404: Not Found", 405: "405: Method Not Allowed"}.get(exc.status_code, str(exc.detail))
            return JSONResponse({"message": text, "code": 0}, exc.status_code)

        @app.middleware("http")
        async def faults_and_headers(request: Request, call_next: Any) -> Response:
            path = request.url.path
            m = API_PREFIX.match(path)
            if m is None:
                response: Response = await call_next(request)
                return response
            route = path[m.end():]
            fault = self.faults.take(request.method, route) or self.world.gateway.chaos.rest_fault(
                request.method, route)
            if fault is not None:
                if fault.latency > 0:
                    await asyncio.sleep(fault.latency)
                if fault.after_processing:
                    await call_next(request)
                    return fault.response()
                if not fault.passes_through:
                    return fault.response()
            response = await call_next(request)
            if self._config.rate_limit_headers and response.status_code < 400:
                template = ID_SEGMENT.sub("/{id}", route)
                bucket = hashlib.sha1(f"{request.method} {template}".encode()).hexdigest()[:32]
                reset_after = 1.0
                response.headers.update({
                    "X-RateLimit-Bucket": bucket,
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "4",
                    "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                    "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                })
            return response

        async def gateway(websocket: WebSocket) -> None:
            await self.world.gateway.serve(websocket)

        app.add_api_websocket_route("/", gateway)
        app.add_api_websocket_route("/{path:path}", gateway)
        return app


async def run_standalone(host: str, port: int, config: EmulatorConfig | None = None) -> None:
    """Serve until cancelled; prints what a user needs to point a client at the sandbox."""
    emu = Emulator(config)
    await emu.start(host=host, port=port)
    acc = emu.sandbox
    print(
        "mjproxy emulator (Discord + Midjourney bot) running\n"
        f"  REST     {emu.base_url}/api/v9\n"
        f"  gateway  {emu.gateway_url}/?encoding=json&v=9&compress=zlib-stream\n"
        f"  control  {emu.base_url}/_emulator/state\n"
        f"  token    {acc.token}\n"
        f"  user_id  {acc.user_id}\n"
        f"  guild_id {acc.guild_id}\n"
        f"  channel  {acc.channel_id}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()
