"""A bounded soak: 500 tasks over three accounts, random faults everywhere (seeded), a flaky callback receiver,
and one kill -9 of the proxy process mid-run. Every task must end SUCCESS or FAILURE with a reason; none stuck,
none run twice; every callback event arrives, signed, in order per task, exactly once after de-duplication by
its sequence number.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mjproxy.emulator import Emulator
from mjproxy.emulator.chaos import ChaosConfig
from tests.e2e.harness import HookCall, HookReceiver, running_emulator
from tests.e2e.process import FINAL, ProxyProcess, free_port, wait_all_final, write_config

TASKS = 500
HOOK_SECRET = "soak-signing-secret"
CHAOS = ChaosConfig(
    seed=20261121,
    rest_429=0.03, rest_retry_after_s=0.05,
    rest_5xx=0.03,
    rest_slow=0.03, rest_slow_s=0.2,
    lose_final=0.03,
    gateway_tick_s=1.0, gateway_drop=0.03, gateway_reconnect=0.03, gateway_invalid_session=0.02,
    gateway_lose_ack=0.03,
)


@pytest.fixture
async def chaotic_emulator() -> AsyncIterator[Emulator]:
    async with running_emulator(job_duration_s=0.3, progress_steps=[0, 50], concurrency=3, queue_size=10,
                                heartbeat_interval_ms=1000) as emu:
        emu.add_account("soak2")
        emu.add_account("soak3")
        yield emu


@pytest.fixture
async def flaky_receiver() -> AsyncIterator[HookReceiver]:
    hooks = HookReceiver(secret=HOOK_SECRET, fail_ratio=0.1, fail_seed=7)
    await hooks.start()
    try:
        yield hooks
    finally:
        await hooks.stop()


async def test_soak_with_random_faults_and_one_kill_9(chaotic_emulator: Emulator, flaky_receiver: HookReceiver,
                                                      tmp_path: Path) -> None:
    emulator, hooks = chaotic_emulator, flaky_receiver
    port = free_port()
    config = write_config(
        tmp_path / "mjproxy.toml", emulator, tmp_path, emulator.accounts, port=port,
        account_overrides={"core_size": 3, "queue_size": 1000, "timeout_minutes": 0.25},
        discord={"sync_on_connect": False}, logging={"level": "WARNING"},
        server={"notify_hook": hooks.url},
        webhooks={"secret": HOOK_SECRET, "retry_base_seconds": 0.1, "retry_max_seconds": 0.5,
                  "poll_seconds": 0.5})
    proxy = ProxyProcess(config, port, tmp_path / "proxy.log")
    try:
        await proxy.start()
        emulator.update_config(chaos=CHAOS)
        prompts = [f"soak scene {i:03d}" for i in range(TASKS)]
        ids: list[str] = []
        for start in range(0, TASKS, 25):
            answers = await asyncio.gather(*(proxy.imagine(p) for p in prompts[start:start + 25]))
            assert all(a["code"] in (1, 22) for a in answers), answers
            ids += [a["result"] for a in answers]

        # Kill when the run is well under way: some done, many in flight or waiting.
        for _ in range(1200):
            done = sum(t["status"] in FINAL for t in await proxy.tasks(ids))
            if done >= TASKS // 4:
                break
            await asyncio.sleep(0.1)
        in_flight_at_kill = TASKS - done
        await proxy.kill()
        await asyncio.sleep(1.0)  # jobs keep finishing at Midjourney while the proxy is down
        await proxy.start()
        tasks = await wait_all_final(proxy, ids, timeout=150)
        fired = emulator.chaos_counts
        emulator.update_config(chaos=ChaosConfig())
        outbox = await drain_outbox(proxy, ids)
    finally:
        emulator.update_config(chaos=ChaosConfig())
        await proxy.aclose()

    assert proxy.kills == 1 and in_flight_at_kill > TASKS // 4
    statuses = Counter(t["status"] for t in tasks)
    assert set(statuses) <= {"SUCCESS", "FAILURE"}, statuses
    for task in tasks:
        if task["status"] == "FAILURE":
            assert task["failReason"], task
        else:
            assert task["imageUrl"] and len(task["buttons"]) == 9, task
    runs = Counter(p for job in emulator.jobs for p in [job.prompt.split(" --")[0]])
    assert all(runs[p] <= 1 for p in prompts), [p for p in prompts if runs[p] > 1][:5]
    succeeded = {t["prompt"] for t in tasks if t["status"] == "SUCCESS"}
    assert all(runs[p] == 1 for p in succeeded)
    # Nothing lost: a job Midjourney finished is never reported as a failure.
    finished = {job.prompt.split(" --")[0] for job in emulator.jobs if job.status == "done"}
    lost = [t for t in tasks if t["status"] == "FAILURE" and t["prompt"] in finished]
    assert not lost, lost[:3]
    # Random faults are retried, resumed or read back from history: nearly everything succeeds.
    assert statuses["SUCCESS"] >= TASKS * 0.9, (statuses, Counter(t["failReason"] for t in tasks))
    reasons = Counter(t["failReason"] for t in tasks if t["status"] == "FAILURE")
    for task in tasks:
        if task["status"] == "FAILURE":  # what Midjourney did with it, for the log of a failed run
            print("failed:", task["prompt"], task["status"], task["failReason"],
                  [(j.status, j.final_message_id) for j in emulator.jobs if task["prompt"] in j.prompt])
    print(f"soak: {dict(statuses)}, failures: {dict(reasons)}, faults fired: {fired}")
    assert fired.get("lose_final", 0) and fired.get("rest_5xx", 0), fired
    check_callbacks(hooks, tasks, outbox)


async def drain_outbox(proxy: ProxyProcess, ids: list[str], timeout: float = 90) -> dict[str, list[dict[str, Any]]]:
    """Wait until no callback is pending any more; then every task's deliveries as the API reports them."""
    deadline = time.monotonic() + timeout
    while True:
        pending = await proxy.client.get("/mj/admin/callbacks", params={"status": ["pending", "dead"], "size": 1})
        assert pending.status_code == 200, pending.text
        if pending.headers["X-Total-Count"] == "0":
            break
        assert time.monotonic() < deadline, f"callbacks still pending or dead after {timeout}s: {pending.text}"
        await asyncio.sleep(0.5)
    outbox: dict[str, list[dict[str, Any]]] = {}
    for task_id in ids:
        response = await proxy.client.get(f"/mj/task/{task_id}/callbacks")
        assert response.status_code == 200, response.text
        outbox[task_id] = response.json()
    return outbox


