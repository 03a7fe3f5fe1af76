"""[storage]: the PostgreSQL pool and timeout keys, their defaults and their bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.config import ConfigError, load_settings
from mjproxy.store import PoolOptions


def test_defaults_match_the_stores_own() -> None:
    storage = load_settings().storage
    defaults = PoolOptions()
    assert (storage.pool_size, storage.pool_max_overflow, storage.pool_timeout_seconds,
            storage.statement_timeout_seconds, storage.connect_timeout_seconds, storage.reconnect_seconds) == (
        defaults.size, defaults.max_overflow, defaults.timeout_seconds, defaults.statement_timeout_seconds,
        defaults.connect_timeout_seconds, defaults.reconnect_seconds)


def test_postgresql_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text('[storage]\ndatabase_url = "postgresql+asyncpg://mjproxy@db:5432/mjproxy"\npool_size = 25\n'
                    "pool_max_overflow = 0\nstatement_timeout_seconds = 0\nreconnect_seconds = 60\n")
    storage = load_settings(path).storage
    assert storage.database_url.startswith("postgresql+asyncpg://")
    assert (storage.pool_size, storage.pool_max_overflow, storage.statement_timeout_seconds,
            storage.reconnect_seconds) == (25, 0, 0, 60)


@pytest.mark.parametrize("line", ["pool_size = 0", "pool_max_overflow = -1", "pool_timeout_seconds = 0",
                                  "statement_timeout_seconds = -1", "reconnect_seconds = -5"])
def test_out_of_range_values_name_the_key(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[storage]\n{line}\n")
    with pytest.raises(ConfigError, match="storage." + line.split(" ")[0]):
        load_settings(path)
