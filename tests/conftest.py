"""Fixtures every test directory may use: the throwaway PostgreSQL (tests/pg.py) and a URL on each backend."""

from __future__ import annotations

import pytest

from tests.pg import pg_url, postgres

__all__ = ["any_db_url", "pg_url", "postgres"]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn: in-memory SQLite, then a database on the test PostgreSQL."""
    if request.param == "sqlite":
        return "sqlite+aiosqlite:///:memory:"
    return str(request.getfixturevalue("pg_url"))
