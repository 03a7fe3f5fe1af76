"""Routes, error-tree flattening, backoff, and the zlib-stream inflater."""

from __future__ import annotations

import json
import random
import zlib

import pytest

from mjproxy.discord import routes
from mjproxy.discord.backoff import full_jitter
from mjproxy.discord.errors import (
    AuthenticationFailed,
    GatewayClosed,
    HTTPException,
    RateLimited,
    flatten_error_tree,
)
from mjproxy.discord.gateway_protocol import CloseAction, close_action, gateway_url
from mjproxy.discord.zlib_stream import ZlibStreamInflater


def test_route_url_and_bucket_key() -> None:
    a = routes.GET_MESSAGES.compile(channel_id="1")
    b = routes.GET_MESSAGES.compile(channel_id="2")
    assert a.url == "/channels/1/messages"
    assert a.bucket_key != b.bucket_key
    assert a.bucket_key == "GET /channels/{channel_id}/messages:1"
    reaction = routes.ADD_REACTION.compile(channel_id="1", message_id="2", emoji="✉️")
    assert reaction.url == "/channels/1/messages/2/reactions/%E2%9C%89%EF%B8%8F/@me"
    assert reaction.bucket_key.endswith(":1")  # message id is not a major parameter
    assert routes.CREATE_INTERACTION.compile().bucket_key == "POST /interactions:"
    with pytest.raises(ValueError, match="missing parameters"):
        routes.GET_CHANNEL.compile()


def test_flatten_error_tree_and_status_mapping() -> None:
    tree = {"a": {"0": {"b": {"_errors": [{"code": "X", "message": "m"}]}}}, "_errors": [{"code": "Y"}]}
    assert sorted(flatten_error_tree(tree)) == [("", "Y", ""), ("a.0.b", "X", "m")]
    exc = HTTPException.from_body(418, "teapot", method="GET", path="/x")
    assert type(exc) is HTTPException
    assert exc.message == "teapot"
    limited = HTTPException.from_body(429, {"retry_after": 1.5, "global": True, "message": "slow"})
    assert isinstance(limited, RateLimited)
    assert limited.is_global and limited.retry_after == 1.5


def test_gateway_errors() -> None:
    exc = AuthenticationFailed()
    assert isinstance(exc, GatewayClosed)
    assert exc.code == 4004 and exc.fatal


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, CloseAction.RESUME),
        (1000, CloseAction.RESUME),
        (1006, CloseAction.RESUME),
        (4000, CloseAction.RESUME),
        (4002, CloseAction.RESUME),
        (4008, CloseAction.RESUME),
        (4003, CloseAction.IDENTIFY),
        (4005, CloseAction.IDENTIFY),
        (4007, CloseAction.IDENTIFY),
        (4009, CloseAction.IDENTIFY),
        (4004, CloseAction.FATAL),
        (4010, CloseAction.FATAL),
        (4014, CloseAction.FATAL),
    ],
)
def test_close_code_policy(code: int | None, action: CloseAction) -> None:
    assert close_action(code) is action


def test_gateway_url_forms() -> None:
    expected = "wss://gateway.discord.gg/?encoding=json&v=9&compress=zlib-stream"
    assert gateway_url("wss://gateway.discord.gg", compress=True) == expected
    assert gateway_url("wss://gateway.discord.gg/", compress=True) == expected
    assert gateway_url("wss://gateway.discord.gg/?encoding=json&v=9", compress=False) == (
        "wss://gateway.discord.gg/?encoding=json&v=9"
    )


def test_full_jitter_is_capped_and_grows() -> None:
    class Max(random.Random):
        def random(self) -> float:
            return 0.999

    rng = Max()
    delays = [full_jitter(n, base=1.0, cap=10.0, rng=rng) for n in range(6)]
    assert delays[:4] == pytest.approx([0.999, 1.998, 3.996, 7.992])
    assert delays[4] == delays[5] == pytest.approx(9.99)


def test_zlib_stream_inflater_handles_split_payloads() -> None:
    deflate = zlib.compressobj()
    inflater = ZlibStreamInflater()
    for n in range(3):  # one shared stream across payloads
        raw = json.dumps({"op": 0, "s": n, "d": {"x": "y" * 500}}).encode()
        data = deflate.compress(raw) + deflate.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        head, tail = data[:7], data[7:]
        assert inflater.feed(head) is None
        text = inflater.feed(tail)
        assert text is not None and json.loads(text)["s"] == n
