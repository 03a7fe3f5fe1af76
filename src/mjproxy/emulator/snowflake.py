"""Discord snowflakes: monotonic, time-based, so that id order equals time order (clients page by id)."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1420070400000


class Snowflakes:
    """`(ms_since_epoch << 22) | (worker << 17) | (process << 12) | increment`, never going backwards."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._last_ms = -1
        self._increment = 0

    def next_int(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if ms <= self._last_ms:
            # Same millisecond (or clock went back): keep the last ms and bump the counter; on
            # counter overflow borrow the next millisecond so ids stay strictly increasing.
            ms = self._last_ms
            self._increment = (self._increment + 1) & 0xFFF
            if self._increment == 0:
                ms += 1
        else:
            self._increment = 0
        self._last_ms = ms
        return (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment

    def next(self) -> str:
        return str(self.next_int())


def snowflake_time_ms(snowflake: str | int) -> int:
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS
