from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import serve_in_loop
from tests.translate.fakes import FakeProviders


@pytest.fixture
async def providers() -> AsyncIterator[tuple[FakeProviders, str]]:
    fake = FakeProviders()
    server, job, port = await serve_in_loop(fake.app())
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await job


from tests.e2e.conftest import emulator  # noqa: E402,F401  (the sandbox emulator fixture)
