"""``Client``: the blocking SDK. Every method is one endpoint; ``wait()`` follows a task to its end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from httpx_sse import EventSource, SSEError

from . import calls, streams
from .base import DEFAULT_TIMEOUT, FIRST_POLL, ClientBase
from .calls import BotType, Call, Dimensions, ImageInput, SpeedMode
from .errors import ConnectionFailed, WaitTimeout
from .models import (
    Account,
    ApiKey,
    CallbackDelivery,
    CancelResult,
    CreatedApiKey,
    SubmitResult,
    Task,
    TaskEvent,
    TaskPage,
)

T = TypeVar("T")
OnUpdate = Callable[[Task], None]


class Client(ClientBase):
    """A blocking client of one mjproxy server: ``Client("http://127.0.0.1:8080", key="mjp_…")``."""

    def __init__(self, url: str, key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(url, key)
        self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        try:
            if call.authenticated:
                response = self._http.request(call.method, call.path, json=call.json, params=call.params)
            else:  # a link to another host: never send it our key
                with httpx.Client(timeout=self._http.timeout) as plain:
                    response = plain.request(call.method, call.path, params=call.params)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"cannot reach {self.url}: {exc}") from exc
        return call.parse(response)

    # -- submit -------------------------------------------------------------------------------------------------

    def imagine(self, prompt: str, images: Sequence[ImageInput] = (), *, bot_type: BotType | None = None,
                state: str | None = None, notify_hook: str | None = None,
                account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return self._send(calls.imagine(prompt, images, bot_type=bot_type, state=state, notify_hook=notify_hook,
                                        account_filter=account_filter, mode=mode))

    def describe(self, image: ImageInput | None = None, *, link: str | None = None, bot_type: BotType | None = None,
                 state: str | None = None, notify_hook: str | None = None,
                 account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return self._send(calls.describe(image, link=link, bot_type=bot_type, state=state, notify_hook=notify_hook,
                                         account_filter=account_filter, mode=mode))

    def blend(self, images: Sequence[ImageInput], *, dimensions: Dimensions = "SQUARE",
              bot_type: BotType | None = None, state: str | None = None, notify_hook: str | None = None,
              account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return self._send(calls.blend(images, dimensions=dimensions, bot_type=bot_type, state=state,
                                      notify_hook=notify_hook, account_filter=account_filter, mode=mode))

    def shorten(self, prompt: str, *, bot_type: BotType | None = None, state: str | None = None,
                notify_hook: str | None = None, account_filter: dict[str, Any] | None = None,
                mode: SpeedMode | None = None) -> SubmitResult:
        return self._send(calls.shorten(prompt, bot_type=bot_type, state=state, notify_hook=notify_hook,
                                        account_filter=account_filter, mode=mode))

    def action(self, task_id: str, custom_id: str, *, state: str | None = None,
               notify_hook: str | None = None) -> SubmitResult:
        """Press a button by its customId (``task.button("U2").custom_id``); see also ``press``."""
        return self._send(calls.action(task_id, custom_id, state=state, notify_hook=notify_hook))

    def press(self, task: Task | str, button: str, *, state: str | None = None,
              notify_hook: str | None = None) -> SubmitResult:
        """Press a button by what it shows (``"U2"``, ``"🔄"``, ``"Vary (Strong)"``) or by its customId."""
        found = task if isinstance(task, Task) else self.fetch(task)
        return self.action(found.id, found.button(button).custom_id, state=state, notify_hook=notify_hook)

    def modal(self, task_id: str, prompt: str | None = None, *, mask: ImageInput | None = None) -> SubmitResult:
        return self._send(calls.modal(task_id, prompt, mask))

    def change(self, task_id: str, action: Literal["UPSCALE", "VARIATION", "REROLL"], index: int | None = None, *,
               state: str | None = None, notify_hook: str | None = None) -> SubmitResult:
        return self._send(calls.change(task_id, action, index, state=state, notify_hook=notify_hook))

    def simple_change(self, content: str, *, state: str | None = None,
                      notify_hook: str | None = None) -> SubmitResult:
        return self._send(calls.simple_change(content, state=state, notify_hook=notify_hook))

    def upload_images(self, images: Sequence[ImageInput]) -> list[str]:
        return self._send(calls.upload_images(images))

    def swap_face(self, source: ImageInput, target: ImageInput, *, state: str | None = None,
                  notify_hook: str | None = None) -> SubmitResult:
        return self._send(calls.swap_face(source, target, state=state, notify_hook=notify_hook))

    # -- tasks --------------------------------------------------------------------------------------------------

    def fetch(self, task_id: str, *, with_base64: bool = False) -> Task:
        return self._send(calls.fetch(task_id, with_base64=with_base64))

    def list_by_ids(self, ids: Sequence[str]) -> list[Task]:
        return self._send(calls.list_by_ids(ids))

    def list_tasks(self, page: int = 1, size: int = 20) -> TaskPage:
        return self._send(calls.list_tasks(page, size))

    def queue(self) -> list[Task]:
        return self._send(calls.queue())

    def image_seed(self, task_id: str) -> str:
        return self._send(calls.image_seed(task_id))

    def cancel(self, task_id: str) -> CancelResult:
        return self._send(calls.cancel(task_id))

    def image(self, task_id: str, index: int | None = None, *, thumbnail: bool = False) -> bytes:
        """The stored image (``index`` 1–4: one of the grid's four) from ``/mj/image/{id}``."""
        return self._send(calls.image(task_id, index, thumbnail=thumbnail))

    def download(self, url: str) -> bytes:
        """Any image link of a task; the key is sent only to this server."""
        return self._send(self.download_call(url))

    def callbacks(self, task_id: str) -> list[CallbackDelivery]:
        return self._send(calls.callbacks(task_id))

    # -- streams and wait ---------------------------------------------------------------------------------------

    def events(self, task_id: str, *, last_event_id: str | None = None) -> Iterator[TaskEvent]:
        """One task's events until it ends (one connection; raises StreamUnavailable without the route)."""
        yield from self._stream(streams.task_path(task_id), {}, last_event_id)

    def all_events(self, ids: Sequence[str] | None = None, *,
                   last_event_id: str | None = None) -> Iterator[TaskEvent]:
        """Every task's events the key may see (``ids`` to narrow it), until the caller stops reading."""
        yield from self._stream(streams.all_path(), streams.params_for(ids), last_event_id)

    def _stream(self, path: str, params: dict[str, Any], last_event_id: str | None,
                read_timeout: float = streams.READ_TIMEOUT) -> Iterator[TaskEvent]:
        timeout = httpx.Timeout(self._http.timeout.connect or DEFAULT_TIMEOUT, read=read_timeout)
        with self._http.stream("GET", path, params=params, headers=streams.headers_for(last_event_id),
                               timeout=timeout) as response:
            streams.check_opened(response)
            for sse in EventSource(response).iter_sse():
                event = streams.to_event(sse)
                if event is not None:
                    yield event

    def wait(self, task_id: str, timeout: float = 600.0, *, on_update: OnUpdate | None = None,
             poll_interval: float = 1.0, stream: bool = True) -> Task:
        """Follow a task until SUCCESS, FAILURE or CANCEL and return it (``task.raise_for_outcome()`` to raise).

        Fetches once; then reads the task's event stream, resuming with Last-Event-ID after a drop; a server
        without streams (404/405) or a stream that keeps breaking is polled every ``poll_interval`` seconds.
        ``on_update`` sees every state on the way. Raises ``WaitTimeout`` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        task = self.fetch(task_id)
        if on_update is not None:
            on_update(task)
        if task.done:
            return task
        if stream:
            task = self._wait_streaming(task, deadline, on_update)
            if task.done:
                return task
        return self._wait_polling(task, deadline, on_update, poll_interval)

    def _wait_streaming(self, task: Task, deadline: float, on_update: OnUpdate | None) -> Task:
        last_id: str | None = None
        failures = 0
        while failures < streams.MAX_STREAM_FAILURES and time.monotonic() < deadline:
            remaining = max(deadline - time.monotonic(), 0.05)
            try:
                for event in self._stream(streams.task_path(task.id), {}, last_id,
                                          read_timeout=min(streams.READ_TIMEOUT, remaining)):
                    last_id = event.id or last_id
                    failures = 0
                    task = event.task
                    if on_update is not None:
                        on_update(task)
                    if task.done:
                        return task
                failures += 1  # closed without a terminal event: reconnect where we were
            except streams.StreamUnavailable:
                return task
            except (httpx.TransportError, SSEError, ValueError, streams.StreamBroken):
                failures += 1
        return task

    def _wait_polling(self, task: Task, deadline: float, on_update: OnUpdate | None, interval: float) -> Task:
        step = min(FIRST_POLL, interval)  # quick jobs end quickly: start fast, slow down to ``interval``
        while time.monotonic() < deadline:
            time.sleep(min(step, max(deadline - time.monotonic(), 0)))
            step = min(step * 1.5, interval)
            task = self.fetch(task.id)
            if on_update is not None:
                on_update(task)
            if task.done:
                return task
        raise WaitTimeout(f"task {task.id} still {task.status.value} {task.progress} after the timeout", task)

    # -- accounts, keys, health ---------------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        return self._send(calls.accounts())

    def account(self, account_id: str) -> Account:
        return self._send(calls.account(account_id))

    def account_command(self, account_id: str, command: calls.AccountCommand) -> Account:
        """``enable``, ``disable``, ``reconnect``, ``reset`` or ``sync-info``; the account afterwards."""
        return self._send(calls.account_command(account_id, command))

    def create_key(self, name: str = "", scope: Literal["admin", "user"] = "user") -> CreatedApiKey:
        return self._send(calls.create_key(name, scope))

    def list_keys(self) -> list[ApiKey]:
        return self._send(calls.list_keys())

    def revoke_key(self, key_id: str) -> ApiKey:
        return self._send(calls.revoke_key(key_id))

    def health(self) -> dict[str, Any]:
        return self._send(calls.health())
