"""Several emulated accounts: filters, speed modes, daily limits, rules and pacing choose as specified."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from pathlib import Path
from typing import Any

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, account_entry, proxy_settings, running_proxy


async def run_on(proxy: Proxy, result: dict[str, Any]) -> dict[str, Any]:
    assert result["code"] in (1, 22), result
    task = await proxy.wait_for(result["result"])
    assert task["status"] == "SUCCESS", task["failReason"]
    return task


async def test_filters_and_speed_modes(emulator: Emulator, tmp_path: Path) -> None:
    relaxed = emulator.add_account("relaxer")
    tagged = emulator.add_account("tagged")
    accounts = [account_entry(emulator.sandbox, modes=["fast", "turbo"]),
                account_entry(relaxed, modes=["relax"]),
                account_entry(tagged, remark="vip customers", modes=["fast"])]
    async with running_proxy(proxy_settings(emulator, tmp_path, accounts=accounts)) as proxy:
        vip = await run_on(proxy, await proxy.imagine("a crown", accountFilter={"remark": "VIP"}))
        assert vip["properties"]["discordInstanceId"] == tagged.channel_id

        relax = await run_on(proxy, await proxy.imagine("a hammock", accountFilter={"modes": ["RELAX"]}))
        assert relax["properties"]["discordInstanceId"] == relaxed.channel_id
        assert relax["promptEn"].endswith("--relax")
        assert relax["properties"]["messageContent"].endswith("(relaxed)")

        prefixed = await proxy.client.post("/mj-relax/mj/submit/imagine", json={"prompt": "a sloth --fast"})
        by_prefix = await run_on(proxy, prefixed.json())
        assert by_prefix["properties"]["discordInstanceId"] == relaxed.channel_id, "the path prefix wins"
        assert by_prefix["promptEn"] == "a sloth --relax"

        turbo = await run_on(proxy, await proxy.imagine("a rocket --turbo"))
        assert turbo["properties"]["discordInstanceId"] == emulator.sandbox.channel_id
        assert turbo["properties"]["messageContent"].endswith("(turbo)")

        nobody = await proxy.imagine("x", accountFilter={"remark": "nobody has this"})
        assert nobody["code"] == 3
        for name in ("relaxer", "tagged"):
            assert name in nobody["description"], "every excluded account is explained (R22)"


async def test_daily_limit_moves_work_to_the_next_account(emulator: Emulator, tmp_path: Path) -> None:
    other = emulator.add_account("spare")
    accounts = [account_entry(emulator.sandbox, daily_limit=1, weight=1),
                account_entry(other, daily_limit=0)]
    settings = proxy_settings(emulator, tmp_path, accounts=accounts, engine={"selection_rule": "fill"})
    async with running_proxy(settings) as proxy:
        first = await run_on(proxy, await proxy.imagine("one"))
        second = await run_on(proxy, await proxy.imagine("two"))
        limited = await proxy.imagine("three", accountFilter={"instanceId": emulator.sandbox.channel_id})
    assert first["properties"]["discordInstanceId"] == emulator.sandbox.channel_id, "fill: the first account first"
    assert second["properties"]["discordInstanceId"] == other.channel_id
    assert limited["code"] == 3 and "daily" in limited["description"]


async def test_round_robin_takes_turns(emulator: Emulator, tmp_path: Path) -> None:
    extra = [emulator.add_account(f"rr{i}") for i in range(2)]
    accounts = [account_entry(emulator.sandbox), *(account_entry(a) for a in extra)]
    settings = proxy_settings(emulator, tmp_path, accounts=accounts, engine={"selection_rule": "round_robin"})
    async with running_proxy(settings) as proxy:
        results = [await proxy.imagine(f"turn {i}") for i in range(6)]
    counts = Counter(r["properties"]["discordInstanceId"] for r in results)
    assert sorted(counts.values()) == [2, 2, 2]


async def test_pacing_spaces_an_accounts_interactions(emulator: Emulator, tmp_path: Path) -> None:
    accounts = [account_entry(emulator.sandbox, min_interval_seconds=0.6, core_size=3)]
    async with running_proxy(proxy_settings(emulator, tmp_path, accounts=accounts)) as proxy:
        started = time.monotonic()
        ids = [(await proxy.imagine(f"paced {i}"))["result"] for i in range(3)]
        await asyncio.gather(*(proxy.wait_for(i) for i in ids))
        elapsed = time.monotonic() - started
    jobs = sorted((j for j in emulator.jobs if j.prompt.startswith("paced")), key=lambda j: j.created_at)
    gaps = [b.created_at - a.created_at for a, b in itertools.pairwise(jobs)]
    assert len(jobs) == 3 and all(gap >= 0.55 for gap in gaps), gaps
    assert elapsed >= 1.1
