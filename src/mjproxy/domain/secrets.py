"""Masking of secrets (DESIGN invariant 6): tokens never appear in logs, errors or responses."""

from __future__ import annotations


def mask_secret(value: str | None) -> str:
    """Show only the first and last three characters: ``abc…xyz``. Short values are hidden entirely."""
    if not value:
        return ""
    if len(value) <= 10:
        return "…"
    return f"{value[:3]}…{value[-3:]}"
