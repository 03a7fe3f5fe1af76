"""``mjproxy keys``: manage API keys in the configured database, and make an encryption key.

These work on the database directly, so they also work while the server is down (the first admin key
of a server that is not open any more). A server that is running sees a revocation made here within
``security.key_cache_seconds``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ..config import ConfigError, Settings, load_settings
from ..domain.api_keys import SCOPES
from ..store.api_keys import ApiKeyRepository
from ..store.database import Database
from ..store.secrets import generate_key

keys_app = typer.Typer(no_args_is_help=True, help="API keys (stored hashed) and the token encryption key.")
out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file "
                                                   "(default: $MJPROXY_CONFIG)")]
T = TypeVar("T")


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config or os.environ.get("MJPROXY_CONFIG"))
    except ConfigError as exc:
        err.print(f"[bold red]mjproxy: {exc}[/]")
        raise typer.Exit(2) from None


def _with_repo(config: Path | None, action: Callable[[ApiKeyRepository], Awaitable[T]]) -> T:
    settings = _settings(config)

    async def run() -> T:
        Path(settings.storage.data_dir).mkdir(parents=True, exist_ok=True)
        db = await Database.connect(settings.storage.database_url)
        try:
            return await action(ApiKeyRepository(db))
        finally:
            await db.close()

    return asyncio.run(run())


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for")] = "",
    scope: Annotated[str, typer.Option(help="user (sees only its own tasks) or admin")] = "user",
    config: ConfigOption = None,
) -> None:
    """Create an API key and print it. It is shown this once: only its hash is stored."""
    if scope not in SCOPES:
        err.print(f"[bold red]mjproxy: --scope must be one of {', '.join(SCOPES)}[/]")
        raise typer.Exit(2)
    record, key = _with_repo(config, lambda repo: repo.create(name, scope))
    err.print(f"created {record.scope} key {record.id} ({record.name or 'no name'}); store it now, "
              f"it cannot be shown again:")
    out.print(key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_keys(config: ConfigOption = None) -> None:
    """Every key: id, scope, name, hint and whether it is revoked (never the key)."""
    records = _with_repo(config, lambda repo: repo.list())
    table = Table("id", "scope", "name", "hint", "state")
    for record in records:
        table.add_row(record.id, record.scope, record.name, record.hint, "active" if record.active else "revoked")
    out.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `mjproxy keys list`)")],
           config: ConfigOption = None) -> None:
    """Revoke a key. A running server stops accepting it within security.key_cache_seconds."""
    if not _with_repo(config, lambda repo: repo.revoke(key_id)):
        err.print(f"[bold red]mjproxy: no active key {key_id}[/]")
        raise typer.Exit(1)
    err.print(f"revoked key {key_id}")


@keys_app.command("gen-encryption-key")
def gen_encryption_key() -> None:
    """Print a new key for security.encryption_key (Fernet). Keep it apart from the database."""
    out.print(generate_key(), highlight=False)
