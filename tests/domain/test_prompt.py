"""Prompt normalisation (§9), speed flags, parameters and validation."""

from __future__ import annotations

import pytest

from mjproxy.domain.prompt import (
    MAX_MODAL_PROMPT_LENGTH,
    MAX_PROMPT_LENGTH,
    Mode,
    extract_speed_flag,
    mirror_mj_rewrite,
    mode_from_word,
    normalize_prompt,
    prompt_param,
    strip_params,
    validate_custom_zoom_prompt,
    validate_prompt,
)

# (what we sent, what Midjourney echoed between ** **) → must share a key
SENT_VS_ECHOED = [
    ("a red cat", "a red cat"),
    ("a red cat", "a red cat --v 6.1"),  # suffix / settings defaults appended
    ("a red cat --ar 16:9", "a red cat --ar 16:9 --v 6.1 --s 750"),
    ("a red cat --ar 16:9 --q 1", "a red cat --ar 16:9"),  # defaults dropped
    ("a red cat —ar 16:9", "a red cat --ar 16:9"),  # em dash converted
    ("a red cat –no dogs", "a red cat --no dogs"),  # en dash converted
    ("a   red \t cat  ", "a red cat"),  # whitespace collapsed / trimmed
    ("a red cat --fast", "a red cat"),  # speed flag consumed
    ("a red cat --relax --ar 2:3", "a red cat --ar 2:3"),
    ("https://cdn.discordapp.com/attachments/1/2/cat.png a red cat",
     "<https://s.mj.run/AbCdEfGh> a red cat"),
    ("https://a.example/x.png https://b.example/y.jpg?x=1&y=2 a red cat --iw 2",
     "<https://s.mj.run/aaaa> <https://s.mj.run/bbbb> a red cat --iw 2 --v 6"),
    ("一只红色的猫 🐱", "一只红色的猫 🐱 --v 6.1"),
    ("a red cat --AR 16:9", "a red cat"),  # case-insensitive tail
]


@pytest.mark.parametrize(("sent", "echoed"), SENT_VS_ECHOED)
def test_sent_and_echoed_share_a_key(sent: str, echoed: str) -> None:
    assert normalize_prompt(sent) == normalize_prompt(echoed)
    assert normalize_prompt(sent)  # never collapses to nothing for a real prompt


@pytest.mark.parametrize(("text", "key"), [
    ("a red cat --ar 16:9", "aredcat"),
    ("https://x.example/a.png a cat", "<link>acat"),
    ("<https://s.mj.run/abc> a cat", "<link>acat"),
    ("<https://x.example/a.png> a cat", "<link>acat"),  # <<link>> → <link>
    ("a-b cat", "a-bcat"),  # a single dash inside a word is not a parameter
    ("a cat--ar 2:3", "acat--ar2:3"),  # Java rule needs a space before the parameter
    ("", ""),
    (None, ""),
    ("   ", ""),
    ("a\ncat --v 6\n--ar 1:1", "acat"),
])
def test_normalize_examples(text: str | None, key: str) -> None:
    assert normalize_prompt(text) == key


def test_different_prompts_stay_different() -> None:
    assert normalize_prompt("a red cat") != normalize_prompt("a blue cat")
    assert normalize_prompt("a red cat") != normalize_prompt("a red cat sitting")


def test_mirror_rewrite() -> None:
    assert mirror_mj_rewrite("  a —ar  2:3 <https://s.mj.run/x1>  ") == "a --ar 2:3 <link>"


@pytest.mark.parametrize(("prompt", "cleaned", "mode"), [
    ("a red cat --fast", "a red cat", Mode.FAST),
    ("a red cat --relax --ar 2:3", "a red cat --ar 2:3", Mode.RELAX),
    ("--turbo a red cat", "a red cat", Mode.TURBO),
    ("a red cat —fast", "a red cat", Mode.FAST),
    ("a red cat --fast --relax", "a red cat", Mode.RELAX),  # the last flag wins
    ("a red cat --FAST", "a red cat", Mode.FAST),
    ("a red cat", "a red cat", None),
    ("a red cat --faster", "a red cat --faster", None),  # not a speed flag
    ("breakfast--fast", "breakfast--fast", None),  # not preceded by whitespace
])
def test_extract_speed_flag(prompt: str, cleaned: str, mode: Mode | None) -> None:
    assert extract_speed_flag(prompt) == (cleaned, mode)


@pytest.mark.parametrize(("prompt", "name", "value"), [
    ("a cat --ar 16:9 --v 6.1", "ar", "16:9"),
    ("a cat --ar 16:9 --v 6.1", "v", "6.1"),
    ("a cat --no red dogs --ar 1:1", "no", "red dogs"),
    ("a cat --tile --ar 1:1", "tile", ""),
    ("a cat --tile", "tile", ""),
    ("a cat --zoom 1.5", "zoom", "1.5"),
    ("a cat —zoom 1.5", "zoom", "1.5"),
    ("a cat --ar 1:1 --ar 2:3", "ar", "2:3"),
    ("a cat --aspect 2:3", "ar", None),
    ("a cat", "ar", None),
    ("a cat --architecture 1", "ar", None),
])
def test_prompt_param(prompt: str, name: str, value: str | None) -> None:
    assert prompt_param(prompt, name) == value


def test_strip_params() -> None:
    assert strip_params("a red cat --ar 16:9 --v 6") == "a red cat"
    assert strip_params("a red cat") == "a red cat"


@pytest.mark.parametrize(("word", "mode"), [
    ("fast", Mode.FAST), ("relaxed", Mode.RELAX), ("relax", Mode.RELAX), ("turbo", Mode.TURBO),
    ("relaxed, stealth", Mode.RELAX), ("Fast", Mode.FAST), ("Waiting to start", None), ("", None), (None, None),
])
def test_mode_from_word(word: str | None, mode: Mode | None) -> None:
    assert mode_from_word(word) == mode


def test_validate_prompt() -> None:
    assert validate_prompt("a cat") is None
    assert validate_prompt("") is not None
    assert validate_prompt("   ") is not None
    assert validate_prompt(None) is not None
    assert validate_prompt("x" * MAX_PROMPT_LENGTH) is None
    assert validate_prompt("x" * (MAX_PROMPT_LENGTH + 1)) is not None
    assert validate_prompt("x" * (MAX_MODAL_PROMPT_LENGTH + 1), max_length=MAX_MODAL_PROMPT_LENGTH) is not None


@pytest.mark.parametrize(("prompt", "ok"), [
    ("a cat --zoom 1.5", True),
    ("a cat --zoom 2 --ar 1:1", True),
    ("a cat --zoom 1", True),
    ("a cat --zoom 2.5", False),
    ("a cat --zoom 0.5", False),
    ("a cat --zoom abc", False),
    ("a cat --zoom", False),
    ("a cat", False),
    ("", False),
])
def test_validate_custom_zoom(prompt: str, ok: bool) -> None:
    assert (validate_custom_zoom_prompt(prompt) is None) is ok
