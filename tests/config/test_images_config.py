"""The [images] section: defaults, TOML + environment, and the errors an operator sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.config import ConfigError, load_settings
from mjproxy.runtime import Runtime


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MJPROXY_CONFIG", raising=False)


def test_defaults_rehost_locally() -> None:
    images = load_settings().images
    assert images.rehost and images.backend == "local" and images.split_format == "webp"
    assert images.retention_days == 0 and images.store_previews is False


def test_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text('[images]\nbackend = "s3"\npublic_base_url = "https://mj.example.com/"\n'
                    '[images.s3]\nbucket = "b"\nprefix = "p/"\n')
    monkeypatch.setenv("MJPROXY_IMAGES__THUMBNAIL_SIZE", "320")
    images = load_settings(path).images
    assert images.s3.bucket == "b" and images.s3.prefix == "p/"
    assert images.public_base_url == "https://mj.example.com"
    assert images.thumbnail_size == 320


def test_s3_without_a_bucket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text('[images]\nbackend = "s3"\n')
    with pytest.raises(ConfigError, match=r"images\.s3\.bucket is required"):
        load_settings(path)


def test_misspelt_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mjproxy.toml"
    path.write_text('[images]\nrehosting = false\n')
    with pytest.raises(ConfigError, match=r"images\.rehosting"):
        load_settings(path)


def test_public_base_url_falls_back_to_the_listening_address() -> None:
    runtime = Runtime(load_settings(server={"host": "0.0.0.0", "port": 8123}))
    assert runtime.public_base_url() == "http://127.0.0.1:8123"
    runtime.served_base_url = "http://127.0.0.1:5555"
    assert runtime.public_base_url() == "http://127.0.0.1:5555"
    configured = Runtime(load_settings(images={"public_base_url": "https://cdn.example/mj"}))
    assert configured.public_base_url() == "https://cdn.example/mj"
