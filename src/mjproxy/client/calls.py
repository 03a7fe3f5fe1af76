"""Every endpoint as a ``Call``: the request to send and how to read its answer, without doing any I/O.

``Client`` (sync) and ``AsyncClient`` only send a call and hand the response to ``call.parse``, so that the
two share one definition of the wire format and of the error rules.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import TypeAdapter

from .errors import ACCEPTED_CODES, InvalidRequestError, error_for
from .models import (
    Account,
    ApiKey,
    CallbackDelivery,
    CancelResult,
    CreatedApiKey,
    SubmitResult,
    Task,
    TaskPage,
)

T = TypeVar("T")

ImageInput = bytes | str | os.PathLike[str]
"""An image: its bytes, a ``data:`` URL, or the path of a file."""
SpeedMode = Literal["fast", "relax", "turbo"]
BotType = Literal["MID_JOURNEY", "NIJI_JOURNEY"]
Dimensions = Literal["PORTRAIT", "SQUARE", "LANDSCAPE"]

_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    authenticated: bool = True  # False: a link to another host, which must never see the key


def data_url(image: ImageInput) -> str:
    """An image as the data URL the dialect expects; the type is sniffed from the bytes."""
    if isinstance(image, str) and image.startswith("data:"):
        return image
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    mime = next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)
    if mime is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
    if mime is None:
        raise InvalidRequestError("not a PNG, JPEG, GIF or WEBP image", status=0, code=4)
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def checked(response: httpx.Response) -> Any:
    """The JSON body of a successful answer; an ``ApiError`` subclass for any refusal."""
    body = _body(response)
    if response.status_code >= 300:
        raise error_for(response.status_code, body)
    return body


def _submit_result(response: httpx.Response) -> SubmitResult:
    body = checked(response)
    code = body.get("code") if isinstance(body, dict) else None
    if code not in ACCEPTED_CODES:
        raise error_for(response.status_code, body)
    return SubmitResult.model_validate(body)


def _model(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    return lambda response: adapter.validate_python(checked(response))


_TASK: TypeAdapter[Task] = TypeAdapter(Task)
_TASKS: TypeAdapter[list[Task]] = TypeAdapter(list[Task])


def _prefix(mode: SpeedMode | None) -> str:
    return f"/mj-{mode}/mj" if mode else "/mj"


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _common(bot_type: BotType | None, state: str | None, notify_hook: str | None,
            account_filter: dict[str, Any] | None) -> dict[str, Any]:
    return {"botType": bot_type, "state": state, "notifyHook": notify_hook, "accountFilter": account_filter}


# -- submit ---------------------------------------------------------------------------------------------------


def imagine(prompt: str, images: Sequence[ImageInput] = (), *, bot_type: BotType | None = None,
            state: str | None = None, notify_hook: str | None = None, account_filter: dict[str, Any] | None = None,
            mode: SpeedMode | None = None) -> Call[SubmitResult]:
    body = {"prompt": prompt, "base64Array": [data_url(i) for i in images] or None,
            **_common(bot_type, state, notify_hook, account_filter)}
    return Call("POST", f"{_prefix(mode)}/submit/imagine", _submit_result, json=_clean(body))


def describe(image: ImageInput | None = None, *, link: str | None = None, bot_type: BotType | None = None,
             state: str | None = None, notify_hook: str | None = None,
             account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> Call[SubmitResult]:
    if (image is None) == (link is None):
        raise InvalidRequestError("describe needs exactly one of an image or a link", status=0, code=4)
    body = {"base64": data_url(image) if image is not None else None, "link": link,
            **_common(bot_type, state, notify_hook, account_filter)}
    return Call("POST", f"{_prefix(mode)}/submit/describe", _submit_result, json=_clean(body))


def blend(images: Sequence[ImageInput], *, dimensions: Dimensions = "SQUARE", bot_type: BotType | None = None,
          state: str | None = None, notify_hook: str | None = None, account_filter: dict[str, Any] | None = None,
          mode: SpeedMode | None = None) -> Call[SubmitResult]:
    body = {"base64Array": [data_url(i) for i in images], "dimensions": dimensions,
            **_common(bot_type, state, notify_hook, account_filter)}
    return Call("POST", f"{_prefix(mode)}/submit/blend", _submit_result, json=_clean(body))


def shorten(prompt: str, *, bot_type: BotType | None = None, state: str | None = None,
            notify_hook: str | None = None, account_filter: dict[str, Any] | None = None,
            mode: SpeedMode | None = None) -> Call[SubmitResult]:
    body = {"prompt": prompt, **_common(bot_type, state, notify_hook, account_filter)}
    return Call("POST", f"{_prefix(mode)}/submit/shorten", _submit_result, json=_clean(body))


def action(task_id: str, custom_id: str, *, state: str | None = None,
           notify_hook: str | None = None) -> Call[SubmitResult]:
    body = {"taskId": task_id, "customId": custom_id, "state": state, "notifyHook": notify_hook}
    return Call("POST", "/mj/submit/action", _submit_result, json=_clean(body))


def modal(task_id: str, prompt: str | None = None, mask: ImageInput | None = None) -> Call[SubmitResult]:
    body = {"taskId": task_id, "prompt": prompt, "maskBase64": data_url(mask) if mask is not None else None}
    return Call("POST", "/mj/submit/modal", _submit_result, json=_clean(body))


def change(task_id: str, action: Literal["UPSCALE", "VARIATION", "REROLL"], index: int | None = None, *,
           state: str | None = None, notify_hook: str | None = None) -> Call[SubmitResult]:
    body = {"taskId": task_id, "action": action, "index": index, "state": state, "notifyHook": notify_hook}
    return Call("POST", "/mj/submit/change", _submit_result, json=_clean(body))


def simple_change(content: str, *, state: str | None = None, notify_hook: str | None = None) -> Call[SubmitResult]:
    body = {"content": content, "state": state, "notifyHook": notify_hook}
    return Call("POST", "/mj/submit/simple-change", _submit_result, json=_clean(body))


def _upload_result(response: httpx.Response) -> list[str]:
    body = checked(response)
    if not isinstance(body, dict) or body.get("code") != 1:
        raise error_for(response.status_code, body)
    return [str(url) for url in body.get("result") or []]


def upload_images(images: Sequence[ImageInput]) -> Call[list[str]]:
    return Call("POST", "/mj/submit/upload-discord-images", _upload_result,
                json={"base64Array": [data_url(i) for i in images]})


def swap_face(source: ImageInput, target: ImageInput, *, state: str | None = None,
              notify_hook: str | None = None) -> Call[SubmitResult]:
    body = {"sourceBase64": data_url(source), "targetBase64": data_url(target), "state": state,
            "notifyHook": notify_hook}
    return Call("POST", "/mj/insight-face/swap", _submit_result, json=_clean(body))


# -- tasks ----------------------------------------------------------------------------------------------------


def fetch(task_id: str, *, with_base64: bool = False) -> Call[Task]:
    return Call("GET", f"/mj/task/{task_id}/fetch", _model(_TASK),
                params={"withBase64": "true"} if with_base64 else {})


def list_by_ids(ids: Sequence[str]) -> Call[list[Task]]:
    return Call("POST", "/mj/task/list-by-condition", _model(_TASKS), json={"ids": list(ids)})


def _page(page: int, size: int) -> Callable[[httpx.Response], TaskPage]:
    def parse(response: httpx.Response) -> TaskPage:
        tasks = _TASKS.validate_python(checked(response))
        total = int(response.headers.get("x-total-count", len(tasks)))
        return TaskPage(tasks=tasks, total=total, page=page, size=size)
    return parse


def list_tasks(page: int = 1, size: int = 20) -> Call[TaskPage]:
    return Call("GET", "/mj/task/list", _page(page, size), params={"page": page, "size": size})


def queue() -> Call[list[Task]]:
    return Call("GET", "/mj/task/queue", _model(_TASKS))


def _seed(response: httpx.Response) -> str:
    body = checked(response)
    if not isinstance(body, dict) or body.get("code") != 1 or body.get("result") is None:
        raise error_for(response.status_code, body)
    return str(body["result"])


def image_seed(task_id: str) -> Call[str]:
    return Call("GET", f"/mj/task/{task_id}/image-seed", _seed)


def _cancel(response: httpx.Response) -> CancelResult:
    body = checked(response)
    if not isinstance(body, dict) or body.get("code") != 1:
        raise error_for(response.status_code, body)  # code 4: the task had already finished
    return CancelResult.model_validate(body)


def cancel(task_id: str) -> Call[CancelResult]:
    return Call("POST", f"/mj/task/{task_id}/cancel", _cancel)


def _bytes(response: httpx.Response) -> bytes:
    if response.status_code >= 300:
        checked(response)
    return response.content


def image(task_id: str, index: int | None = None, *, thumbnail: bool = False) -> Call[bytes]:
    params: dict[str, Any] = {}
    if index is not None:
        params["index"] = index
    if thumbnail:
        params["thumbnail"] = "true"
    return Call("GET", f"/mj/image/{task_id}", _bytes, params=params)


def download(url: str, base_url: str) -> Call[bytes]:
    """Any image link a task carries: the server's own /media links, or another host's (S3, Discord's CDN)."""
    target, base = httpx.URL(url), httpx.URL(base_url)
    if not target.is_absolute_url:
        return Call("GET", url, _bytes)
    same_origin = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    return Call("GET", url, _bytes, authenticated=same_origin)


def callbacks(task_id: str) -> Call[list[CallbackDelivery]]:
    return Call("GET", f"/mj/task/{task_id}/callbacks", _model(TypeAdapter(list[CallbackDelivery])))


# -- accounts, keys, health (admin) ---------------------------------------------------------------------------

_ACCOUNT: TypeAdapter[Account] = TypeAdapter(Account)


def accounts() -> Call[list[Account]]:
    return Call("GET", "/mj/account/list", _model(TypeAdapter(list[Account])))


def account(account_id: str) -> Call[Account]:
    return Call("GET", f"/mj/account/{account_id}/fetch", _model(_ACCOUNT))


AccountCommand = Literal["enable", "disable", "reconnect", "reset", "sync-info"]


def account_command(account_id: str, command: AccountCommand) -> Call[Account]:
    return Call("POST", f"/mj/account/{account_id}/{command}", _model(_ACCOUNT))


def create_key(name: str = "", scope: Literal["admin", "user"] = "user") -> Call[CreatedApiKey]:
    return Call("POST", "/mj/api-key/create", _model(TypeAdapter(CreatedApiKey)), json={"name": name, "scope": scope})


def list_keys() -> Call[list[ApiKey]]:
    return Call("GET", "/mj/api-key/list", _model(TypeAdapter(list[ApiKey])))


def revoke_key(key_id: str) -> Call[ApiKey]:
    return Call("POST", f"/mj/api-key/{key_id}/revoke", _model(TypeAdapter(ApiKey)))


def health() -> Call[dict[str, Any]]:
    return Call("GET", "/healthz", _model(TypeAdapter(dict[str, Any])))
