"""Fixtures every test directory may use."""

from tests.pg import pg_url, postgres

__all__ = ["pg_url", "postgres"]
