from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.config import ConfigError, load_settings
from mjproxy.notify.outbox import OutboxPolicy


def test_webhook_settings_from_toml_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text("[webhooks]\nmax_age_seconds = 600\nretry_base_seconds = 2\nkeep_delivered_days = 1\n")
    monkeypatch.setenv("MJPROXY_WEBHOOKS__SECRET", "from-env")
    policy = OutboxPolicy.of(load_settings(path).webhooks)
    assert policy == OutboxPolicy(secret="from-env", max_age_seconds=600, retry_base_seconds=2,
                                  keep_delivered_seconds=86_400)


def test_defaults_retry_for_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MJPROXY_CONFIG", raising=False)
    monkeypatch.delenv("MJPROXY_WEBHOOKS__SECRET", raising=False)
    webhooks = load_settings().webhooks
    assert webhooks.max_age_seconds == 86_400 and webhooks.secret == ""


@pytest.mark.parametrize("bad", ["max_age_seconds = 0", "concurrency = 0", "retry_base = 3"])
def test_bad_webhook_settings_name_the_key(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text(f"[webhooks]\n{bad}\n")
    with pytest.raises(ConfigError, match="webhooks"):
        load_settings(path)
