from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.config import ConfigError, load_settings

GOOD = """
[server]
host = "0.0.0.0"
port = 9090
api_secret = "s"

[[accounts]]
name = "main"
guild_id = "1118138338562560102"
channel_id = "1118138338562560103"
user_token = "token-value"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MJPROXY_CONFIG", "MJPROXY_SERVER__PORT", "MJPROXY_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)


def test_toml_file_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("MJPROXY_SERVER__PORT", "9999")
    settings = load_settings(path)
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 9999
    account = settings.accounts[0]
    assert (account.name, account.core_size, account.queue_size, account.timeout_minutes) == ("main", 3, 10, 5)


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.server.port == 8080
    assert settings.storage.database_url == "sqlite+aiosqlite:///data/mjproxy.db"
    assert settings.discord.api_base == "https://discord.com"
    assert settings.accounts == []


@pytest.mark.parametrize(("text", "key"), [
    (GOOD.replace('guild_id = "1118138338562560102"', 'guild_id = "abc"'), "accounts.0.guild_id"),
    (GOOD.replace('user_token = "token-value"', ""), "accounts.0.user_token"),
    (GOOD.replace("port = 9090", 'port = "x"'), "server.port"),
    (GOOD + "\n[nonsense]\nx = 1\n", "nonsense"),
    (GOOD.replace('[server]', '[server]\ncore = 1'), "server.core"),
])
def test_bad_configuration_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert key in str(caught.value)
    assert "token-value" not in str(caught.value)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")
