"""``AsyncClient``: the asyncio SDK, method for method the same as ``Client`` (see sync.py for the docs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
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
OnUpdate = Callable[[Task], Awaitable[None] | None]


class AsyncClient(ClientBase):
    """An asyncio client of one mjproxy server: ``async with AsyncClient(url, key=…) as mj: …``."""

    def __init__(self, url: str, key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(url, key)
        self._http = httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=timeout,
                                       transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        try:
            if call.authenticated:
                response = await self._http.request(call.method, call.path, json=call.json, params=call.params)
            else:  # a link to another host: never send it our key
                async with httpx.AsyncClient(timeout=self._http.timeout) as plain:
                    response = await plain.request(call.method, call.path, params=call.params)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"cannot reach {self.url}: {exc}") from exc
        return call.parse(response)

    # -- submit -------------------------------------------------------------------------------------------------

    async def imagine(self, prompt: str, images: Sequence[ImageInput] = (), *, bot_type: BotType | None = None,
                      state: str | None = None, notify_hook: str | None = None,
                      account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return await self._send(calls.imagine(prompt, images, bot_type=bot_type, state=state,
                                              notify_hook=notify_hook, account_filter=account_filter, mode=mode))

    async def describe(self, image: ImageInput | None = None, *, link: str | None = None,
                       bot_type: BotType | None = None, state: str | None = None, notify_hook: str | None = None,
                       account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return await self._send(calls.describe(image, link=link, bot_type=bot_type, state=state,
                                               notify_hook=notify_hook, account_filter=account_filter, mode=mode))

    async def blend(self, images: Sequence[ImageInput], *, dimensions: Dimensions = "SQUARE",
                    bot_type: BotType | None = None, state: str | None = None, notify_hook: str | None = None,
                    account_filter: dict[str, Any] | None = None, mode: SpeedMode | None = None) -> SubmitResult:
        return await self._send(calls.blend(images, dimensions=dimensions, bot_type=bot_type, state=state,
                                            notify_hook=notify_hook, account_filter=account_filter, mode=mode))

    async def shorten(self, prompt: str, *, bot_type: BotType | None = None, state: str | None = None,
                      notify_hook: str | None = None, account_filter: dict[str, Any] | None = None,
                      mode: SpeedMode | None = None) -> SubmitResult:
        return await self._send(calls.shorten(prompt, bot_type=bot_type, state=state, notify_hook=notify_hook,
                                              account_filter=account_filter, mode=mode))

    async def action(self, task_id: str, custom_id: str, *, state: str | None = None,
                     notify_hook: str | None = None) -> SubmitResult:
        return await self._send(calls.action(task_id, custom_id, state=state, notify_hook=notify_hook))

    async def press(self, task: Task | str, button: str, *, state: str | None = None,
                    notify_hook: str | None = None) -> SubmitResult:
        found = task if isinstance(task, Task) else await self.fetch(task)
        return await self.action(found.id, found.button(button).custom_id, state=state, notify_hook=notify_hook)

    async def modal(self, task_id: str, prompt: str | None = None, *,
                    mask: ImageInput | None = None) -> SubmitResult:
        return await self._send(calls.modal(task_id, prompt, mask))

    async def change(self, task_id: str, action: Literal["UPSCALE", "VARIATION", "REROLL"],
                     index: int | None = None, *, state: str | None = None,
                     notify_hook: str | None = None) -> SubmitResult:
        return await self._send(calls.change(task_id, action, index, state=state, notify_hook=notify_hook))

    async def simple_change(self, content: str, *, state: str | None = None,
                            notify_hook: str | None = None) -> SubmitResult:
        return await self._send(calls.simple_change(content, state=state, notify_hook=notify_hook))

    async def upload_images(self, images: Sequence[ImageInput]) -> list[str]:
        return await self._send(calls.upload_images(images))

    async def swap_face(self, source: ImageInput, target: ImageInput, *, state: str | None = None,
                        notify_hook: str | None = None) -> SubmitResult:
        return await self._send(calls.swap_face(source, target, state=state, notify_hook=notify_hook))

    # -- tasks --------------------------------------------------------------------------------------------------

    async def fetch(self, task_id: str, *, with_base64: bool = False) -> Task:
        return await self._send(calls.fetch(task_id, with_base64=with_base64))

    async def list_by_ids(self, ids: Sequence[str]) -> list[Task]:
        return await self._send(calls.list_by_ids(ids))

    async def list_tasks(self, page: int = 1, size: int = 20) -> TaskPage:
        return await self._send(calls.list_tasks(page, size))

    async def queue(self) -> list[Task]:
        return await self._send(calls.queue())

    async def image_seed(self, task_id: str) -> str:
        return await self._send(calls.image_seed(task_id))

    async def cancel(self, task_id: str) -> CancelResult:
        return await self._send(calls.cancel(task_id))

    async def image(self, task_id: str, index: int | None = None, *, thumbnail: bool = False) -> bytes:
        return await self._send(calls.image(task_id, index, thumbnail=thumbnail))

    async def download(self, url: str) -> bytes:
        return await self._send(self.download_call(url))

    async def callbacks(self, task_id: str) -> list[CallbackDelivery]:
        return await self._send(calls.callbacks(task_id))

    # -- streams and wait ---------------------------------------------------------------------------------------

    async def events(self, task_id: str, *, last_event_id: str | None = None) -> AsyncIterator[TaskEvent]:
        async for event in self._stream(streams.task_path(task_id), {}, last_event_id):
            yield event

    async def all_events(self, ids: Sequence[str] | None = None, *,
                         last_event_id: str | None = None) -> AsyncIterator[TaskEvent]:
        async for event in self._stream(streams.all_path(), streams.params_for(ids), last_event_id):
            yield event

    async def _stream(self, path: str, params: dict[str, Any], last_event_id: str | None
                      ) -> AsyncIterator[TaskEvent]:
        timeout = httpx.Timeout(self._http.timeout.connect or DEFAULT_TIMEOUT, read=streams.READ_TIMEOUT)
        async with self._http.stream("GET", path, params=params, headers=streams.headers_for(last_event_id),
                                     timeout=timeout) as response:
            await streams.acheck_opened(response)
            async for sse in EventSource(response).aiter_sse():
                event = streams.to_event(sse)
                if event is not None:
                    yield event

    async def wait(self, task_id: str, timeout: float = 600.0, *, on_update: OnUpdate | None = None,
                   poll_interval: float = 1.0, stream: bool = True) -> Task:
        """As ``Client.wait``; ``on_update`` may be a coroutine function."""
        deadline = time.monotonic() + timeout
        task = await self.fetch(task_id)
        await _notify(on_update, task)
        if task.done:
            return task
        if stream:
            try:
                async with asyncio.timeout(timeout):
                    task = await self._wait_streaming(task, on_update)
            except TimeoutError:
                raise WaitTimeout(f"task {task_id} did not finish within {timeout}s", task) from None
            if task.done:
                return task
        return await self._wait_polling(task, deadline, on_update, poll_interval)

    async def _wait_streaming(self, task: Task, on_update: OnUpdate | None) -> Task:
        last_id: str | None = None
        failures = 0
        while failures < streams.MAX_STREAM_FAILURES:
            try:
                async for event in self._stream(streams.task_path(task.id), {}, last_id):
                    last_id = event.id or last_id
                    failures = 0
                    task = event.task
                    await _notify(on_update, task)
                    if task.done:
                        return task
                failures += 1  # closed without a terminal event: reconnect where we were
            except streams.StreamUnavailable:
                return task
            except (httpx.TransportError, SSEError, ValueError, streams.StreamBroken):
                failures += 1
        return task

    async def _wait_polling(self, task: Task, deadline: float, on_update: OnUpdate | None,
                            interval: float) -> Task:
        step = min(FIRST_POLL, interval)  # quick jobs end quickly: start fast, slow down to ``interval``
        while time.monotonic() < deadline:
            await asyncio.sleep(min(step, max(deadline - time.monotonic(), 0)))
            step = min(step * 1.5, interval)
            task = await self.fetch(task.id)
            await _notify(on_update, task)
            if task.done:
                return task
        raise WaitTimeout(f"task {task.id} still {task.status.value} {task.progress} after the timeout", task)

    # -- accounts, keys, health ---------------------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        return await self._send(calls.accounts())

    async def account(self, account_id: str) -> Account:
        return await self._send(calls.account(account_id))

    async def account_command(self, account_id: str, command: calls.AccountCommand) -> Account:
        return await self._send(calls.account_command(account_id, command))

    async def create_key(self, name: str = "", scope: Literal["admin", "user"] = "user") -> CreatedApiKey:
        return await self._send(calls.create_key(name, scope))

    async def list_keys(self) -> list[ApiKey]:
        return await self._send(calls.list_keys())

    async def revoke_key(self, key_id: str) -> ApiKey:
        return await self._send(calls.revoke_key(key_id))

    async def health(self) -> dict[str, Any]:
        return await self._send(calls.health())


async def _notify(on_update: OnUpdate | None, task: Task) -> None:
    if on_update is None:
        return
    outcome = on_update(task)
    if outcome is not None:
        await outcome
