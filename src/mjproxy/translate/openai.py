"""Any OpenAI-compatible chat completions endpoint (OpenAI, an LLM gateway, a local model server)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from ..engine.translation import Translated, TranslationError
from .http import ProviderClient

# One text per request: a model asked for several at once sometimes merges or reorders them.
INSTRUCTIONS = ("You translate prompts for an image generator into English. Answer with the English "
                "translation only: no quotes, no explanations, one line. Keep names, numbers and "
                "punctuation. If the text is already English, answer it unchanged.")


class OpenAICompatibleTranslator:
    name = "openai"

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_seconds: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model
        self._client = ProviderClient(timeout_seconds, transport)

    async def translate(self, texts: Sequence[str]) -> Translated:
        return Translated(list(await asyncio.gather(*(self._one(text) for text in texts))))

    async def _one(self, text: str) -> str:
        body = {"model": self._model, "temperature": 0,
                "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": text}]}
        answer = await self._client.post(self._url, json=body, headers=self._headers)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TranslationError("the chat completion has no choices[0].message.content") from None
        if not isinstance(content, str) or not content.strip():
            raise TranslationError("the chat completion is empty")
        return content.strip().strip('"“”')

    async def aclose(self) -> None:
        await self._client.aclose()
