"""The client commands (``mjproxy imagine``, ``action``, ``describe`` …): a thin layer on ``mjproxy.client``.

They talk to a running server over HTTP (``--url`` / ``MJPROXY_URL``, ``--key`` / ``MJPROXY_KEY``), print
for people (Rich) or, with ``--json``, one JSON document for scripts, and end with an exit code that says
what failed (``EXIT_CODES``, docs/cli.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.markup import escape

from ..client import (
    ApiError,
    AuthenticationError,
    BannedPrompt,
    Client,
    ConnectionFailed,
    InvalidRequestError,
    MjproxyError,
    NoAccountAvailable,
    NotFoundError,
    PermissionDenied,
    QueueFull,
    SubmitFailed,
    SubmitResult,
    Task,
    TaskStatus,
    WaitTimeout,
)
from . import render

P = ParamSpec("P")
R = TypeVar("R")

# What each exit code means; docs/cli.md shows the same table.
EXIT_CODES = {
    0: "done (the task succeeded, or the request was carried out)",
    1: "the task ended FAILURE (Midjourney or the server refused it after submission)",
    2: "bad command line (unknown option, missing argument)",
    3: "the task was cancelled",
    4: "the server refused the request as invalid (code 4, HTTP 400/422), or no such button",
    5: "missing or wrong key (HTTP 401/403)",
    6: "no such task or account (HTTP 404)",
    7: "no account can take the job now (code 3, 23 queue full, 9)",
    8: "the prompt has a banned word (code 24)",
    9: "timed out waiting for the task",
    10: "cannot reach the server",
    11: "the server failed (HTTP 5xx) or answered something else",
}
EXIT_FOR_STATUS = {TaskStatus.SUCCESS: 0, TaskStatus.FAILURE: 1, TaskStatus.CANCEL: 3}

UrlOption = Annotated[str, typer.Option("--url", envvar="MJPROXY_URL", help="The server",
                                        show_default=True)]
KeyOption = Annotated[str | None, typer.Option("--key", envvar="MJPROXY_KEY", show_default=False,
                                               help="API key or secret (sent as Authorization: Bearer)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document (for scripts)")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Save the image(s) into this directory",
                                                file_okay=False)]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the task to its end")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the task")]
ModeOption = Annotated[str | None, typer.Option("--mode", help="fast, relax or turbo", show_default=False)]
NijiOption = Annotated[bool, typer.Option("--niji", help="Run on the niji・journey bot")]
DEFAULT_URL = "http://127.0.0.1:8080"


def _exit_code(exc: MjproxyError) -> int:
    kinds: list[tuple[type[MjproxyError], int]] = [
        (ConnectionFailed, 10), (WaitTimeout, 9), (AuthenticationError, 5), (PermissionDenied, 5),
        (NotFoundError, 6), (InvalidRequestError, 4), (BannedPrompt, 8), (NoAccountAvailable, 7),
        (QueueFull, 7), (SubmitFailed, 7)]
    return next((code for kind, code in kinds if isinstance(exc, kind)), 11)


def _fail(message: str, exit_code: int, as_json: bool, **details: Any) -> typer.Exit:
    if as_json:
        render.emit_json({"error": message, "exit": exit_code, **details})
    render.err.print(f"[bold red]mjproxy: {escape(message)}[/]")
    return typer.Exit(exit_code)


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turns the SDK's exceptions into a message on stderr (and JSON with --json) and the exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json"))
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            raise _fail(str(exc), _exit_code(exc), as_json, status=exc.status, code=exc.code) from None
        except WaitTimeout as exc:
            raise _fail(str(exc), 9, as_json, task=render.task_json(exc.task) if exc.task else None) from None
        except MjproxyError as exc:
            raise _fail(str(exc), _exit_code(exc), as_json) from None
        except KeyError as exc:  # Task.button: no such button; the message lists those the task has
            raise _fail(str(exc.args[0]), 4, as_json) from None

    return run


@contextmanager
def connected(url: str, key: str | None) -> Iterator[Client]:
    with Client(url, key=key or None) as mj:
        yield mj


def _mode(value: str | None) -> Literal["fast", "relax", "turbo"] | None:
    if value is None:
        return None
    if value not in ("fast", "relax", "turbo"):
        raise typer.BadParameter("must be fast, relax or turbo", param_hint="--mode")
    return value  # type: ignore[return-value]


def follow(mj: Client, result: SubmitResult, *, wait: bool, timeout: float, out: Path | None,
           as_json: bool) -> None:
    """After a submission: print the task id, or wait with a progress bar, save the images, show the task."""
    if not wait:
        if as_json:
            render.emit_json(result.model_dump(by_alias=True))
        else:
            render.out.print(result.task_id)
        return
    finish(mj, result.task_id, timeout=timeout, out=out, as_json=as_json)


def finish(mj: Client, task_id: str, *, timeout: float, out: Path | None, as_json: bool) -> None:
    with render.progress_bar(not as_json) as on_update:
        task = mj.wait(task_id, timeout=timeout, on_update=on_update)
    files = render.save_images(mj, task, out) if out is not None and task.status == TaskStatus.SUCCESS else None
    if as_json:
        render.emit_json(render.task_json(task, files))
    else:
        render.show_task(task, files)
    code = EXIT_FOR_STATUS[task.status]
    if code:
        raise typer.Exit(code)


# -- submit commands -------------------------------------------------------------------------------------------


@handled
def imagine(prompt: Annotated[str, typer.Argument(help="The prompt, with any Midjourney parameters")],
            image: Annotated[list[Path] | None, typer.Option("--image", "-i", exists=True, dir_okay=False,
                                                             help="An image prompt (repeatable)")] = None,
            out: OutOption = None, wait: WaitOption = True, timeout: TimeoutOption = 600.0,
            mode: ModeOption = None, niji: NijiOption = False, url: UrlOption = DEFAULT_URL,
            key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Create a grid from a prompt; with --out, save the grid and its four images."""
    with connected(url, key) as mj:
        result = mj.imagine(prompt, image or [], mode=_mode(mode), bot_type="NIJI_JOURNEY" if niji else None)
        follow(mj, result, wait=wait, timeout=timeout, out=out, as_json=as_json)


