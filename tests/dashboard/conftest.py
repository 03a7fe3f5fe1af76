"""Browser tests of the dashboard: a live sandbox server (real emulator, real database) and real headless
Chromium (Debian's ``chromium``), driven by Playwright's async API in the test's own event loop.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` with the flags below and a
fresh user-data directory. Where Chromium is missing the browser tests are skipped, except when
``BROWSER_REQUIRED=1`` (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mjproxy.emulator import Emulator
from tests.e2e.harness import Proxy, proxy_settings, running_emulator, running_proxy

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).parents[2] / "docs" / "screenshots"))
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}


def _require_browser() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        if os.environ.get("BROWSER_REQUIRED") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)")
        pytest.skip(f"{CHROMIUM} is not installed")


@dataclass
class Site:
    """The running server, its emulator, two browser helpers and the keys the test created."""

    proxy: Proxy
    emulator: Emulator
    browser: Any  # playwright BrowserContext
    admin_key: str

    @property
    def url(self) -> str:
        return self.proxy.base_url

    async def page(self, viewport: dict[str, int] | None = None) -> Any:
        page = await self.browser.new_page()
        await page.set_viewport_size(viewport or DESKTOP)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        return page

    async def sign_in(self, page: Any, key: str | None = None) -> None:
        await page.goto(f"{self.url}/dashboard/login")
        await page.get_by_label("API key").fill(key or self.admin_key)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{self.url}/dashboard/")

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def create_key(self, name: str, scope: str = "user") -> str:
        keys = self.proxy.runtime.keys
        assert keys is not None
        _, key = await keys.create(name, scope)  # type: ignore[arg-type]
        return key


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    _require_browser()
    from playwright.async_api import async_playwright

    profile = tmp_path / "chromium-profile"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=DESKTOP)
        try:
            yield context
        finally:
            await context.close()


async def start_site(tmp_path: Path, browser: Any, **knobs: Any) -> AsyncIterator[Site]:
    async with running_emulator(**knobs) as emulator, running_proxy(proxy_settings(emulator, tmp_path)) as proxy:
        keys = proxy.runtime.keys
        assert keys is not None
        _, admin_key = await keys.create("dashboard admin", "admin")
        proxy.client.headers["Authorization"] = f"Bearer {admin_key}"
        yield Site(proxy, emulator, browser, admin_key)


@pytest.fixture
async def site(tmp_path: Path, browser: Any) -> AsyncIterator[Site]:
    """Instant jobs: for tests that only need results."""
    async for started in start_site(tmp_path, browser):
        yield started


@pytest.fixture
async def slow_site(tmp_path: Path, browser: Any) -> AsyncIterator[Site]:
    """Jobs that take a few seconds, so that progress can be watched rising."""
    async for started in start_site(tmp_path, browser, job_duration_s=4):
        yield started
