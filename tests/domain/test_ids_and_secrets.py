from __future__ import annotations

import logging

from mjproxy.domain.ids import SnowflakeGenerator, TaskIdGenerator, snowflake_time_ms
from mjproxy.domain.moderation import find_banned_word
from mjproxy.domain.secrets import mask_secret
from mjproxy.logs import RedactSecrets


def test_task_ids_are_unique_ordered_16_digits_even_in_a_burst() -> None:
    generator = TaskIdGenerator()
    ids = [generator.next() for _ in range(5000)]
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    assert all(len(i) == 16 and i.isdigit() for i in ids)


def test_snowflakes_are_monotonic_and_carry_their_time() -> None:
    generator = SnowflakeGenerator()
    flakes = [int(generator.next()) for _ in range(5000)]
    assert flakes == sorted(flakes) and len(set(flakes)) == 5000
    assert abs(snowflake_time_ms(flakes[0]) - snowflake_time_ms(flakes[-1])) < 5000


def test_mask_secret() -> None:
    assert mask_secret("MTA5abcdefghijklmnop.xyz") == "MTA…xyz"
    assert mask_secret("short") == "…"
    assert mask_secret("") == ""


def test_banned_words_match_whole_words_case_insensitively() -> None:
    assert find_banned_word("Some GORE here", ["gore"]) == "GORE"
    assert find_banned_word("a grass field", ["ass"]) is None
    assert find_banned_word("anything", []) is None
    assert find_banned_word("blood-red sky", ["blood"]) == "blood"


def test_log_redaction_masks_known_secrets() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", ("MTA5-secret-token-xyz",), None)
    RedactSecrets(["MTA5-secret-token-xyz"]).filter(record)
    assert "MTA5-secret-token-xyz" not in record.getMessage()
    assert "MTA…xyz" in record.getMessage()
