"""Which parts of a prompt a translator may touch, and how to put the prompt back together.

Only words are translated. Image URLs, ``::`` weights (``cat::2 dog::-0.5``), the parameter tail
(``--ar 16:9 --v 7``; the first `` --name`` starts it, as midjourney-proxy cuts it) and every space
between them are kept byte for byte; the value of ``--no`` is words too, so it is translated on its own.
By default a segment is sent to a translator only if it holds a letter outside ASCII, so an English
chunk is never paraphrased by a provider (and costs nothing); ``ascii_too`` sends every run of words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_PARAM_TAIL: Final = re.compile(r"\s+--[a-z]+.*$", re.IGNORECASE | re.DOTALL)
# Kept as they are inside the words part: links (image prompts, --sref URLs typed mid-prompt), Discord's
# <…> wrapping of links, and multi-prompt weights.
_KEPT: Final = re.compile(r"<?https?://[^\s>]+>?|::\s*-?\d*(?:\.\d+)?")
# ``--no`` takes words up to the next parameter.
_NO_VALUE: Final = re.compile(r"(--no\s+)(.+?)(?=\s+--[a-z]|\s*$)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    translatable: bool


def needs_translation(text: str) -> bool:
    """True when the text holds a letter outside ASCII (Chinese, Cyrillic, accented Latin …)."""
    return any(ord(ch) > 127 and ch.isalpha() for ch in text)


def split_prompt(prompt: str, *, ascii_too: bool = False) -> list[Segment]:
    """The prompt as kept and translatable segments; ``"".join(s.text for s in …) == prompt``.

    ``ascii_too``: every run of words is translatable, for providers trusted to detect that a plain
    ASCII text (French without accents, say) is not English and to return English unchanged."""
    tail_match = _PARAM_TAIL.search(prompt)
    words = prompt[: tail_match.start()] if tail_match else prompt
    tail = tail_match.group(0) if tail_match else ""
    segments = _split_words(words, ascii_too)
    position = 0
    for no in _NO_VALUE.finditer(tail):
        segments.append(Segment(tail[position:no.start(2)], False))
        segments.extend(_split_words(no.group(2), ascii_too))
        position = no.end(2)
    segments.append(Segment(tail[position:], False))
    return [s for s in segments if s.text]


def _split_words(text: str, ascii_too: bool) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for kept in _KEPT.finditer(text):
        segments.extend(_words(text[position:kept.start()], ascii_too))
        segments.append(Segment(kept.group(0), False))
        position = kept.end()
    segments.extend(_words(text[position:], ascii_too))
    return segments


def _words(chunk: str, ascii_too: bool) -> list[Segment]:
    """A run of words, its surrounding spaces kept apart so a translator cannot eat them."""
    stripped = chunk.strip()
    if not stripped:
        return [Segment(chunk, False)]
    start = chunk.index(stripped)
    return [Segment(chunk[:start], False),
            Segment(stripped, ascii_too or needs_translation(stripped)),
            Segment(chunk[start + len(stripped):], False)]


def to_translate(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments if s.translatable]


def join_translated(segments: list[Segment], translations: list[str]) -> str:
    """Put the prompt back with each translatable segment replaced, in order, by its translation."""
    wanted = sum(1 for s in segments if s.translatable)
    if len(translations) != wanted:
        raise ValueError(f"expected {wanted} translations, got {len(translations)}")
    answers = iter(translations)
    return "".join(_clean(next(answers)) if s.translatable else s.text for s in segments)


def _clean(translation: str) -> str:
    # A translator's answer is one line of words: no newlines (Discord would keep them in the prompt) and
    # no "--", which Midjourney would read as a parameter.
    return " ".join(translation.replace("--", "-").split())
