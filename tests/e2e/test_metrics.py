"""GET /metrics: Prometheus text a real scraper parses, fed by a real imagine through the emulator."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_proxy


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(proxy: Proxy, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await proxy.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_follow_an_imagine_through_every_layer(proxy: Proxy, emulator: Emulator) -> None:
    account = proxy.runtime.accounts_manager.definitions()[0].id  # type: ignore[union-attr]
    before = await scrape(proxy)
    assert value(before, "mjproxy_account_state", account=account, state="ready") == 1.0
    assert value(before, "mjproxy_account_state", account=account, state="disconnected") == 0.0
    assert value(before, "mjproxy_account_slots", account=account) == 3.0

    submitted = await proxy.imagine("a lighthouse at dusk")
    task = await proxy.wait_for(submitted["result"])
    assert task["status"] == "SUCCESS"

    after = await scrape(proxy)
    for status in ("NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"):
        gained = (value(after, "mjproxy_tasks_total", status=status, action="IMAGINE")
                  - value(before, "mjproxy_tasks_total", status=status, action="IMAGINE"))
        assert gained == 1.0, f"{status}: {gained}"
    # Progress messages are announced many times but counted once per status.
    assert value(after, "mjproxy_tasks_total", status="IN_PROGRESS", action="IMAGINE") == 1.0
    assert value(after, "mjproxy_account_busy_slots", account=account) == 0.0
    assert value(after, "mjproxy_account_queue_depth", account=account) == 0.0
    interactions = value(after, "mjproxy_discord_request_seconds_count", account=account, method="POST",
                         route="/interactions")
    assert interactions >= 1.0
    assert value(after, "mjproxy_discord_responses_total", account=account, status="204") >= 1.0
    assert value(after, "mjproxy_webhook_events", status="pending") == 0.0
    assert value(after, "mjproxy_gateway_reconnects_total", account=account) == 0.0


async def test_gateway_reconnects_and_rate_limits_are_counted(proxy: Proxy, emulator: Emulator) -> None:
    account = proxy.runtime.accounts_manager.definitions()[0].id  # type: ignore[union-attr]
    emulator.inject_rest_fault("/interactions", 429, count=1, retry_after=0.05, scope="user")
    await emulator.drop_sessions(emulator.sandbox.user_id)
    await proxy.wait_accounts_ready()
    task = await proxy.wait_for((await proxy.imagine("rain over tokyo"))["result"])
    assert task["status"] == "SUCCESS"
    found = await scrape(proxy)
    assert value(found, "mjproxy_discord_rate_limited_total", account=account, scope="user") >= 1.0
    assert value(found, "mjproxy_gateway_reconnects_total", account=account) >= 1.0


async def test_metrics_are_admin_only_once_a_credential_is_set(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"admin_secret": "adm"})
    async with running_proxy(settings) as proxy:
        anonymous = await proxy.client.get("/metrics")
        assert anonymous.status_code == 401
        assert "mjproxy_account_state" not in anonymous.text
        found = await scrape(proxy, authorization="Bearer adm")
        assert any(name == "mjproxy_account_state" for name, _ in found)


async def test_metrics_can_be_opened_to_a_scraper(emulator: Emulator, tmp_path: Path) -> None:
    settings = proxy_settings(emulator, tmp_path, server={"admin_secret": "adm"}, metrics={"public": True})
    async with running_proxy(settings) as proxy:
        assert (await proxy.client.get("/metrics")).status_code == 200
