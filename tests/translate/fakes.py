"""Local fakes of the three providers' wire formats, served on loopback by uvicorn.

Each checks what the real service checks (the key header, Baidu's MD5 signature) and "translates" with a
small dictionary, so a test can tell a translated segment from one that was never sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DICTIONARY = {"一只猫": "a cat", "一只狗": "a dog", "红色 草地": "red grass", "红色": "red",
              "城市夜景": "a city at night", "猫": "cat", "Ein Hund": "A dog"}
OPENAI_KEY = "sk-test-openai"
DEEPL_KEY = "deepl-test-key:fx"
BAIDU_APP_ID = "2015063000000001"
BAIDU_SECRET = "12345678"


def english(text: str) -> str:
    return DICTIONARY.get(text, f"<{text}>")


@dataclass
class FakeProviders:
    """What the fakes received, and knobs to make them fail."""

    requests: list[tuple[str, Any]] = field(default_factory=list)
    fail_status: int | None = None
    malformed: bool = False

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.openai, methods=["POST"]),
                                 Route("/v2/translate", self.deepl, methods=["POST"]),
                                 Route("/api/trans/vip/translate", self.baidu, methods=["POST"])])

    def _failure(self) -> Response | None:
        if self.fail_status is not None:
            return JSONResponse({"message": "quota exceeded"}, status_code=self.fail_status)
        return None

    async def openai(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("openai", body))
        if request.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        if (failure := self._failure()) is not None:
            return failure
        if self.malformed:
            return JSONResponse({"choices": []})
        text = body["messages"][-1]["content"]
        return JSONResponse({"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": english(text)}}]})

    async def deepl(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(("deepl", body))
        if request.headers.get("authorization") != f"DeepL-Auth-Key {DEEPL_KEY}":
            return JSONResponse({"message": "Wrong endpoint or key"}, status_code=403)
        if (failure := self._failure()) is not None:
            return failure
        if self.malformed:
            return JSONResponse({"translations": []})
        return JSONResponse({"translations": [{"detected_source_language": "ZH", "text": english(t)}
                                              for t in body["text"]]})

    async def baidu(self, request: Request) -> Response:
        form = dict(await request.form())
        self.requests.append(("baidu", form))
        query, salt = str(form["q"]), str(form["salt"])
        expected = hashlib.md5((BAIDU_APP_ID + query + salt + BAIDU_SECRET).encode()).hexdigest()
        if form.get("appid") != BAIDU_APP_ID or form.get("sign") != expected:
            return JSONResponse({"error_code": "54001", "error_msg": "Invalid Sign"})
        if self.fail_status is not None:
            return JSONResponse({"error_code": "54004", "error_msg": "Please recharge"})
        if self.malformed:
            return JSONResponse({"from": "zh", "to": "en"})
        lines = query.split("\n")
        return JSONResponse({"from": "zh", "to": "en",
                             "trans_result": [{"src": line, "dst": english(line)} for line in lines]})
