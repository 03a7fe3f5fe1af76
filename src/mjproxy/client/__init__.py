"""mjproxy's Python SDK: a typed client of the ``/mj`` dialect over HTTP (docs/sdk.md).

    from mjproxy.client import Client

    with Client("http://127.0.0.1:8080", key="mjp_…") as mj:
        task = mj.wait(mj.imagine("a red fox in the snow --ar 3:2").task_id)
        upscale = mj.wait(mj.press(task, "U2").task_id)

It speaks only HTTP (httpx, httpx-sse, pydantic): it imports nothing of the server, so it can be used from
any machine that can reach one.
"""

from .aio import AsyncClient
from .errors import (
    ApiError,
    AuthenticationError,
    BannedPrompt,
    ConnectionFailed,
    InvalidRequestError,
    MjproxyError,
    NoAccountAvailable,
    NotFoundError,
    PayloadTooLarge,
    PermissionDenied,
    QueueFull,
    ServerError,
    SubmitFailed,
    TaskCancelled,
    TaskFailed,
    WaitTimeout,
)
from .models import (
    Account,
    ApiKey,
    Button,
    CallbackDelivery,
    CancelResult,
    CreatedApiKey,
    SplitImage,
    SubmitResult,
    Task,
    TaskEvent,
    TaskPage,
    TaskStatus,
)
from .streams import StreamUnavailable
from .sync import Client

__all__ = [
    "Account", "ApiError", "ApiKey", "AsyncClient", "AuthenticationError", "BannedPrompt", "Button",
    "CallbackDelivery", "CancelResult", "Client", "ConnectionFailed", "CreatedApiKey", "InvalidRequestError",
    "MjproxyError", "NoAccountAvailable", "NotFoundError", "PayloadTooLarge", "PermissionDenied", "QueueFull",
    "ServerError", "SplitImage", "StreamUnavailable", "SubmitFailed", "SubmitResult", "Task", "TaskCancelled",
    "TaskEvent", "TaskFailed", "TaskPage", "TaskStatus", "WaitTimeout",
]
