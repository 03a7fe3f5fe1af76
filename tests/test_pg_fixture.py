"""The PostgreSQL test fixture itself: where it finds the binaries, and that CI never skips for want of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg import _unavailable, find_bin_dir


def test_a_missing_postgresql_fails_when_required_and_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_REQUIRED", "1")  # what .ci/run sets
    with pytest.raises(pytest.fail.Exception, match="required"):
        _unavailable("initdb was not found")
    monkeypatch.delenv("POSTGRES_REQUIRED")
    with pytest.raises(pytest.skip.Exception):
        _unavailable("initdb was not found")


def test_pg_bin_dir_wins_when_it_holds_the_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / name).touch()
    monkeypatch.setenv("PG_BIN_DIR", str(tmp_path))
    assert find_bin_dir() == tmp_path
    (tmp_path / "pg_ctl").unlink()
    assert find_bin_dir() != tmp_path  # incomplete: look elsewhere
