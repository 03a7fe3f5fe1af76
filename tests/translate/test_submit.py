"""Translation on the real submit path: /mj imagine and shorten, and /v2 imagine, through the emulator."""

from __future__ import annotations

from pathlib import Path

from mjproxy.emulator import Emulator
from tests.e2e.harness import proxy_settings, running_proxy
from tests.translate.fakes import DEEPL_KEY, FakeProviders


def deepl(base_url: str, **extra: object) -> dict[str, object]:
    return {"provider": "deepl", "deepl": {"api_key": DEEPL_KEY, "base_url": base_url}, **extra}


async def test_imagine_is_sent_in_english_and_keeps_both_prompts(
        emulator: Emulator, tmp_path: Path, providers: tuple[FakeProviders, str]) -> None:
    fake, base_url = providers
    async with running_proxy(proxy_settings(emulator, tmp_path, translation=deepl(base_url))) as proxy:
        submitted = await proxy.imagine("一只猫 --ar 16:9")
        assert submitted["code"] == 1, submitted
        task = await proxy.wait_for(submitted["result"])
        assert task["status"] == "SUCCESS"
        assert task["prompt"] == "一只猫 --ar 16:9"
        assert task["promptEn"] == "a cat --ar 16:9"
        assert task["properties"]["translation"] == {"provider": "deepl", "sourceLanguage": "ZH"}
        assert "a cat" in (task["properties"]["finalPrompt"] or "")  # what Midjourney received and echoed
        shorten = await proxy.client.post("/mj/submit/shorten", json={"prompt": "城市夜景"})
        shortened = await proxy.wait_for(shorten.json()["result"])
        assert shortened["status"] == "SUCCESS"
        assert "city night" in (shortened["properties"]["messageContent"] or ""), "the English prompt was shortened"
        assert [name for name, _ in fake.requests] == ["deepl", "deepl"]


async def test_a_provider_failure_refuses_the_submit_and_sends_nothing(
        emulator: Emulator, tmp_path: Path, providers: tuple[FakeProviders, str]) -> None:
    fake, base_url = providers
    fake.fail_status = 456
    async with running_proxy(proxy_settings(emulator, tmp_path, translation=deepl(base_url))) as proxy:
        refused = await proxy.client.post("/mj/submit/imagine", json={"prompt": "一只猫"})
        body = refused.json()
        assert body["code"] == 9 and "prompt translation failed (deepl)" in body["description"]
        assert (await proxy.client.post("/mj/task/list-by-condition", json={})).json() == []


async def test_untranslated_on_failure_is_recorded_on_the_task(
        emulator: Emulator, tmp_path: Path, providers: tuple[FakeProviders, str]) -> None:
    fake, base_url = providers
    fake.fail_status = 456
    settings = proxy_settings(emulator, tmp_path, translation=deepl(base_url, on_failure="untranslated"))
    async with running_proxy(settings) as proxy:
        task = await proxy.wait_for((await proxy.imagine("一只猫"))["result"])
        assert task["status"] == "SUCCESS" and task["promptEn"] == "一只猫"
        assert "HTTP 456" in task["properties"]["translation"]["error"]


async def test_v2_imagine_goes_through_the_same_translation(
        emulator: Emulator, tmp_path: Path, providers: tuple[FakeProviders, str]) -> None:
    _, base_url = providers
    async with running_proxy(proxy_settings(emulator, tmp_path, translation=deepl(base_url))) as proxy:
        answer = await proxy.client.post("/v2/jobs/imagine", json={"prompt": "一只狗 --v 7"})
        assert answer.status_code == 200, answer.text
        job = answer.json()["jobid"]
        task = await proxy.wait_for(job)
        assert task["promptEn"] == "a dog --v 7"
