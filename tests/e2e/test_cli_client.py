"""The client commands (``mjproxy imagine`` …) against a live sandbox server: output, files and exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from mjproxy.cli import app
from mjproxy.cli.client import EXIT_CODES
from mjproxy.client import Client, Task, TaskStatus
from tests.e2e.harness import mask_data_url, png_data_url
from tests.e2e.process import SRC_DIR
from tests.e2e.threaded import ThreadedSandbox

ADMIN = "cli-admin-secret"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox(tmp_path_factory.mktemp("cli"), server={"admin_secret": ADMIN},
                         engine={"banned_words": ["forbidden"]}) as running:
        yield running


@pytest.fixture
def run(sandbox: ThreadedSandbox) -> Any:
    """``run("imagine", "a fox", "--json")`` → the Click result; server and key come from the environment."""
    runner = CliRunner()

    def invoke(*args: str, key: str | None = ADMIN) -> Result:
        env = {"MJPROXY_URL": sandbox.url, "MJPROXY_KEY": key or "", "COLUMNS": "160"}
        return runner.invoke(app, list(args), env=env)

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def write_png(path: Path, width: int = 64, height: int = 64) -> Path:
    path.write_bytes(base64.b64decode(png_data_url(width, height).split(",", 1)[1]))
    return path


def test_imagine_saves_the_grid_and_its_four_images(run: Any, tmp_path: Path) -> None:
    result = run("imagine", "a red fox in the snow --ar 3:2", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 5 and any(name.endswith(".png") for name in files)
    task_id = files[-1].split(".")[0]
    assert {f"{task_id}-{i}.webp" for i in range(1, 5)} <= set(files)
    assert Image.open(tmp_path / "out" / f"{task_id}-1.webp").size[0] > 0
    assert "SUCCESS" in result.stdout and "U1  U2  U3  U4" in result.stdout
    assert "100%" in result.stderr, "the progress bar reaches 100%"


def pressed_all(sandbox: ThreadedSandbox, run: Any, task: dict[str, Any], skip: set[str]) -> list[Task]:
    """Press every button of ``task`` through ``mjproxy action --no-wait`` at once, then wait for them all."""
    submitted = []
    for label in [b["label"] or b["emoji"] for b in task["buttons"]]:
        if label in skip:
            continue
        result = run("action", task["id"], label, "--no-wait", "--json")
        assert result.exit_code == 0, (label, result.output)
        submitted.append((label, as_json(result)["result"]))
    with Client(sandbox.url, key=ADMIN) as mj:
        finished = [mj.wait(task_id, timeout=60, poll_interval=0.05) for _, task_id in submitted]
    for (label, _), child in zip(submitted, finished, strict=True):
        assert child.status == TaskStatus.SUCCESS and child.parent_id == task["id"], (label, child.fail_reason)
    return finished


def test_imagine_json_then_every_button_of_the_grid(sandbox: ThreadedSandbox, run: Any, tmp_path: Path) -> None:
    grid = as_json(run("imagine", "a lighthouse", "--json"))
    assert grid["status"] == "SUCCESS" and grid["action"] == "IMAGINE"
    children = pressed_all(sandbox, run, grid, skip=set())
    assert [c.action for c in children] == ["UPSCALE"] * 4 + ["REROLL"] + ["VARIATION"] * 4
    upscale = as_json(run("action", grid["id"], "U2", "--json", "--out", str(tmp_path)))
    assert upscale["action"] == "UPSCALE" and len(upscale["files"]) == 1
    # Every button of an upscale, the two-step Custom Zoom confirmed with its pre-filled prompt.
    assert len(pressed_all(sandbox, run, upscale, skip={"Vary (Region)"})) >= 10
    mask = tmp_path / "mask.png"
    width, height = Image.open(upscale["files"][0]).size
    mask.write_bytes(base64.b64decode(mask_data_url(width, height).split(",", 1)[1]))
    region = run("action", upscale["id"], "Vary (Region)", "--mask", str(mask), "--prompt", "a lighthouse, storm",
                 "--json")
    assert region.exit_code == 0, region.output
    assert as_json(region)["action"] == "VARIATION"


def test_unknown_button_lists_those_the_task_has(run: Any) -> None:
    grid = as_json(run("imagine", "a pear", "--json"))
    result = run("action", grid["id"], "U9")
    assert result.exit_code == 4
    assert "has no button 'U9'" in result.stderr and "V4" in result.stderr


def test_describe_blend_and_shorten(run: Any, tmp_path: Path) -> None:
    described = run("describe", str(write_png(tmp_path / "cat.png", 96, 64)))
    assert described.exit_code == 0, described.output
    assert "1️⃣" in described.stdout and "DESCRIBE" in described.stdout
    by_link = as_json(run("describe", "https://example.org/images/cat.png", "--json"))
    assert "1️⃣" in by_link["properties"]["finalPrompt"]
    first, second = write_png(tmp_path / "a.png"), write_png(tmp_path / "b.png", 80, 80)
    blended = run("blend", str(first), str(second), "--dimensions", "portrait", "--out", str(tmp_path / "b"),
                  "--json")
    assert blended.exit_code == 0, blended.output
    assert as_json(blended)["action"] == "BLEND" and len(as_json(blended)["files"]) == 5
    assert run("blend", str(first)).exit_code == 4  # one image is not a blend
    shortened = as_json(run("shorten", "a very long prompt about a cat that sits on a wall in the sun", "--json"))
    assert shortened["action"] == "SHORTEN"


def test_task_tasks_wait_and_cancel(sandbox: ThreadedSandbox, run: Any) -> None:
    grid = as_json(run("imagine", "listed", "--json"))
    shown = run("task", grid["id"])
    assert shown.exit_code == 0 and grid["id"] in shown.stdout and "V1" in shown.stdout
    assert as_json(run("task", grid["id"], "--json"))["id"] == grid["id"]
    listed = run("tasks", "--size", "3")
    assert listed.exit_code == 0 and grid["id"] in listed.stdout and "of" in listed.stdout
    assert as_json(run("tasks", "--json", "--size", "1"))[0]["id"] == grid["id"]
    sandbox.emulator.config.job_duration_s = 30
    try:
        submitted = as_json(run("imagine", "slow", "--no-wait", "--json"))
        assert submitted["code"] == 1
        assert submitted["result"] in {t["id"] for t in as_json(run("tasks", "--queue", "--json"))}
        assert run("wait", submitted["result"], "--timeout", "0.3").exit_code == 9
        assert run("cancel", submitted["result"]).exit_code == 0
        waited = run("wait", submitted["result"], "--json")
        assert waited.exit_code == 3 and as_json(waited)["status"] == "CANCEL"
        assert run("cancel", submitted["result"]).exit_code == 4  # already finished
    finally:
        sandbox.emulator.config.job_duration_s = 0
    assert run("wait", grid["id"]).exit_code == 0


def test_accounts(sandbox: ThreadedSandbox, run: Any) -> None:
    shown = run("accounts")
    assert shown.exit_code == 0 and "ready" in shown.stdout
    (account,) = as_json(run("accounts", "--json"))
    assert account["channelId"] == sandbox.emulator.sandbox.channel_id and "…" in account["userToken"]
    assert sandbox.emulator.sandbox.token not in shown.stdout


def test_exit_codes_say_what_failed(sandbox: ThreadedSandbox, run: Any) -> None:
    failed = run("imagine", "a cat --size 3", "--json")
    assert failed.exit_code == 1 and "Invalid parameter" in as_json(failed)["failReason"]
    banned = run("imagine", "a forbidden thing", "--json")
    assert banned.exit_code == 8 and as_json(banned)["code"] == 24
    assert run("task", "404404").exit_code == 6
    denied = run("accounts", key=None)
    assert denied.exit_code == 5 and "401" in denied.stderr
    assert run("tasks", "--url", "http://127.0.0.1:9").exit_code == 10
    assert run("imagine", "x", "--mode", "warp").exit_code == 2
    assert set(EXIT_CODES) == set(range(12))


def test_the_installed_command_reads_its_environment(sandbox: ThreadedSandbox) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR), "MJPROXY_URL": sandbox.url, "MJPROXY_KEY": ADMIN}
    done = subprocess.run([sys.executable, "-m", "mjproxy", "imagine", "from a shell", "--json"], env=env,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["status"] == "SUCCESS"
