"""Discord snowflakes for the emulator: the domain's generator, on a worker id of its own.

Monotonic and time-based, so that id order equals time order (clients page by id).
"""

from __future__ import annotations

from ..domain.ids import DISCORD_EPOCH_MS, SnowflakeGenerator, snowflake_time_ms

__all__ = ["DISCORD_EPOCH_MS", "Snowflakes", "snowflake_time_ms"]


class Snowflakes(SnowflakeGenerator):
    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        super().__init__(worker_id, process_id)
