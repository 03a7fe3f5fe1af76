"""What a translator may touch in a prompt, and the prompt put back together."""

from __future__ import annotations

import pytest

from mjproxy.domain.prompt_segments import join_translated, needs_translation, split_prompt, to_translate


@pytest.mark.parametrize(("prompt", "sent", "joined"), [
    ("一只猫", ["一只猫"], "T0"),
    ("a cat --ar 1:1", [], "a cat --ar 1:1"),
    ("https://a.example/x.png  一只猫 --ar 16:9", ["一只猫"], "https://a.example/x.png  T0 --ar 16:9"),
    ("一只猫::2 一只狗::-0.5", ["一只猫", "一只狗"], "T0::2 T1::-0.5"),
    ("a cat --no 狗 --v 7", ["狗"], "a cat --no T0 --v 7"),
    ("<https://s.mj.run/abc> 猫", ["猫"], "<https://s.mj.run/abc> T0"),
    ("café au lait", ["café au lait"], "T0"),
    ("a cat::2 un chat noir", ["un chat noir"] if needs_translation("un chat noir") else [],
     "a cat::2 un chat noir"),
])
def test_segments(prompt: str, sent: list[str], joined: str) -> None:
    segments = split_prompt(prompt)
    assert "".join(s.text for s in segments) == prompt
    assert to_translate(segments) == sent
    assert join_translated(segments, [f"T{i}" for i in range(len(sent))]) == joined


def test_a_translation_cannot_smuggle_parameters_or_newlines() -> None:
    segments = split_prompt("一只猫 --ar 1:1")
    assert join_translated(segments, ["a cat\n--v 4"]) == "a cat -v 4 --ar 1:1"


def test_the_number_of_translations_must_match() -> None:
    with pytest.raises(ValueError, match="expected 1 translations"):
        join_translated(split_prompt("猫"), [])


def test_ascii_too_sends_every_run_of_words_but_never_parameters() -> None:
    segments = split_prompt("un chat noir::2 https://a.example/x.png --ar 1:1 --no chien", ascii_too=True)
    assert to_translate(segments) == ["un chat noir", "chien"]
