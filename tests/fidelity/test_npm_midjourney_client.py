"""Fidelity: the unmodified npm client `midjourney` (erictik/midjourney-client, pinned in node/package.json) must
work against the emulator exactly as it works against real Discord + Midjourney.

Per message profile (legacy, modern), one emulator and one `node run_client.mjs` run are shared by the module's
tests (the steps build on each other: V1/U1/remix V2 click the imagine grid, Custom Zoom clicks the upscale).
Each step is then checked by its own test against the emulator's records (`emu.jobs`, stored messages).

Skips only when node/npm are missing or the npm package is not installed (`bash tests/fidelity/install.sh`).

TODO(fidelity):
- PENDING_STEPS lists steps whose emulator feature is not written yet: their failure xfails instead of failing.
  It is empty now; put a step back there only while its feature is being (re)built.
- The client runs in the setup its README asks for: a guild where only the Midjourney bot is installed
  (`_midjourney_only_guild`); the sandbox guild installs Midjourney, niji and InsightFace.
- Not covered (too slow for the budget): the package's heartbeat schedule (first op 1 after 10 s, then every
  40 s, `d` = its own counter) and its reconnect-on-close loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjproxy.emulator import MJ_BOT_ID, Emulator, EmulatorConfig, Job
from mjproxy.emulator.config import Profile

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "run_client.mjs"
PACKAGE = NODE_DIR / "node_modules" / "midjourney" / "package.json"
PINNED_VERSION = "4.3.18"
RESULT_PREFIX = "@@FIDELITY@@ "

PROMPT = "a lighthouse on a cliff at dusk, oil painting"
JOB_DURATION_S = 0.8  # long enough for several progress updates with previews, short enough for the budget
STEP_TIMEOUT_MS = 10000  # a working step takes 0.1-2.5 s; a missing emulator feature hangs the client until this
NODE_TIMEOUT_S = 30.0  # per profile; the script gives up 5 s earlier and reports what it has
PROFILES: list[Profile] = ["legacy", "modern"]
ALL_STEPS = ["connect", "imagine", "variation", "upscale", "customzoom", "describe", "info", "settings", "remix"]

# TODO(fidelity): steps whose emulator feature is still being written (a failure then xfails instead of failing).
# Empty since the bot extension (V/U/zoom/describe/info/settings) landed: every step is a hard requirement.
PENDING_STEPS: frozenset[str] = frozenset()

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
KEYCAPS = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3")


# --- running the client ----------------------------------------------------------------------------------------


@dataclass
class ClientRun:
    emu: Emulator
    returncode: int | None
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    results: dict[str, dict[str, Any]]
    workarounds: list[str] = field(default_factory=list)

    def step(self, name: str) -> dict[str, Any]:
        """The step's result; failures of pending steps xfail, any other failure fails with the evidence."""
        result = self.results.get(name)
        if result is not None and result.get("ok"):
            return result
        if result is None:
            why, events = "no result line (client crashed or timed out)", []
        else:
            why, events = str(result.get("error", "")), list(result.get("events") or [])
        if name in PENDING_STEPS:
            seen = " ".join(str(e.get("t")) for e in events)
            pytest.xfail(f"emulator feature pending: {why} | gateway saw: {seen[:300]}")
        pytest.fail(
            f"npm client step {name!r} failed: {why}\n--- gateway dispatches the client saw during the step ---\n"
            + "\n".join(json.dumps(e, ensure_ascii=False) for e in events[-40:])
            + f"\n--- client stderr (tail) ---\n{self.stderr[-3000:]}"
        )


def _missing_prerequisite() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed; the npm-client fidelity test needs Node >= 18"
    if not PACKAGE.is_file():
        return f"npm package not installed in {NODE_DIR}; run `bash tests/fidelity/install.sh`"
    return None


def _midjourney_only_guild(emu: Emulator) -> list[str]:
    """The package's README setup: a server where the Midjourney bot is the only app installed.

    Real Discord lists every installed app's commands in a guild's index; the package caches that index by
    command name, last one wins (command.js `allCommand`), so with niji also installed niji's /imagine would
    replace Midjourney's and the package would drop niji's answers (discord.ws.js `onMessageCreate`). The
    sandbox installs all three bots, so this test installs only Midjourney's, as the package requires.
    """
    emu.config.index_applications = [MJ_BOT_ID]
    return ["guild with the Midjourney bot only (index_applications)"]


