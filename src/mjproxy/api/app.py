"""The FastAPI application: routers, error mapping, and the runtime's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from . import admin, mj
from .auth import Authenticator
from .errors import ApiError
from .health import router as health_router
from .openapi_doc import honest_openapi

if TYPE_CHECKING:
    from ..runtime import Runtime

SUBMIT_MARKER = "/submit/"


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
    if SUBMIT_MARKER in request.url.path:
        # The dialect answers validation problems with HTTP 200 and code 4; a body that is not
        # even JSON is a transport-level problem and gets an honest 400.
        body = {"code": 4, "description": message, "result": None, "properties": {}}
        return JSONResponse(body, status_code=400 if malformed else 200)
    return JSONResponse({"detail": message}, status_code=400 if malformed else 422)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class BodySizeLimit:
    """Refuses bodies over the configured size before they are read into memory (413)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                response = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"},
                                        status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(runtime: Runtime, *, manage_lifecycle: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await runtime.start()
        app.state.service = runtime.service
        try:
            yield
        finally:
            if manage_lifecycle:
                await runtime.stop()

    app = FastAPI(title="mjproxy", version=__version__, lifespan=lifespan,
                  description="A self-hosted Midjourney API over Discord accounts "
                              "(midjourney-proxy dialect under /mj).")
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(runtime.settings.server)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(mj.router, prefix="/mj")
    for prefix in mj.SPEED_PREFIXES:
        app.include_router(mj.router, prefix=f"{prefix}/mj", include_in_schema=False)
    app.include_router(admin.router, prefix="/mj")  # account administration; no speed prefixes
    app.include_router(health_router)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.server.max_body_bytes)
    app.openapi = lambda: honest_openapi(app)  # type: ignore[method-assign]
    return app
