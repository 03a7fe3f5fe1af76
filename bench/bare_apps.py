"""The yardsticks fetch_throughput.py compares the fetch route with, served by the same uvicorn set-up.

- ``asgi``: a bare ASGI callable answering a constant: the ceiling of uvicorn + httptools + uvloop here.
- ``fastapi_app``: one FastAPI route with the fetch route's path and path parameter, answering the same
  constant dict through ``JSONResponse`` (the serialisation the fetch route uses): the ceiling of
  FastAPI's routing and dependency resolution.

Both answer the JSON body of a typical stored task (nine buttons), so the bytes on the wire match ours.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mjproxy.domain.task import Button, Task, TaskAction, TaskStatus, task_json

_JOB = "0000002a-0000-4000-8000-000000000000"
TASK = Task(
    id="1763000000042", action=TaskAction.IMAGINE, status=TaskStatus.SUCCESS, prompt="prompt number 42 --ar 3:2",
    prompt_en="prompt number 42 --ar 3:2", description="/imagine prompt number 42 --ar 3:2",
    submit_time=1_763_000_000_000, start_time=1_763_000_001_000, finish_time=1_763_000_050_000, progress="100%",
    image_url=f"https://cdn.discordapp.com/attachments/1/2/user_prompt_{_JOB}.png", account_id="1",
    nonce=str(10**18 + 42), message_id=str(2 * 10**18 + 42), message_hash=_JOB, final_prompt="prompt 42",
    buttons=[Button(f"MJ::JOB::upsample::{n}::{_JOB}", f"U{n}") for n in range(1, 5)]
    + [Button(f"MJ::JOB::variation::{n}::{_JOB}", f"V{n}") for n in range(1, 5)],
)
BODY_DICT: dict[str, Any] = task_json(TASK)
BODY = JSONResponse(BODY_DICT).body
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})


fastapi_app = FastAPI()


@fastapi_app.get("/mj/task/{task_id}/fetch")
async def fetch(task_id: str) -> JSONResponse:
    return JSONResponse(BODY_DICT)


if __name__ == "__main__":
    print(json.dumps(BODY_DICT)[:200], len(BODY))
