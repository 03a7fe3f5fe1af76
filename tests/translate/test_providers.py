"""Each provider against a local fake of its wire format, through the engine's PromptTranslator."""

from __future__ import annotations

import pytest

from mjproxy.config import load_settings
from mjproxy.engine.translation import PromptTranslator, TranslationRefused, Translator
from mjproxy.translate import translator_from_settings
from tests.translate.fakes import BAIDU_APP_ID, BAIDU_SECRET, DEEPL_KEY, OPENAI_KEY, FakeProviders

PROMPT = "https://example.com/ref.png 一只猫::2 一只狗::-0.5 --ar 16:9 --no 红色 草地 --v 7 --stylize 250"
EXPECTED = "https://example.com/ref.png a cat::2 a dog::-0.5 --ar 16:9 --no red grass --v 7 --stylize 250"


def translator(provider: str, base_url: str, **overrides: str) -> Translator:
    sections = {
        "openai": {"base_url": f"{base_url}/v1", "api_key": OPENAI_KEY, "model": "gpt-test"},
        "deepl": {"api_key": DEEPL_KEY, "base_url": base_url},
        "baidu": {"app_id": BAIDU_APP_ID, "secret": BAIDU_SECRET, "base_url": base_url},
    }
    config = {"provider": provider, provider: {**sections[provider], **overrides}}
    built = translator_from_settings(load_settings(translation=config).translation)
    assert built is not None
    return built


@pytest.mark.parametrize("provider", ["openai", "deepl", "baidu"])
async def test_words_are_translated_and_everything_else_kept_byte_for_byte(
        providers: tuple[FakeProviders, str], provider: str) -> None:
    fake, base_url = providers
    english = PromptTranslator(translator(provider, base_url))
    try:
        result = await english.english(PROMPT)
    finally:
        await english.aclose()
    assert result.prompt_en == EXPECTED
    assert result.detail is not None and result.detail["provider"] == provider
    sent = [request for name, request in fake.requests if name == provider]
    assert sent, "the provider was never called"
    # Only the three Chinese segments left the server: no URL, weight or parameter.
    assert "example.com" not in repr(sent) and "--ar" not in repr(sent) and "::" not in repr(sent)


@pytest.mark.parametrize("provider", ["openai", "deepl", "baidu"])
async def test_an_english_prompt_never_reaches_the_provider(providers: tuple[FakeProviders, str],
                                                            provider: str) -> None:
    fake, base_url = providers
    english = PromptTranslator(translator(provider, base_url))
    try:
        result = await english.english("a lighthouse at dusk --ar 3:2 --no fog")
    finally:
        await english.aclose()
    assert result.prompt_en == "a lighthouse at dusk --ar 3:2 --no fog" and result.detail is None
    assert fake.requests == []


@pytest.mark.parametrize("provider", ["openai", "deepl", "baidu"])
@pytest.mark.parametrize("fault", ["status", "malformed", "credentials"])
async def test_a_provider_failure_refuses_or_is_recorded_never_silent(
        providers: tuple[FakeProviders, str], provider: str, fault: str) -> None:
    fake, base_url = providers
    fake.fail_status = 456 if fault == "status" else None
    fake.malformed = fault == "malformed"
    wrong = {"openai": {"api_key": "sk-wrong"}, "deepl": {"api_key": "wrong:fx"},
             "baidu": {"secret": "wrong-secret"}}[provider] if fault == "credentials" else {}
    refusing = PromptTranslator(translator(provider, base_url, **wrong), on_failure="fail")
    lenient = PromptTranslator(translator(provider, base_url, **wrong), on_failure="untranslated")
    try:
        with pytest.raises(TranslationRefused, match=f"prompt translation failed \\({provider}\\)") as refused:
            await refusing.english("城市夜景 --ar 16:9")
        kept = await lenient.english("城市夜景 --ar 16:9")
    finally:
        await refusing.aclose()
        await lenient.aclose()
    for secret in ("sk-wrong", "wrong-secret", OPENAI_KEY, BAIDU_SECRET, DEEPL_KEY):
        assert secret not in str(refused.value)
    assert kept.prompt_en == "城市夜景 --ar 16:9"
    assert kept.detail is not None and "failed" in kept.detail["error"]


async def test_an_unreachable_provider_is_a_clear_failure() -> None:
    english = PromptTranslator(translator("deepl", "http://127.0.0.1:9"))
    try:
        with pytest.raises(TranslationRefused, match="cannot reach the provider"):
            await english.english("猫")
    finally:
        await english.aclose()


def test_credentials_are_required_for_the_chosen_provider() -> None:
    from mjproxy.config import ConfigError

    with pytest.raises(ConfigError, match=r"translation\.deepl\.api_key"):
        load_settings(translation={"provider": "deepl"})
    with pytest.raises(ConfigError, match=r"translation\.baidu\.app_id"):
        load_settings(translation={"provider": "baidu", "baidu": {"app_id": "1"}})
    assert translator_from_settings(load_settings().translation) is None
