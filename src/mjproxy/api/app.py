"""The FastAPI application: routers, error mapping, and the runtime's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..store.errors import DatabaseUnavailable
from .admin import accounts as admin
from .admin import keys
from .admin.health import router as health_router
from .admin.keys import OPEN_SERVER_WARNING
from .admin.metrics import router as metrics_router
from .auth import Authenticator
from .dashboard.mount import install as install_dashboard
from .errors import ApiError, error_body, error_response, is_submit_route, is_useapi_route
from .input_guard import InputGuard
from .mj import callbacks, cancel, images
from .mj import routes as mj
from .mj.fast_fetch import answer_fetch
from .openapi_doc import honest_openapi
from .streams.hub import StreamHub
from .streams.routes import router as streams_router
from .useapi.routes import router as useapi_router

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("mjproxy")

def _describe_validation(exc: RequestValidationError) -> tuple[bool, str]:
    """(is the body malformed JSON, one readable sentence naming each bad field)."""
    malformed = False
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            malformed = True
            problems.append(f"malformed JSON body: {error.get('ctx', {}).get('error', 'cannot parse')}")
            continue
        location = [str(p) for p in error.get("loc", ()) if p != "body"]
        field = ".".join(location) or "body"
        problems.append(f"{field}: {error.get('msg', 'invalid')}")
    return malformed, "; ".join(problems) or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    malformed, message = _describe_validation(exc)
    path = request.url.path
    if is_submit_route(path):
        # The dialect answers validation problems with HTTP 200 and code 4; a body that is not even JSON is a
        # transport-level problem and gets an honest 400 (still with code 4).
        return JSONResponse(error_body(path, 400, message), status_code=400 if malformed else 200)
    if is_useapi_route(path):
        return error_response(path, 400, message)  # useapi answers every bad request 400
    return error_response(path, 400 if malformed else 422, message)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # PostgreSQL stayed unreachable past [storage] reconnect_seconds: a temporary condition, not our bug.
    return JSONResponse({"detail": "the database is unreachable; try again shortly"}, status_code=503,
                        headers={"Retry-After": "5"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    if is_useapi_route(path):  # an unknown /v2 path or method still answers in useapi's shape
        return error_response(path, exc.status_code, str(exc.detail), headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class _BodyTooLarge(StarletteHTTPException):
    # An HTTPException so that FastAPI's body reader passes it through (it turns other errors into 400s)
    # and _http_error answers it like any other 413.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")


class BodySizeLimit:
    """Refuses bodies over the configured size (413) without reading them into memory.

    A declared Content-Length is refused up front; a chunked body (no length) is counted as it streams
    and refused at the chunk that crosses the limit, before the route sees any of it.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        return JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise  # cannot happen for our routes (they read the body first); let the server drop it
            await self._too_large()(scope, receive, send)


class MjProxyApp(FastAPI):
    """FastAPI with the fetch fast path in front of it (see mj/fast_fetch.py: why, and what it answers)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            scope["app"] = self
            if await answer_fetch(scope, getattr(self.state, "service", None), send):
                return
        await super().__call__(scope, receive, send)


def create_app(runtime: Runtime, *, manage_lifecycle: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await runtime.start()
        if runtime.keys is not None:
            app.state.authenticator.attach_keys(runtime.keys)
        if await app.state.authenticator.open():
            log.warning(OPEN_SERVER_WARNING)
        app.state.service = runtime.service
        try:
            yield
        finally:
            streams.close()  # open streams end, so that they do not hold up the shutdown
            if manage_lifecycle:
                await runtime.stop()

    app = MjProxyApp(title="mjproxy", version=__version__, lifespan=lifespan,
                  description="A self-hosted Midjourney API over Discord accounts "
                              "(midjourney-proxy dialect under /mj).")
    app.state.runtime = runtime
    # Live streams hear every persisted change from the runtime's bus, from the start (for Last-Event-ID).
    streams = app.state.streams = StreamHub(runtime.settings.streams)
    streams.attach(runtime.bus)
    app.state.authenticator = Authenticator(runtime.settings.server)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.include_router(mj.router, prefix="/mj")
    for prefix in mj.SPEED_PREFIXES:
        app.include_router(mj.router, prefix=f"{prefix}/mj", include_in_schema=False)
    app.include_router(admin.router, prefix="/mj")  # account administration; no speed prefixes
    app.include_router(cancel.router, prefix="/mj")
    app.include_router(streams_router, prefix="/mj")  # live task events (SSE)
    app.include_router(callbacks.router, prefix="/mj")
    app.include_router(keys.router, prefix="/mj")  # API keys; admin only
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(useapi_router, prefix="/v2")  # the useapi.net jobs dialect (docs/useapi.md)
    app.include_router(images.router)  # /media/* links and /mj/image/{taskId}
    install_dashboard(app)  # the browser face at / and /dashboard/* (api/dashboard/)
    app.add_middleware(InputGuard)  # inside the size limit: the bodies it reads are bounded
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.server.max_body_bytes)
    if runtime.settings.server.cors_origins:  # outermost: refusals and preflights carry the CORS headers too
        app.add_middleware(CORSMiddleware, allow_origins=runtime.settings.server.cors_origins,
                           allow_methods=["*"], allow_headers=["*"],
                           expose_headers=["X-Total-Count", "X-Page", "X-Page-Size"])
    app.openapi = lambda: honest_openapi(app)  # type: ignore[method-assign]
    return app
