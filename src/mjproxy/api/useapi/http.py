"""HTTP plumbing shared by the /v2 routers: useapi's 401 body, JSON bodies checked with useapi's 400s, and the
engine's refusals of a job answered in useapi's shape."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from ...engine.jobs import JobRefused
from ..auth import Principal, require_admin, require_user
from ..errors import ApiError
from .errors import JobError
from .schemas import M, describe_errors, parse_body


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", {"error": "Unauthorized", "code": 401})


def forbidden() -> ApiError:
    return ApiError(403, "Forbidden", {"error": "Forbidden: this API token may not manage accounts", "code": 403})


async def user(request: Request) -> Principal:
    try:
        return await require_user(request)
    except ApiError as exc:
        raise unauthorized() from exc


async def admin(request: Request) -> Principal:
    try:
        return await require_admin(request)
    except ApiError as exc:
        raise (forbidden() if exc.status == 403 else unauthorized()) from exc


async def body_of(request: Request, model: type[M]) -> M:
    try:
        data = await request.json()
    except ValueError:
        raise JobError(400, "the request body is not valid JSON") from None
    try:
        return parse_body(model, data)
    except ValidationError as exc:
        raise JobError(400, describe_errors(exc)) from None
    except ValueError as exc:
        raise JobError(400, str(exc)) from None


class JobRoute(APIRoute):
    """A /v2 route: the engine's :class:`JobRefused` (429 maxJobs, 596, 404 …) answered as a :class:`JobError`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except JobRefused as refused:
                raise JobError.of(refused) from None

        return answer
