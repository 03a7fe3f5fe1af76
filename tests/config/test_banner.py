"""The start-up banner names the TOML table literally (Rich markup once swallowed it)."""

from rich.console import Console

from mjproxy.cli import SANDBOX_BANNER


def test_sandbox_banner_shows_the_accounts_table_literally() -> None:
    console = Console(record=True, width=200)
    console.print(SANDBOX_BANNER)
    text = console.export_text()
    assert "Add [[accounts]] to the configuration" in text
    assert "SANDBOX MODE" in text
