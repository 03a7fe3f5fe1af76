"""[logging] format = "json": one JSON object per line, secrets still redacted."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from mjproxy.config import load_settings
from mjproxy.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_level_logger_and_a_redacted_message(
        capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    token = "MTIzNDU2Nzg5.secret-token-value"
    configure_logging("INFO", [token], style="json")
    logging.getLogger("mjproxy.test").warning("account %s refused", token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["level"] == "WARNING"
    assert record["logger"] == "mjproxy.test"
    assert record["message"].startswith("account ") and token not in line
    assert "time" in record


def test_format_is_validated() -> None:
    assert load_settings(logging={"format": "json"}).logging.format == "json"
    with pytest.raises(Exception, match=r"logging\.format"):
        load_settings(logging={"format": "xml"})
