"""The ``mjproxy`` command: ``serve`` the API, run the ``emulator`` on its own, manage ``keys``, and the client
commands (``imagine``, ``action``, ``describe`` …, cli/client.py) that talk to a running server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from ..config import ConfigError, load_settings
from . import client
from .keys import keys_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="mjproxy: a self-hosted Midjourney API over Discord accounts.")
console = Console(stderr=True)
app.add_typer(keys_app, name="keys")
client.register(app)

# Rich markup: the TOML table name must be escaped, or "[[accounts]]" is swallowed as a tag.
SANDBOX_BANNER = ("[bold yellow]SANDBOX MODE[/]: no Discord account configured; using the built-in "
                  "Discord + Midjourney emulator. Add " + escape("[[accounts]]")
                  + " to the configuration for real use.")


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML configuration file "
                                                "(default: $MJPROXY_CONFIG)")] = None,
    host: Annotated[str | None, typer.Option(help="Override server.host")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port")] = None,
) -> None:
    """Serve the HTTP API. Without any account configured, the built-in sandbox is used."""
    from ..api.app import create_app
    from ..logs import configure_logging
    from ..runtime import Runtime

    try:
        settings = load_settings(config or os.environ.get("MJPROXY_CONFIG"))
    except ConfigError as exc:
        console.print(f"[bold red]mjproxy: {exc}[/]")
        raise typer.Exit(2) from None
    if host is not None:
        settings.server.host = host
    if port is not None:
        settings.server.port = port
    secrets = [a.user_token for a in settings.accounts] + [settings.server.api_secret, settings.server.admin_secret,
                                                          settings.security.encryption_key,
                                                          *(k.key for k in settings.security.api_keys),
                                                          *settings.translation.secrets()]
    configure_logging(settings.logging.level, secrets, style=settings.logging.format)
    runtime = Runtime(settings)
    if runtime.sandbox:
        console.print(SANDBOX_BANNER)
    console.print(f"mjproxy listening on [bold]http://{settings.server.host}:{settings.server.port}[/] "
                  f"(API docs at /docs)")
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host=settings.server.host,
                                           port=settings.server.port, log_config=None,
                                           access_log=False))
    server.run()


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8090,
    job_duration: Annotated[float, typer.Option(help="Seconds a job takes (0 = instant)")] = 6.0,
) -> None:
    """Run the Discord + Midjourney emulator on its own (point any Discord client at it)."""
    from ..emulator import EmulatorConfig, run_standalone
    from ..logs import configure_logging

    configure_logging("INFO")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_standalone(host, port, EmulatorConfig(job_duration_s=job_duration)))


if __name__ == "__main__":
    app()