@handled
def action(task_id: Annotated[str, typer.Argument(help="The task whose button to press")],
           button: Annotated[str, typer.Argument(help="Label, emoji or customId: U2, V1, 🔄, 'Vary (Strong)', "
                                                       "'Zoom Out 2x', ⬅️ … (see `mjproxy task ID`)")],
           prompt: Annotated[str | None, typer.Option(help="For a two-step button (Custom Zoom, remix, "
                                                           "Vary (Region)): the prompt to confirm with")] = None,
           mask: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                     help="Vary (Region): the PNG mask, white = repaint")] = None,
           out: OutOption = None, wait: WaitOption = True, timeout: TimeoutOption = 600.0,
           url: UrlOption = DEFAULT_URL, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Press a button of a finished task; a two-step one is confirmed at once (with --prompt / --mask)."""
    with connected(url, key) as mj:
        result = mj.press(mj.fetch(task_id), button)
        if result.needs_modal:
            result = mj.modal(result.task_id, prompt, mask=mask)
        follow(mj, result, wait=wait, timeout=timeout, out=out, as_json=as_json)


@handled
def describe(image: Annotated[str, typer.Argument(help="An image file, or an http(s) link to one")],
             wait: WaitOption = True, timeout: TimeoutOption = 600.0, url: UrlOption = DEFAULT_URL,
             key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Four prompts that describe an image."""
    with connected(url, key) as mj:
        if image.startswith(("http://", "https://")):
            result = mj.describe(link=image)
        else:
            path = Path(image)
            if not path.is_file():
                raise typer.BadParameter(f"no such file: {image}", param_hint="IMAGE")
            result = mj.describe(path)
        follow(mj, result, wait=wait, timeout=timeout, out=None, as_json=as_json)


