"""The configured provider, built from ``[translation]``; each module is imported only when chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import TranslationSettings
    from ..engine.translation import Translator


def translator_from_settings(settings: TranslationSettings) -> Translator | None:
    timeout = settings.timeout_seconds
    if settings.provider == "openai":
        from .openai import OpenAICompatibleTranslator

        o = settings.openai
        return OpenAICompatibleTranslator(base_url=o.base_url, api_key=o.api_key, model=o.model,
                                          timeout_seconds=timeout)
    if settings.provider == "deepl":
        from .deepl import DeepLTranslator

        return DeepLTranslator(api_key=settings.deepl.api_key, base_url=settings.deepl.base_url,
                               timeout_seconds=timeout)
    if settings.provider == "baidu":
        from .baidu import BaiduTranslator

        b = settings.baidu
        return BaiduTranslator(app_id=b.app_id, secret=b.secret, base_url=b.base_url, timeout_seconds=timeout)
    return None
