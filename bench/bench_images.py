"""(g) Split + thumbnails of a 2048×2048 grid: time per task, and resident memory over 1,000 tasks.

Each task runs what the re-hosting pipeline runs after the download: decode the grid, cut its four
quadrants into lossless PNGs, and make five WebP thumbnails (the grid and each quadrant), in a worker
thread as the server does. With ``--store`` the results are also written to a local image directory
(and deleted again, so 1,000 tasks do not fill the disk), which adds the storage cost.

Memory: RSS is read after a warm-up of 50 tasks and then every 100 tasks; a leak would show as steady
growth. Target: < 250 ms per task on this machine, and no growth over 1,000 tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import rss_mb
from PIL import Image, ImageFilter

from mjproxy.domain.task import TaskAction
from mjproxy.emulator.images import make_grid_png
from mjproxy.engine.images import GRID_ACTIONS
from mjproxy.media.render import render
from mjproxy.media.storage import LocalStorage

WARMUP = 50


def photo_like_grid(seed: int, size: int) -> bytes:
    """The emulator's grid with fine grain. Its flat synthetic shapes alone compress ~30× better than a
    real Midjourney grid (a 2048² PNG of roughly 5–8 MB), and PNG encoding time follows the entropy."""
    grid, _ = make_grid_png(f"benchmark grid {seed}", seed, size, size)
    grain = Image.merge("RGB", [Image.effect_noise((size, size), 40 + 5 * band) for band in range(3)])
    buffer = io.BytesIO()
    Image.blend(grid.convert("RGB"), grain.filter(ImageFilter.GaussianBlur(1)), 0.35).save(buffer, "PNG")
    return buffer.getvalue()


async def store(storage: LocalStorage, task_id: str, data: bytes, size: int, split_format: str) -> None:
    rendered = await asyncio.to_thread(render, data, split=True, thumbnail_size=size, thumbnail_quality=80,
                                       split_format=split_format)
    items = [("image.png", rendered.original), ("image.thumb.webp", rendered.thumbnail)]
    for index, (part, thumb) in enumerate(rendered.parts, start=1):
        items += [(f"{index}.png", part), (f"{index}.thumb.webp", thumb)]
    await asyncio.gather(*(storage.put(f"{task_id}/t/{name}", item.data, item.content_type) for name, item in items))
    await storage.delete_task(task_id)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2048, help="grid side, pixels")
    parser.add_argument("--thumbnail", type=int, default=256)
    parser.add_argument("--format", choices=["png", "webp"], default="webp",
                        help="split image format (images.split_format)")
    parser.add_argument("--store", action="store_true", help="also write to (and delete from) a local directory")
    args = parser.parse_args()
    assert TaskAction.IMAGINE in GRID_ACTIONS

    grids = [photo_like_grid(seed, args.size) for seed in range(4)]
    print(f"grid {args.size}×{args.size}: {len(grids[0]) / 1e6:.1f} MB PNG; {args.tasks} tasks; "
          f"split as {args.format}; thumbnails {args.thumbnail} px; store={args.store}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-images-"))
    storage = LocalStorage(workdir)
    durations: list[float] = []
    cpu: list[float] = []
    readings: list[tuple[int, float]] = []
    pid = os.getpid()
    for number in range(1, args.tasks + 1):
        data = grids[number % len(grids)]
        started, started_cpu = time.perf_counter(), time.process_time()
        if args.store:
            await store(storage, f"{number:016d}", data, args.thumbnail, args.format)
        else:
            await asyncio.to_thread(render, data, split=True, thumbnail_size=args.thumbnail, thumbnail_quality=80,
                                    split_format=args.format)
        durations.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        if number == WARMUP or (number > WARMUP and number % 100 == 0):
            readings.append((number, rss_mb(pid)))
    timed = sorted(durations[WARMUP:] if len(durations) > WARMUP else durations)
    p50 = statistics.median(timed) * 1000
    p99 = timed[min(len(timed) - 1, int(len(timed) * 0.99))] * 1000
    print(f"per task: mean {statistics.fmean(timed) * 1000:.1f} ms, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"max {timed[-1] * 1000:.1f} ms  (target < 250 ms)")
    print(f"CPU per task (all threads): mean {statistics.fmean(cpu[WARMUP:] or cpu) * 1000:.1f} ms; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("RSS (MB) by task: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in readings))
    if len(readings) >= 2:
        print(f"RSS growth after warm-up: {readings[-1][1] - readings[0][1]:+.1f} MB over "
              f"{readings[-1][0] - readings[0][0]} tasks")


if __name__ == "__main__":
    asyncio.run(main())
