"""Local banned-word prefilter: whole words, case-insensitive, so "grass" never trips "ass"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in cleaned) + r")(?!\w)", re.IGNORECASE)


def find_banned_word(prompt: str, words: Iterable[str]) -> str | None:
    """Return the first banned word found in ``prompt`` (as written in the prompt), else None."""
    pattern = _pattern(tuple(words))
    if pattern is None:
        return None
    match = pattern.search(prompt)
    return match.group(1) if match else None
