"""HTTP plumbing shared by the /v2 routers: useapi's 401 body, and JSON bodies checked with useapi's 400s."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError

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
