"""``mjproxy keys``: create, list and revoke keys in the configured database; make an encryption key."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography.fernet import Fernet
from typer.testing import CliRunner

from mjproxy.cli import app
from mjproxy.domain.api_keys import hash_key
from mjproxy.store import Database
from mjproxy.store.api_keys import ApiKeyRepository


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "mjproxy.toml"
    path.write_text(f'[storage]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path}/keys.db"\ndata_dir = "{tmp_path}"\n')
    return path


def stored(tmp_path: Path) -> list[tuple[str, str, bool]]:
    async def read() -> list[tuple[str, str, bool]]:
        db = await Database.connect(f"sqlite+aiosqlite:///{tmp_path}/keys.db")
        try:
            return [(k.id, k.key_hash, k.active) for k in await ApiKeyRepository(db).list()]
        finally:
            await db.close()

    return asyncio.run(read())


def test_create_list_and_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    config = str(config_file(tmp_path))
    created = runner.invoke(app, ["keys", "create", "--name", "ci", "--scope", "admin", "--config", config])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("mjp_")
    [(key_id, digest, active)] = stored(tmp_path)
    assert digest == hash_key(key) and active
    assert key.encode() not in (tmp_path / "keys.db").read_bytes()

    listed = runner.invoke(app, ["keys", "list", "--config", config])
    assert listed.exit_code == 0 and key_id in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout

    revoked = runner.invoke(app, ["keys", "revoke", key_id, "--config", config])
    assert revoked.exit_code == 0, revoked.output
    assert stored(tmp_path) == [(key_id, digest, False)]
    again = runner.invoke(app, ["keys", "revoke", key_id, "--config", config])
    assert again.exit_code == 1 and "no active key" in again.output


def test_bad_scope_and_bad_config_are_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_scope = runner.invoke(app, ["keys", "create", "--scope", "root", "--config", str(config_file(tmp_path))])
    assert bad_scope.exit_code == 2 and "scope" in bad_scope.output
    missing = runner.invoke(app, ["keys", "list", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_gen_encryption_key_prints_a_usable_fernet_key() -> None:
    result = CliRunner().invoke(app, ["keys", "gen-encryption-key"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


def test_the_configured_encryption_key_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[security]\nencryption_key = "short"\n')
    result = CliRunner().invoke(app, ["keys", "list", "--config", str(path)])
    assert result.exit_code == 2 and "security.encryption_key" in result.output and "Fernet" in result.output