async def _run_client(profile: Profile) -> ClientRun:
    emu = Emulator(EmulatorConfig(job_duration_s=JOB_DURATION_S, profile=profile))
    await emu.start(host="127.0.0.1", port=0)
    try:
        workarounds = _midjourney_only_guild(emu)
        sandbox = emu.sandbox
        env = {
            **os.environ,
            "MJ_BASE_URL": emu.base_url,
            "MJ_WS_URL": f"{emu.gateway_url}/?encoding=json&v=9",
            "MJ_SERVER_ID": sandbox.guild_id,
            "MJ_CHANNEL_ID": sandbox.channel_id,
            "MJ_TOKEN": sandbox.token,
            "MJ_PROMPT": PROMPT,
            "MJ_STEPS": ",".join(ALL_STEPS),
            "MJ_STEP_TIMEOUT_MS": str(STEP_TIMEOUT_MS),
            "MJ_TOTAL_TIMEOUT_MS": str(int((NODE_TIMEOUT_S - 5) * 1000)),
        }
        proc = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), cwd=str(NODE_DIR), env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), NODE_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            out, err = await proc.communicate()
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        results: dict[str, dict[str, Any]] = {}
        for line in stdout.splitlines():
            if line.startswith(RESULT_PREFIX):
                record = json.loads(line[len(RESULT_PREFIX):])
                results[str(record["step"])] = record
        return ClientRun(emu, proc.returncode, stdout, stderr, results, workarounds)
    finally:
        await emu.stop()


# Both message profiles (midjourney-bot.md §16): legacy finals carry no nonce/interaction, modern ones do.
@pytest.fixture(scope="module", params=PROFILES)
def run(request: pytest.FixtureRequest) -> Iterator[ClientRun]:
    missing = _missing_prerequisite()
    if missing is not None:
        pytest.skip(missing)
    version = json.loads(PACKAGE.read_text("utf-8"))["version"]
    assert version == PINNED_VERSION, f"installed midjourney {version}, expected {PINNED_VERSION}: rerun install.sh"
    # A sync module fixture owning its own loop: the emulator and the client live only inside this call.
    yield asyncio.run(_run_client(request.param))


# --- helpers over the emulator's records --------------------------------------------------------------------------


def job_with_final(emu: Emulator, message_id: str) -> Job:
    jobs = [j for j in emu.jobs if j.final_message_id == message_id]
    assert len(jobs) == 1, f"emulator has {len(jobs)} jobs whose final message is {message_id}: {emu.jobs}"
    return jobs[0]


def stored(emu: Emulator, message_id: str) -> dict[str, Any]:
    message = emu.world.state.find_message(emu.sandbox.channel_id, message_id)
    assert message is not None, f"message {message_id} not in the emulator's channel"
    return message.data


def plain(content: str) -> str:
    """Content without the modern profile's website link and `-#` trailer (midjourney-bot.md §7, §8)."""
    content = re.sub(r"\n-# .*$", "", content, flags=re.S)
    return re.sub(r" \[\(Open on website for full quality\)\]\(<[^>]*>\)", "", content)


def labels(options: list[dict[str, Any]]) -> dict[str, str]:
    return {str(o.get("label")): str(o.get("custom")) for o in options}


def progress_values(loading: list[dict[str, Any]]) -> list[int]:
    values = []
    for entry in loading:
        m = re.fullmatch(r"(\d{1,3})%", str(entry["progress"]))
        assert m, f"loading callback got a non-percent progress {entry['progress']!r}"
        values.append(int(m.group(1)))
    return values


def assert_progress(loading: list[dict[str, Any]], emu: Emulator) -> None:
    values = progress_values(loading)
    assert len(values) >= 2, f"loading callback called {len(values)} times: {loading}"
    assert values == sorted(values) and len(set(values)) == len(values), f"progress did not rise: {values}"
    assert all(0 < v < 100 for v in values)
    for entry in loading:
        uri = str(entry["uri"])
        assert uri.startswith(emu.base_url + "/") and ".webp" in uri.split("?")[0], f"bad preview uri {uri}"


