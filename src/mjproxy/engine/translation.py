"""Prompt translation before submit: what the engine asks of a translator, and its failure policy.

Off unless a provider is configured. The prompt is cut into kept and translatable segments
(domain/prompt_segments.py); only segments with non-ASCII letters go to the provider, so parameters,
URLs and ``::`` weights reach Midjourney byte for byte. A provider failure either refuses the submit
with a clear reason or, when the operator chose ``on_failure = "untranslated"``, sends the original
prompt and says so on the task (``properties.translation.error``) and in the log: never silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..domain.prompt_segments import join_translated, split_prompt, to_translate

log = logging.getLogger(__name__)


class TranslationError(Exception):
    """The provider could not translate (unreachable, refused, malformed answer). Never carries secrets."""


@dataclass(frozen=True, slots=True)
class Translated:
    texts: list[str]
    source_language: str | None = None  # as the provider detected it, when it says


class Translator(Protocol):
    name: str

    async def translate(self, texts: Sequence[str]) -> Translated:
        """English for each text, in order (one answer per text)."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EnglishPrompt:
    prompt_en: str
    # What the task records under properties.translation: provider, detected language, or the error.
    detail: dict[str, Any] | None = field(default=None)


class TranslationRefused(Exception):
    """on_failure = "fail" and the provider failed: the submit is refused with this reason."""


class PromptTranslator:
    def __init__(self, translator: Translator | None,
                 on_failure: Literal["fail", "untranslated"] = "fail", *, ascii_too: bool = False) -> None:
        self._translator = translator
        self._on_failure = on_failure
        self._ascii_too = ascii_too

    @property
    def enabled(self) -> bool:
        return self._translator is not None

    async def english(self, prompt: str) -> EnglishPrompt:
        if self._translator is None:
            return EnglishPrompt(prompt)
        segments = split_prompt(prompt, ascii_too=self._ascii_too)
        texts = to_translate(segments)
        if not texts:
            return EnglishPrompt(prompt)
        name = self._translator.name
        try:
            answer = await self._translator.translate(texts)
            english = join_translated(segments, answer.texts)
        except (TranslationError, ValueError) as exc:
            reason = f"prompt translation failed ({name}): {exc}"
            if self._on_failure == "fail":
                raise TranslationRefused(reason + '; set translation.on_failure = "untranslated" to '
                                                  "submit such prompts as they are") from None
            log.warning("%s; submitting the prompt untranslated", reason)
            return EnglishPrompt(prompt, {"provider": name, "error": reason})
        detail: dict[str, Any] = {"provider": name}
        if answer.source_language:
            detail["sourceLanguage"] = answer.source_language
        return EnglishPrompt(english, detail)

    async def aclose(self) -> None:
        if self._translator is not None:
            await self._translator.aclose()