@handled
def blend(images: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="2 to 5 image files")],
          dimensions: Annotated[str, typer.Option(help="PORTRAIT, SQUARE or LANDSCAPE")] = "SQUARE",
          out: OutOption = None, wait: WaitOption = True, timeout: TimeoutOption = 600.0,
          url: UrlOption = DEFAULT_URL, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Blend 2 to 5 images into a grid."""
    shape = dimensions.upper()
    if shape not in ("PORTRAIT", "SQUARE", "LANDSCAPE"):
        raise typer.BadParameter("must be PORTRAIT, SQUARE or LANDSCAPE", param_hint="--dimensions")
    with connected(url, key) as mj:
        result = mj.blend(images, dimensions=shape)  # type: ignore[arg-type]
        follow(mj, result, wait=wait, timeout=timeout, out=out, as_json=as_json)


@handled
def shorten(prompt: Annotated[str, typer.Argument(help="The prompt to analyse")], wait: WaitOption = True,
            timeout: TimeoutOption = 600.0, url: UrlOption = DEFAULT_URL, key: KeyOption = None,
            as_json: JsonOption = False) -> None:
    """Analyse a prompt and propose five shorter ones."""
    with connected(url, key) as mj:
        follow(mj, mj.shorten(prompt), wait=wait, timeout=timeout, out=None, as_json=as_json)


# -- task commands ---------------------------------------------------------------------------------------------


@handled
def wait(task_id: Annotated[str, typer.Argument(help="The task to follow")], out: OutOption = None,
         timeout: TimeoutOption = 600.0, url: UrlOption = DEFAULT_URL, key: KeyOption = None,
         as_json: JsonOption = False) -> None:
    """Follow a task to its end with a progress bar (the exit code says how it ended)."""
    with connected(url, key) as mj:
        finish(mj, task_id, timeout=timeout, out=out, as_json=as_json)


@handled
def task(task_id: Annotated[str, typer.Argument(help="The task")], out: OutOption = None,
         url: UrlOption = DEFAULT_URL, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """One task: status, prompt, images and every button it has."""
    with connected(url, key) as mj:
        found = mj.fetch(task_id)
        files = render.save_images(mj, found, out) if out is not None else None
        if as_json:
            render.emit_json(render.task_json(found, files))
        else:
            render.show_task(found, files)


@handled
def tasks(page: Annotated[int, typer.Option(min=1, help="Page, from 1")] = 1,
          size: Annotated[int, typer.Option(min=1, max=1000, help="Tasks per page")] = 20,
          queue: Annotated[bool, typer.Option("--queue", help="Only waiting and running tasks")] = False,
          url: UrlOption = DEFAULT_URL, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Tasks, newest first (a user key sees only its own)."""
    with connected(url, key) as mj:
        if queue:
            found: list[Task] = mj.queue()
            title = f"{len(found)} waiting or running"
        else:
            listed = mj.list_tasks(page, size)
            found, title = listed.tasks, f"page {page}: {len(listed.tasks)} of {listed.total} tasks"
        if as_json:
            render.emit_json([render.task_json(t) for t in found])
        else:
            render.show_tasks(found, title)


@handled
def cancel(task_id: Annotated[str, typer.Argument(help="The task to cancel")], url: UrlOption = DEFAULT_URL,
           key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Cancel a waiting, running or MODAL task."""
    with connected(url, key) as mj:
        result = mj.cancel(task_id)
        if as_json:
            render.emit_json(result.model_dump(by_alias=True))
        else:
            render.out.print(f"cancelled {task_id}")


@handled
def accounts(url: UrlOption = DEFAULT_URL, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """The Discord accounts and their health (needs an admin key)."""
    with connected(url, key) as mj:
        found = mj.accounts()
        if as_json:
            render.emit_json([a.model_dump(by_alias=True) for a in found])
        else:
            render.show_accounts(found)


COMMANDS: list[Callable[..., None]] = [imagine, action, describe, blend, shorten, wait, task, tasks, cancel,
                                       accounts]


def register(app: typer.Typer) -> None:
    for command in COMMANDS:
        app.command(command.__name__, rich_help_panel="Client (talks to a server)")(command)
