"""``GET /mj/task/{id}/fetch`` answered in front of FastAPI, for the one case that is polled all day.

Why: clients poll fetch for every task they wait on, so it is most of a server's requests. Through
FastAPI a fetch costs ~350 µs of CPU here, most of it route matching (the /mj router is mounted four
times, once per speed prefix), dependency resolution and response wrappers, against ~45 µs for a bare
ASGI answer; the lookup itself is ~15 µs of SQLite and ~40 µs of decoding and encoding.

Only the plain, successful case is answered here: a GET with no query string and no ``Origin`` header
(so CORS handling, wherever it is added, still sees every browser request), whose credential the
authenticator accepts and whose task the caller may see. Everything else - a refused credential, an
unknown id, ``withBase64``, other methods - goes to the FastAPI route unchanged, so every error answer
and every rule has one implementation. The body is the same ``task_json`` the route returns, encoded the
way JSONResponse encodes it, and the headers are the ones JSONResponse sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ...domain.task import task_json
from ...store.errors import DatabaseUnavailable
from ..auth import require_user
from ..errors import ApiError
from .encoding import json_bytes

if TYPE_CHECKING:
    from ...engine.service import TaskService

PREFIXES = ("/mj", "/mj-fast/mj", "/mj-relax/mj", "/mj-turbo/mj")
_PREFIX = "/task/"
_SUFFIX = "/fetch"


def fetch_task_id(scope: dict[str, Any]) -> str | None:
    """The task id if this request is a plain fetch the fast path may answer, else None."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string") or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.endswith(_SUFFIX):
        return None
    head, sep, task_id = path[: -len(_SUFFIX)].rpartition(_PREFIX)
    if not sep or not task_id or "/" in task_id or head not in PREFIXES:
        return None
    for name, _ in scope["headers"]:
        if name == b"origin":
            return None  # a browser's cross-origin request: let CORS handling see it
    return task_id


async def answer_fetch(scope: dict[str, Any], service: TaskService | None, send: Any) -> bool:
    """Answer the request and return True, or return False (nothing sent) for the ordinary route.

    ``scope["app"]`` must be the application: the credential goes through the routes' own dependency.
    """
    task_id = fetch_task_id(scope)
    if task_id is None or service is None:
        return False
    try:
        principal = await require_user(Request(scope))
        task = await service.get(task_id, owner=principal.owner)
    except (ApiError, DatabaseUnavailable):
        return False  # the route answers the refusal (401/403, or 503 while the database is away)
    if task is None:
        return False
    body = json_bytes(task_json(task))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
    return True
