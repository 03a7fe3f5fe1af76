"""Identifier generators: Discord snowflakes (nonces) and midjourney-proxy style task ids."""

from __future__ import annotations

import threading
import time

DISCORD_EPOCH_MS = 1420070400000


class SnowflakeGenerator:
    """Real, monotonic, time-based snowflakes (ms << 22 | worker << 17 | process << 12 | increment)."""

    def __init__(self, worker_id: int = 0, process_id: int = 0) -> None:
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._last_ms = -1
        self._increment = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        return str(self.next_int())

    def next_int(self) -> int:
        with self._lock:
            ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if ms < self._last_ms:
                ms = self._last_ms
            if ms == self._last_ms:
                self._increment = (self._increment + 1) & 0xFFF
                if self._increment == 0:
                    ms += 1
            else:
                self._increment = 0
            self._last_ms = ms
            return (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment


def snowflake_time_ms(snowflake: str | int) -> int:
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


class TaskIdGenerator:
    """16-digit, time-ordered task ids as midjourney-proxy emits them: epoch ms followed by three digits.

    The three digits are a per-millisecond counter rather than random, so a burst of thousands of
    submissions can never collide within one process.
    """

    def __init__(self) -> None:
        self._last_ms = -1
        self._counter = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            ms = int(time.time() * 1000)
            if ms <= self._last_ms:
                ms = self._last_ms
                self._counter += 1
                if self._counter > 999:
                    ms += 1
                    self._counter = 0
            else:
                self._counter = 0
            self._last_ms = ms
            return f"{ms}{self._counter:03d}"
