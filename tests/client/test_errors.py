"""Which answer becomes which exception: the status first (honest statuses), then the dialect's code.

The live tests (tests/e2e/test_sdk_*.py) meet 4, 24, 401, 404 and 422 from the real server; the codes the
sandbox cannot be brought to answer on demand (9, 23, 3 on submit, 5xx, 413) are served here by a transport.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mjproxy.client import (
    ApiError,
    BannedPrompt,
    Client,
    InvalidRequestError,
    NoAccountAvailable,
    NotFoundError,
    PayloadTooLarge,
    PermissionDenied,
    QueueFull,
    ServerError,
    SubmitFailed,
)


def answering(status: int, body: Any) -> Client:
    return Client("http://mjproxy.test", transport=httpx.MockTransport(lambda _: httpx.Response(status, json=body)))


@pytest.mark.parametrize(("code", "kind"), [(3, NoAccountAvailable), (4, InvalidRequestError), (9, SubmitFailed),
                                            (23, QueueFull), (24, BannedPrompt), (99, SubmitFailed)])
def test_refusing_codes_raise_their_type(code: int, kind: type[ApiError]) -> None:
    with answering(200, {"code": code, "description": "no", "result": None}) as mj, pytest.raises(kind) as raised:
        mj.imagine("x")
    assert raised.value.code == code and raised.value.status == 200
    assert str(raised.value) == f"no (HTTP 200, code {code})"


@pytest.mark.parametrize("code", [1, 21, 22])
def test_accepting_codes_are_results(code: int) -> None:
    with answering(200, {"code": code, "description": "ok", "result": "7", "properties": {"numberOfQueues": 2}}) as mj:
        result = mj.imagine("x")
    assert result.code == code and result.task_id == "7"
    assert result.needs_modal == (code == 21) and result.queued == (code == 22)


@pytest.mark.parametrize(("status", "kind"), [(400, InvalidRequestError), (403, PermissionDenied),
                                              (404, NotFoundError), (413, PayloadTooLarge), (500, ServerError),
                                              (502, ServerError), (409, ApiError)])
def test_statuses_raise_their_type(status: int, kind: type[ApiError]) -> None:
    with answering(status, {"detail": "refused"}) as mj, pytest.raises(kind) as raised:
        mj.fetch("1")
    assert raised.value.status == status and raised.value.message == "refused"


def test_the_key_goes_only_to_the_server() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    with Client("http://mjproxy.test/", key="mjp_secret", transport=httpx.MockTransport(record)) as mj:
        mj.queue()
        assert "mjp_secret" not in repr(mj)
    assert seen[0].headers["authorization"] == "Bearer mjp_secret"
    assert str(seen[0].url) == "http://mjproxy.test/mj/task/queue"
    assert mj.download_call("https://cdn.example/a.png").authenticated is False
    assert mj.download_call("http://mjproxy.test/media/a.png").authenticated is True