def assert_grid(message: dict[str, Any], emu: Emulator) -> Job:
    """A finished grid as the package reports it, matching the emulator's job record."""
    job = job_with_final(emu, message["id"])
    assert job.status == "done"
    assert message["hash"] == job.job_id and re.fullmatch(UUID_RE, message["hash"])
    assert message["progress"] == "done"
    assert message["uri"].split("?")[0].endswith(f"_{job.job_id}.png")
    assert message["uri"].startswith(emu.base_url + "/attachments/")
    opts = labels(message["options"])
    for i in range(1, 5):
        assert opts.get(f"U{i}") == f"MJ::JOB::upsample::{i}::{job.job_id}"
        assert opts.get(f"V{i}") == f"MJ::JOB::variation::{i}::{job.job_id}"
    return job


def assert_lineage(job: Job, action: str, parent_hash: str, index: int | None = None) -> None:
    """The emulator's own record of what the click did (fields read defensively: the Job shape is evolving)."""
    assert getattr(job, "action", action) == action, f"job {job.job_id} is a {getattr(job, 'action', '?')}"
    assert getattr(job, "parent_job_id", parent_hash) == parent_hash
    if index is not None:
        assert getattr(job, "index", index) == index


def assert_replies_to(emu: Emulator, message_id: str, source_id: str) -> None:
    data = stored(emu, message_id)
    ref = data.get("message_reference") or {}
    assert ref.get("message_id") == source_id, f"message {message_id} does not reply to {source_id}: {ref}"
    assert data.get("type") == 19


# --- the steps ----------------------------------------------------------------------------------------------------


def test_client_connects(run: ClientRun) -> None:
    result = run.step("connect")
    assert result["user_id"] == run.emu.sandbox.user_id


def test_imagine_with_progress(run: ClientRun) -> None:
    result = run.step("imagine")
    emu, uid = run.emu, run.emu.sandbox.user_id
    message = result["message"]
    job = assert_grid(message, emu)
    assert job.command == "imagine" and job.prompt == PROMPT and job.user_id == uid
    assert plain(message["content"]) == f"**{job.final_prompt}** - <@{uid}> (fast)"
    assert message["width"] == message["height"] == emu.config.grid_size
    assert_progress(result["loading"], emu)
    # The previews the client saw are this job's (`<uuid>_grid_0.webp`).
    assert all(f"/{job.job_id}_grid_0.webp" in str(e["uri"]) for e in result["loading"])
    data = stored(emu, message["id"])
    assert data["author"]["id"] == MJ_BOT_ID


def test_variation_v1(run: ClientRun) -> None:
    result = run.step("variation")
    emu = run.emu
    grid = run.results["imagine"]["message"]
    message = result["message"]
    job = assert_grid(message, emu)
    assert job.job_id != grid["hash"]
    assert_lineage(job, "variation", grid["hash"], 1)
    assert re.fullmatch(rf"\*\*{re.escape(job.final_prompt)}\*\* - Variations( \(\w+\))? by <@{emu.sandbox.user_id}> "
                        r"\(fast\)", plain(message["content"])), message["content"]
    assert_replies_to(emu, message["id"], grid["id"])
    assert_progress(result["loading"], emu)


def test_upscale_u1(run: ClientRun) -> None:
    result = run.step("upscale")
    emu = run.emu
    grid = run.results["imagine"]["message"]
    message = result["message"]
    job = job_with_final(emu, message["id"])
    assert message["hash"] == job.job_id != grid["hash"]
    assert_lineage(job, "upscale", grid["hash"], 1)
    assert message["uri"].split("?")[0].endswith(f"_{job.job_id}.png")
    prompt = run.results["imagine"]["message"]["content"].split("**")[1]
    assert plain(message["content"]) == f"**{prompt}** - Image #1 <@{emu.sandbox.user_id}>"
    assert_replies_to(emu, message["id"], grid["id"])
    opts = labels(message["options"])
    assert opts.get("Custom Zoom") == f"MJ::CustomZoom::{job.job_id}", opts


def test_custom_zoom_on_upscale(run: ClientRun) -> None:
    result = run.step("customzoom")
    emu = run.emu
    message = result["message"]
    job = assert_grid(message, emu)
    assert "--zoom 2" in job.final_prompt
    assert re.fullmatch(rf"\*\*{re.escape(job.final_prompt)}\*\* - Zoom Out by <@{emu.sandbox.user_id}> \(fast\)",
                        plain(message["content"])), message["content"]
    assert job.job_id != run.results["upscale"]["message"]["hash"]
    assert_lineage(job, "custom_zoom", run.results["upscale"]["message"]["hash"])
    assert job.prompt == result["submitted"]  # the modal value the package submitted
    assert_progress(result["loading"], emu)