def check_callbacks(hooks: HookReceiver, tasks: list[dict[str, Any]], outbox: dict[str, list[dict[str, Any]]]
                    ) -> None:
    """Exactly once after de-duplication by sequence, in order, signed, and ending with the final state."""
    assert hooks.calls and all(call.signature_valid for call in hooks.calls)
    refused = sum(call.answered >= 300 for call in hooks.calls)
    assert refused > 0  # the flaky receiver made the outbox retry
    accepted: dict[str, list[HookCall]] = defaultdict(list)
    for call in hooks.calls:
        if call.answered < 300:
            accepted[call.task_id].append(call)
    duplicates = 0
    for task in tasks:
        calls = accepted[task["id"]]
        sequences = [call.sequence for call in calls]
        first_seen = list(dict.fromkeys(sequences))  # de-duplicated, in arrival order
        duplicates += len(sequences) - len(first_seen)
        events = outbox[task["id"]]
        assert events and all(event["status"] == "delivered" for event in events), events
        # Every event the outbox recorded arrived, none more, and in order: 1, 2, 3, … n.
        assert first_seen == list(range(1, len(events) + 1)), (task["id"], sequences, len(events))
        same_sequence = defaultdict(set)
        for call in calls:  # a re-sent event is the same event: same id, same bytes
            same_sequence[call.sequence].add((call.event_id, call.raw))
        assert all(len(versions) == 1 for versions in same_sequence.values()), task["id"]
        last = next(call for call in reversed(calls) if call.sequence == len(events))
        assert last.body["status"] == task["status"], (task["id"], last.body["status"], task["status"])
    print(f"callbacks: {len(hooks.calls)} requests, {refused} refused by the receiver, "
          f"{duplicates} duplicate deliveries (at least once) removed by sequence")
