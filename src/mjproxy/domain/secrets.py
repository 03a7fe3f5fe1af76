"""Masking of secrets (DESIGN invariant 6): tokens never appear in logs, errors or responses."""

from __future__ import annotations


def mask_secret(value: str | None, middle: str = "…") -> str:
    """Show only the first and last three characters: ``abc…xyz``. Short values are hidden entirely."""
    if not value:
        return ""
    if len(value) <= 10:
        return middle
    return f"{value[:3]}{middle}{value[-3:]}"
