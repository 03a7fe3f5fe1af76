"""Bounds shared by every paged route."""

#: SQLite's OFFSET is a signed 64-bit integer: a larger page failed with a 500 (found by schemathesis).
MAX_PAGE = 1_000_000