def test_describe_image(run: ClientRun) -> None:
    result = run.step("describe")
    descriptions = result["descriptions"]
    assert isinstance(descriptions, list) and len(descriptions) == 4, descriptions
    for keycap, text in zip(KEYCAPS, descriptions, strict=True):
        assert text.strip().startswith(keycap + " ") and len(text.strip()) > len(keycap) + 1, text
    opts = {str(o.get("custom")) for o in result["options"]}
    assert {f"MJ::Job::PicReader::{n}" for n in range(1, 5)} <= opts, opts
    # The embed's image is the uploaded input, served by the emulator's CDN (fetched by the client script).
    assert result["uri"] and result["uri"].startswith(run.emu.base_url + "/"), result["uri"]
    fetched = result["fetched"]
    assert fetched["status"] == 200 and fetched["content_type"].startswith("image/") and fetched["bytes"] > 0


def test_info(run: ClientRun) -> None:
    result = run.step("info")
    info = result["info"]
    for key in ("subscription", "jobMode", "visibilityMode", "fastTimeRemaining", "lifetimeUsage",
                "queuedJobsFast", "queuedJobsRelax", "runningJobs"):
        assert info.get(key), f"/info field {key} empty in {info}"
    assert info["jobMode"] in ("Fast", "Relaxed", "Turbo")


def test_settings(run: ClientRun) -> None:
    """`client.init()` = Connect() + this round trip; it reads remix state from the "Remix mode" button style."""
    result = run.step("settings")
    assert "Remix mode" in labels(result["options"])
    assert result["remix_style"] in (2, 3)


def test_remix_variation(run: ClientRun) -> None:
    """/prefer remix, init() detecting it from /settings, then V2 through the remix modal the package answers."""
    result = run.step("remix")
    emu = run.emu
    grid = run.results["imagine"]["message"]
    assert str(result["switched"]).startswith("Remix mode turned on!")
    message = result["message"]
    job = assert_grid(message, emu)
    assert job.prompt == result["submitted"]
    assert_lineage(job, "variation", grid["hash"], 2)
    assert re.fullmatch(rf"\*\*{re.escape(job.final_prompt)}\*\* - Remix( \(\w+\))? by <@{emu.sandbox.user_id}> "
                        r"\(fast\)", plain(message["content"])), message["content"]
    assert_replies_to(emu, message["id"], grid["id"])
    assert_progress(result["loading"], emu)


def test_no_unexpected_failures(run: ClientRun) -> None:
    """Whole-run check: every step not pending passed and nothing crashed the client."""
    missing = [s for s in ALL_STEPS if s not in run.results]
    assert not missing, f"no result for {missing}; rc={run.returncode}\n{run.stderr[-3000:]}"
    broken = {s: r.get("error") for s, r in run.results.items() if not r.get("ok") and s not in PENDING_STEPS
              and s != "end"}
    assert not broken, broken


# --- the command index, as the package sees it -------------------------------------------------------------------


async def test_guild_index_lists_the_installed_apps_and_one_imagine_per_app() -> None:
    """Like Discord, the index holds the commands of the apps installed in the guild; with only the Midjourney
    bot installed (the package's setup) /imagine is offered once, by Midjourney."""
    emu = Emulator(EmulatorConfig(job_duration_s=0))
    await emu.start(host="127.0.0.1", port=0)
    try:
        s = emu.sandbox
        async with httpx.AsyncClient(base_url=emu.base_url) as http:
            everything = await http.get(f"/api/v9/guilds/{s.guild_id}/application-command-index",
                                        headers={"authorization": s.token})
            _midjourney_only_guild(emu)
            only_mj = await http.get(f"/api/v9/guilds/{s.guild_id}/application-command-index",
                                     headers={"authorization": s.token})
        members = set(emu.world.state.guilds[s.guild_id].member_ids)
        apps = {c["application_id"] for c in everything.json()["application_commands"]}
        assert MJ_BOT_ID in apps and apps <= members
        imagines = [c["application_id"] for c in only_mj.json()["application_commands"] if c["name"] == "imagine"]
        assert imagines == [MJ_BOT_ID]
    finally:
        await emu.stop()
