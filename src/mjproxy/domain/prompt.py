"""Prompt rules: Midjourney's rewriting, the normalised matching key, speed flags, parameters, limits.

Why normalise at all: Midjourney echoes a *rewritten* prompt (``midjourney-bot.md`` §9): links become
``<https://s.mj.run/…>``, dashes become ``--``, suffix parameters are appended, spaces collapse. The
normalised key is the last-resort correlation key (DESIGN invariant 3), so what we sent and what MJ
echoed must normalise to the same string.
"""

from __future__ import annotations

import re
from typing import Final

from .account import SpeedMode

# Discord caps a STRING option value at 6000 characters (the documented maximum of ``max_length`` for
# application-command options), so a longer /imagine prompt cannot even be sent.
MAX_PROMPT_LENGTH: Final = 6000
# Modal text inputs (remix, custom zoom, pan, describe/shorten picks) are capped at 4000 characters
# (Discord's documented maximum ``max_length`` of a TEXT_INPUT component).
MAX_MODAL_PROMPT_LENGTH: Final = 4000


Mode = SpeedMode  # prompts spell it ``--relax``; Midjourney's status words spell it ``relaxed``


_MODE_WORDS: Final[dict[str, Mode]] = {"fast": Mode.FAST, "relax": Mode.RELAX, "relaxed": Mode.RELAX,
                                       "turbo": Mode.TURBO}


def mode_from_word(word: str | None) -> Mode | None:
    """``fast`` / ``relaxed`` / ``turbo`` (optionally with ``, stealth``) → Mode; anything else → None."""
    if not word:
        return None
    return _MODE_WORDS.get(word.split(",")[0].strip().lower())


# ---- Midjourney's own rewriting ----

_DASHES = re.compile("[\u2014\u2013]")  # em dash, en dash: MJ turns each into "--"
_SHORT_LINK = re.compile(r"<https?://s\.mj\.run/[^>\s]*>")
_SPACES = re.compile(r"[ \t]+")


def mirror_mj_rewrite(text: str) -> str:
    """Apply the rewriting MJ is known to do, so sent and echoed prompts converge before normalising.

    Dashes → ``--`` first: a parameter typed with an em dash (``—ar 16:9``) must then look like a
    parameter to the tail-stripping step.
    """
    text = _DASHES.sub("--", text)
    text = _SHORT_LINK.sub("<link>", text)
    return _SPACES.sub(" ", text).strip()


# ---- the Java proxy's normalisation (§9 last paragraph), verbatim ----

_PARAM_TAIL = re.compile(r"\x20+--[a-z]+.*$", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"https?://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]")
_WHITESPACE = re.compile(r"\s+")


def normalize_prompt(text: str | None) -> str:
    """The matching key of a prompt: MJ rewriting mirrored, parameter tail dropped, links → ``<link>``,
    ``<<link>>`` → ``<link>``, all whitespace removed.

    The tail is stripped with DOTALL so that a (modal-entered) newline after the first parameter does
    not keep half the tail alive.
    """
    if not text:
        return ""
    text = mirror_mj_rewrite(text)
    text = _PARAM_TAIL.sub("", text)
    text = _URL.sub("<link>", text)
    text = text.replace("<<link>>", "<link>")
    return _WHITESPACE.sub("", text)


# ---- links Midjourney will fetch ----

# http(s) URLs, the scheme in any case: image prompts, --sref/--cref links, a /describe link.
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def linked_urls(text: str | None) -> list[str]:
    """Every http(s) URL in a prompt, each once, without the punctuation that closes a sentence or a <link>."""
    return list(dict.fromkeys(match.rstrip(".,;)>") for match in _LINK.findall(text or "")))


# ---- parameters ----

_SPEED_FLAG = re.compile(r"(?:(?<=\s)|^)(?:--|[\u2014\u2013])(fast|relax|turbo)(?=\s|$)", re.IGNORECASE)


def extract_speed_flag(prompt: str) -> tuple[str, Mode | None]:
    """Remove ``--fast`` / ``--relax`` / ``--turbo`` from a prompt; return the cleaned prompt and the last
    flag seen (the one MJ would honour), or None. The flags are consumed by MJ, so they are routing hints
    for us, not part of the prompt."""
    found: list[Mode] = []

    def _take(match: re.Match[str]) -> str:
        found.append(Mode(match.group(1).lower()))
        return ""

    cleaned = _SPEED_FLAG.sub(_take, prompt)
    if not found:
        return prompt, None
    return _SPACES.sub(" ", cleaned).strip(), found[-1]


def prompt_param(prompt: str, name: str) -> str | None:
    """The value of ``--name`` in a prompt (last occurrence wins, as in MJ); ``""`` for a bare flag such
    as ``--tile``; None when absent. The value runs to the next `` --`` parameter."""
    pattern = re.compile(rf"(?:^|\s)--{re.escape(name)}(?:\s+(?!--)(.*?))?(?=\s+--[a-zA-Z]|\s*$)", re.DOTALL)
    matches = list(pattern.finditer(mirror_mj_rewrite(prompt)))
    if not matches:
        return None
    return (matches[-1].group(1) or "").strip()


def strip_params(prompt: str) -> str:
    """The prompt text without its parameter tail (everything from the first `` --param``)."""
    return _PARAM_TAIL.sub("", mirror_mj_rewrite(prompt)).strip()


# ---- validation used by the API faces ----

_ZOOM_VALUE = re.compile(r"^\d+(?:\.\d+)?$")


def validate_prompt(prompt: str | None, *, max_length: int = MAX_PROMPT_LENGTH) -> str | None:
    """An error message for an unusable prompt, else None."""
    if prompt is None or not prompt.strip():
        return "prompt must not be empty"
    if len(prompt) > max_length:
        return f"prompt is longer than {max_length} characters"
    return None


def validate_custom_zoom_prompt(prompt: str | None) -> str | None:
    """Custom Zoom requires ``--zoom`` between 1 and 2 in the modal prompt (midjourney-bot.md §6.8)."""
    error = validate_prompt(prompt, max_length=MAX_MODAL_PROMPT_LENGTH)
    if error or prompt is None:
        return error
    value = prompt_param(prompt, "zoom")
    if not value or not _ZOOM_VALUE.match(value):
        return "custom zoom prompt must contain --zoom <1..2>"
    if not 1.0 <= float(value) <= 2.0:
        return "--zoom must be between 1 and 2"
    return None
