"""The input guard: requests no route can handle safely are refused before any route sees them.

One ASGI middleware for every face, so that no route has to remember it:

* URLs (path and query string) holding control characters (U+0000–U+001F, U+007F): a task id, a media path
  or a jobid never contains one, and a NUL byte breaks file names and PostgreSQL text.
* JSON bodies that are not I-JSON (RFC 7493): strings that are not Unicode (lone surrogates such as
  ``"\\ud800"``, which no database or Discord accepts), NUL characters, numbers a double cannot hold
  exactly (integers beyond ±2^53, ``1e400``, ``NaN``/``Infinity``), and nesting deeper than any of our
  bodies (the parser's own recursion limit would otherwise decide).
* Bodies that claim to be JSON (or name no type at all, which FastAPI reads as JSON) and do not parse.

Each is answered 400 in the face's own shape (api/errors.py), so nothing is stored and nothing reaches
Discord. Form posts (the dashboard's sign-in) and binary uploads are passed through untouched.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import error_response

MAX_DEPTH = 32  # our deepest body (an account filter inside a submit) is 3 levels
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 7493 §2.2: beyond this, clients written in JavaScript already disagree
_CONTROL_TEXT = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_QUERY = re.compile(rb"[\x00-\x1f\x7f]|%(?:[01][0-9a-fA-F]|7[fF])")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PASS_THROUGH_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "application/octet-stream",
                       "image/")


class InputRefused(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise InputRefused(f"{name} is not a JSON number a client can read")


def _check_string(text: str, where: str) -> None:
    if text.isascii():
        if "\x00" in text:
            raise InputRefused(f"{where} holds a NUL character")
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputRefused(f"{where} is not valid Unicode (a lone surrogate such as \\ud800)") from None
    if "\x00" in text:
        raise InputRefused(f"{where} holds a NUL character")


def check_json_value(value: Any) -> None:
    """Raise InputRefused unless ``value`` (a decoded JSON document) is I-JSON and at most MAX_DEPTH deep."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "body")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise InputRefused(f"{where}: the integer is out of range (at most ±{MAX_SAFE_INTEGER})")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputRefused(f"{where}: the number is out of range")
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise InputRefused(f"the body is nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_string(key, f"{where}: a key")
                    stack.append((child, depth + 1, key if where == "body" else f"{where}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{where}[{n}]") for n, child in enumerate(item))


def parse_json_body(body: bytes) -> Any:
    """The decoded body, checked; raises InputRefused with a sentence the client can act on."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRefused("malformed JSON body: it is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except InputRefused:
        raise
    except RecursionError:
        raise InputRefused(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python converts (4300 digits)
        raise InputRefused(f"malformed JSON body: {exc}") from None
    check_json_value(value)
    return value


def _content_type(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            return str(value.decode("latin-1")).lower()
    return ""


def _says_json(content_type: str) -> bool:
    return not content_type or "json" in content_type


class InputGuard:
    """ASGI middleware; sits inside the body size limit, so a body it reads is already bounded."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if _CONTROL_TEXT.search(path) or _CONTROL_QUERY.search(scope.get("query_string") or b""):
            await error_response(path, 400, "the URL holds control characters")(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = _content_type(scope)
        if content_type.startswith(_PASS_THROUGH_TYPES):
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        if body.strip():
            try:
                parse_json_body(body)
            except InputRefused as exc:
                # A body of another declared type that is not JSON at all is the route's to judge.
                if _says_json(content_type) or not str(exc).startswith("malformed JSON body"):
                    await error_response(path, 400, str(exc))(scope, receive, send)
                    return
        await self.app(scope, _replay(messages, receive), send)


async def _read_body(receive: Any) -> tuple[bytes, list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client went away; the route will see the same
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    pending = list(messages)

    async def replayed() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
