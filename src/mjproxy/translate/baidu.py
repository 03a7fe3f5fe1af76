"""Baidu's general translation API (``/api/trans/vip/translate``), what the Chinese peers use.

Texts go in one request, one per line (the API answers one ``trans_result`` per line); the request is
signed with MD5(appid + q + salt + secret), as Baidu specifies. Errors come back as HTTP 200 with an
``error_code``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import httpx

from ..engine.translation import Translated, TranslationError
from .http import ProviderClient

DEFAULT_BASE_URL = "https://fanyi-api.baidu.com"


def sign(app_id: str, query: str, salt: str, secret: str) -> str:
    return hashlib.md5((app_id + query + salt + secret).encode(), usedforsecurity=False).hexdigest()


class BaiduTranslator:
    name = "baidu"

    def __init__(self, *, app_id: str, secret: str, base_url: str, timeout_seconds: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/api/trans/vip/translate"
        self._app_id = app_id
        self._secret = secret
        self._client = ProviderClient(timeout_seconds, transport)

    async def translate(self, texts: Sequence[str]) -> Translated:
        query = "\n".join(" ".join(text.split()) for text in texts)
        salt = str(secrets.randbelow(10**9))
        form = {"q": query, "from": "auto", "to": "en", "appid": self._app_id, "salt": salt,
                "sign": sign(self._app_id, query, salt, self._secret)}
        answer = await self._client.post(self._url, data=form)
        if not isinstance(answer, dict):
            raise TranslationError("Baidu's answer is not an object")
        if "error_code" in answer and str(answer["error_code"]) not in ("", "52000"):
            raise TranslationError(f"Baidu error {answer['error_code']}: {answer.get('error_msg', '')}".strip())
        results = answer.get("trans_result")
        if not isinstance(results, list) or len(results) != len(texts):
            raise TranslationError("Baidu's answer does not hold one trans_result per text")
        try:
            english = [str(item["dst"]) for item in results]
        except (KeyError, TypeError):
            raise TranslationError("a Baidu trans_result has no dst") from None
        source = answer.get("from")
        return Translated(english, str(source) if source else None)

    async def aclose(self) -> None:
        await self._client.aclose()
