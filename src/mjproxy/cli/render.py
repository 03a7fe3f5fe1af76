"""How the client commands show things: Rich tables and panels for people, JSON for scripts, files on disk."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..client import Account, Client, Task, TaskStatus

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

STATUS_STYLE = {"SUCCESS": "green", "FAILURE": "red", "CANCEL": "yellow", "IN_PROGRESS": "cyan",
                "SUBMITTED": "blue", "MODAL": "magenta", "NOT_START": "dim"}


def emit_json(value: Any) -> None:
    """One JSON document on stdout, nothing else (Rich would wrap and colour it)."""
    print(json.dumps(value, ensure_ascii=False, indent=2))


def task_json(task: Task, files: list[Path] | None = None) -> dict[str, Any]:
    body = task.model_dump(by_alias=True, exclude={"image_base64"})
    if files is not None:
        body["files"] = [str(path) for path in files]
    return body


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def status_text(task: Task) -> str:
    style = STATUS_STYLE.get(task.status.value, "")
    progress = f" {task.progress}" if task.progress and task.status == TaskStatus.IN_PROGRESS else ""
    return f"[{style}]{task.status.value}[/]{progress}"


def show_task(task: Task, files: list[Path] | None = None) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")  # links and prompts in full, never cut with an ellipsis
    rows: list[tuple[str, str]] = [
        ("action", task.action), ("status", status_text(task)), ("prompt", escape(task.prompt)),
        ("submitted", _time(task.submit_time)), ("finished", _time(task.finish_time)),
        ("parent", task.parent_id or ""), ("image", escape(task.image_url or "")),
        ("fail reason", f"[red]{escape(task.fail_reason)}[/]" if task.fail_reason else ""),
    ]
    if task.action in ("DESCRIBE", "SHORTEN") and task.final_prompt:
        rows.append(("result", escape(task.final_prompt)))
    rows += [(f"image {image.index}", escape(image.url)) for image in task.image_urls]
    if task.buttons:
        rows.append(("buttons", escape("  ".join(b.name for b in task.buttons))))
    rows += [("saved", escape(str(path))) for path in files or []]
    for name, value in rows:
        if value:
            grid.add_row(name, value)
    out.print(Panel(grid, title=f"task {task.id}", title_align="left", expand=False))


def show_tasks(tasks: list[Task], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("id", "action", "status"):
        table.add_column(name, no_wrap=True)
    table.add_column("prompt", overflow="fold")
    table.add_column("submitted", no_wrap=True)
    for task in tasks:
        prompt = task.prompt if len(task.prompt) <= 60 else task.prompt[:59] + "…"
        table.add_row(task.id, task.action, status_text(task), escape(prompt), _time(task.submit_time))
    out.print(table)


def show_accounts(accounts: list[Account]) -> None:
    table = Table()
    table.add_column("account", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("running/queued", no_wrap=True, justify="right")
    table.add_column("today", no_wrap=True, justify="right")
    table.add_column("modes")
    table.add_column("reason", overflow="fold")
    for account in accounts:
        style = "green" if account.state == "ready" else "yellow" if account.state == "disabled" else "red"
        table.add_row(f"{escape(account.name)}\n[dim]{account.id}[/]", f"[{style}]{account.state}[/]",
                      f"{account.running}/{account.queued}", str(account.jobs_today),
                      " ".join(mode.lower() for mode in account.modes), escape(account.reason or ""))
    out.print(table)


@contextmanager
def progress_bar(show: bool) -> Iterator[Callable[[Task], None]]:
    """An ``on_update`` for ``wait()`` that moves a progress bar on stderr (or does nothing)."""
    if not show:
        yield lambda task: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        bar = progress.add_task("waiting", total=100)

        def update(task: Task) -> None:
            progress.update(bar, completed=task.progress_percent, description=f"{task.id} {status_text(task)}")

        yield update


def _extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data.startswith(b"GIF8"):
        return "gif"
    return "bin"


def _write(directory: Path, stem: str, data: bytes) -> Path:
    path = directory / f"{stem}.{_extension(data)}"
    path.write_bytes(data)
    return path


def has_grid(task: Task) -> bool:
    return {"U1", "U2", "U3", "U4"} <= {button.label for button in task.buttons}


def save_images(mj: Client, task: Task, directory: Path) -> list[Path]:
    """The task's image as ``<id>.<ext>`` and, for a grid, its four images as ``<id>-1`` … ``<id>-4``.

    The four come from the server's stored split (``imageUrls``); a server that does not re-host images has
    none, and the grid is then cut into four here.
    """
    if not task.image_url:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    grid = mj.download(task.image_url)
    files = [_write(directory, task.id, grid)]
    if task.image_urls:
        files += [_write(directory, f"{task.id}-{image.index}", mj.download(image.url))
                  for image in sorted(task.image_urls, key=lambda image: image.index)]
    elif has_grid(task):
        files += [_write(directory, f"{task.id}-{index}", part) for index, part in enumerate(split(grid), start=1)]
    return files


def split(grid: bytes) -> list[bytes]:
    """A 2×2 grid as its four PNG images, in U1..U4 order (left to right, top to bottom)."""
    from PIL import Image

    image = Image.open(io.BytesIO(grid))
    width, height = image.size[0] // 2, image.size[1] // 2
    parts = []
    for top, left in ((0, 0), (0, width), (height, 0), (height, width)):
        buffer = io.BytesIO()
        image.crop((left, top, left + width, top + height)).save(buffer, "PNG")
        parts.append(buffer.getvalue())
    return parts
