"""What Midjourney does to a prompt before echoing it (midjourney-bot.md §9) and --param validation."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

URL_RE = re.compile(r"<?(https?://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|])>?")
PARAM_RE = re.compile(r"(?:^|\s)--([A-Za-z][A-Za-z0-9]*)")
SPEED_FLAGS = {"fast": "fast", "relax": "relax", "turbo": "turbo"}


def short_link(url: str) -> str:
    """Deterministic `s.mj.run` short id (11 url-safe chars like the real ones)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(url.encode()).digest()).decode()
    return "https://s.mj.run/" + re.sub(r"[-_=]", "x", digest)[:11]


def _shorten(url: str) -> str:
    return url if url.startswith("https://s.mj.run/") else short_link(url)


def normalise_text(prompt: str) -> str:
    text = prompt.replace("—", "--").replace("–", "--")
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class ParsedPrompt:
    text: str  # the prompt before the first --param
    params: list[tuple[str, str]] = field(default_factory=list)  # (name as typed, raw value)

    def get(self, *names: str) -> str | None:
        for name, value in self.params:
            if name.lower() in names:
                return value
        return None


def parse(prompt: str) -> ParsedPrompt:
    text = normalise_text(prompt)
    matches = list(PARAM_RE.finditer(text))
    if not matches:
        return ParsedPrompt(text)
    parsed = ParsedPrompt(text[: matches[0].start()].strip())
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        parsed.params.append((m.group(1), text[m.end() : end].strip()))
    return parsed


def rewrite(prompt: str, suffix: str) -> tuple[str, str | None]:
    """Return (P', speed flag or None): links shortened, dashes fixed, whitespace collapsed, speed flags
    consumed, suffix appended."""
    text = normalise_text(prompt + (" " + suffix if suffix.strip() else ""))
    text = URL_RE.sub(lambda m: f"<{_shorten(m.group(1))}>", text)
    speed: str | None = None
    for flag in SPEED_FLAGS:
        pattern = re.compile(rf"(?:^|\s)--{flag}(?=\s|$)", re.IGNORECASE)
        if pattern.search(text):
            speed = SPEED_FLAGS[flag]
            text = pattern.sub("", text)
    return normalise_text(text), speed


# --- parameter validation ---------------------------------------------------------------------------


def _num(lo: float, hi: float, integer: bool = False) -> Callable[[str], bool]:
    def check(v: str) -> bool:
        try:
            x = int(v) if integer else float(v)
        except ValueError:
            return False
        return lo <= x <= hi

    return check


def _choice(*values: str) -> Callable[[str], bool]:
    return lambda v: v.lower() in values


def _flag(v: str) -> bool:
    return v == ""


def _any(v: str) -> bool:
    return v != ""


def _optional(v: str) -> bool:
    return True


def _aspect(v: str) -> bool:
    m = re.fullmatch(r"(\d{1,5}):(\d{1,5})", v)
    if not m:
        return False
    w, h = int(m.group(1)), int(m.group(2))
    return w > 0 and h > 0 and max(w, h) / min(w, h) <= 10


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "ar": _aspect, "aspect": _aspect,
    "v": _choice("1", "2", "3", "4", "5", "5.0", "5.1", "5.2", "6", "6.0", "6.1", "7", "7.0"),
    "version": _choice("1", "2", "3", "4", "5", "5.0", "5.1", "5.2", "6", "6.0", "6.1", "7", "7.0"),
    "niji": lambda v: v == "" or v in {"4", "5", "6"},
    "s": _num(0, 1000, True), "stylize": _num(0, 1000, True),
    "c": _num(0, 100, True), "chaos": _num(0, 100, True),
    "q": _choice(".25", "0.25", ".5", "0.5", "1", "2", "4"),
    "quality": _choice(".25", "0.25", ".5", "0.5", "1", "2", "4"),
    "seed": _num(0, 4294967295, True), "sameseed": _num(0, 4294967295, True),
    "no": _any, "style": _any, "iw": _num(0, 3), "tile": _flag,
    "weird": _num(0, 3000, True), "w": _num(0, 3000, True),
    "zoom": _num(1, 2), "repeat": _num(1, 40, True), "r": _num(1, 40, True),
    "stop": _num(10, 100, True), "raw": _flag, "fast": _flag, "relax": _flag, "turbo": _flag,
    "cref": _any, "sref": _any, "oref": _any, "cw": _num(0, 100, True), "sw": _num(0, 1000, True),
    "ow": _num(1, 1000, True), "p": _optional, "personalize": _optional, "exp": _num(0, 100, True),
    "draft": _flag, "video": _flag, "hd": _flag, "test": _flag, "testp": _flag, "uplight": _flag,
    "upbeta": _flag, "motion": _choice("low", "high"), "loop": _flag, "end": _any, "bs": _num(1, 4, True),
    "sv": _any, "public": _flag, "stealth": _flag,
}


def validate_params(parsed: ParsedPrompt) -> str | None:
    """The `Invalid parameter` embed description, or None when all parameters are acceptable."""
    unknown = [name for name, _ in parsed.params if name.lower() not in VALIDATORS]
    if unknown:
        return "Unrecognized parameter(s): " + ", ".join(f"`{n}`" for n in unknown)
    for name, value in parsed.params:
        if not VALIDATORS[name.lower()](value):
            return f"Invalid value for --{name.lower()} `{value}`" if value else f"Invalid value for --{name.lower()}"
    return None


def aspect_of(parsed: ParsedPrompt) -> tuple[int, int] | None:
    value = parsed.get("ar", "aspect")
    if value is None or not _aspect(value):
        return None
    w, h = value.split(":")
    return int(w), int(h)


def seed_of(parsed: ParsedPrompt) -> int | None:
    value = parsed.get("seed", "sameseed")
    return int(value) if value is not None and value.isdigit() else None


def filename_slug(prompt: str, limit: int = 50) -> str:
    """Slug of the prompt text for filenames (§10): links and params dropped, non-alphanumerics -> `_`."""
    text = URL_RE.sub(" ", parse(prompt).text)
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    return slug[:limit].rstrip("_")
