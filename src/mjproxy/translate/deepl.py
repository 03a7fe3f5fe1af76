"""DeepL API v2 ``/v2/translate``: every text in one request, the source language detected."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from ..engine.translation import Translated, TranslationError
from .http import ProviderClient

FREE_API = "https://api-free.deepl.com"
PRO_API = "https://api.deepl.com"


def default_base_url(api_key: str) -> str:
    """DeepL's free keys end in ``:fx`` and only work on the free host."""
    return FREE_API if api_key.endswith(":fx") else PRO_API


class DeepLTranslator:
    name = "deepl"

    def __init__(self, *, api_key: str, base_url: str, timeout_seconds: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = (base_url or default_base_url(api_key)).rstrip("/") + "/v2/translate"
        self._headers = {"Authorization": f"DeepL-Auth-Key {api_key}"}
        self._client = ProviderClient(timeout_seconds, transport)

    async def translate(self, texts: Sequence[str]) -> Translated:
        # EN-US: DeepL takes plain "EN" as a target only for backward compatibility.
        answer = await self._client.post(self._url, json={"text": list(texts), "target_lang": "EN-US"},
                                         headers=self._headers)
        translations = answer.get("translations") if isinstance(answer, dict) else None
        if not isinstance(translations, list) or len(translations) != len(texts):
            raise TranslationError("DeepL's answer does not hold one translation per text")
        try:
            english = [str(item["text"]) for item in translations]
        except (KeyError, TypeError):
            raise TranslationError("a DeepL translation has no text") from None
        source = translations[0].get("detected_source_language") if translations else None
        return Translated(english, str(source) if source else None)

    async def aclose(self) -> None:
        await self._client.aclose()
