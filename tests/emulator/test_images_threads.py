"""Grids are rendered in worker threads, several at once: each thread must draw with its own font object
(a FreeType face shared between threads corrupts memory - it crashed the test run with a segfault)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from mjproxy.emulator import images


def test_each_thread_gets_its_own_font_object() -> None:
    main = images._font(64)
    assert main is images._font(64)  # cached within a thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(images._font, 64).result()
    assert other is not main


def test_concurrent_renders_equal_serial_renders() -> None:
    def digest(n: int) -> str:
        return hashlib.sha256(images.render_grid(f"prompt {n % 4}", 7, 256, 256).tobytes()).hexdigest()

    serial = [digest(n) for n in range(4)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(digest, range(48)))
    assert concurrent == [serial[n % 4] for n in range(48)]
