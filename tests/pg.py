"""A throwaway PostgreSQL for the tests: ``initdb`` into a temporary directory, ``postgres`` on a free loopback port.

Registered as a pytest plugin by ``tests/conftest.py``. The cluster is started once per test session - per
xdist worker, as every worker is its own session, so workers never share one - and only when a test asks for
it; each test gets a database of its own (``pg_url``), dropped afterwards, and the whole cluster is stopped
and removed at the end.

``initdb`` refuses to run as root: as root everything runs as the unprivileged ``postgres`` user
(``runuser``), otherwise as the current user. Without PostgreSQL binaries the tests that need them skip,
unless ``POSTGRES_REQUIRED=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

T = TypeVar("T")

SYSTEM_USER = "postgres"  # runs the server when the tests run as root
SUPERUSER = "postgres"  # the database role the tests connect as (trust authentication, loopback only)
_BINARIES = ("initdb", "pg_ctl", "postgres")


def find_bin_dir() -> Path | None:
    """A directory holding initdb, pg_ctl and postgres: $PG_BIN_DIR, the PATH, then Debian's layout."""
    candidates = [os.environ.get("PG_BIN_DIR", "")]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
        candidates.append(str(Path(on_path).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).exists() for name in _BINARIES):
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop (own thread)."""
    async def main() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


class PostgresCluster:
    """One ``postgres`` server with its data directory; ``start``, ``stop``, ``restart``, ``remove``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        # The parent must be enterable by the postgres user; the data directory itself is 0700 and its own.
        self.base = Path(tempfile.mkdtemp(prefix="mjproxy-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log = self.base / "postgres.log"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self._free: list[str] = []  # emptied databases, ready to be handed out again

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                               f"{result.stderr}\n{log}")
        return result

    def init(self) -> None:
        for path in (self.data, self.socket_dir):
            path.mkdir(mode=0o700)
        self.log.touch()
        if self.as_root:
            for path in (self.data, self.socket_dir, self.log):
                shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
        # --no-sync and the settings in start(): a test cluster never needs to survive a power cut.
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")

    def start(self) -> None:
        options = " ".join([
            f"-p {self.port}", f"-k {self.socket_dir}", f"-c listen_addresses={self.host}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c shared_buffers=16MB", "-c max_connections=200", "-c log_min_messages=warning",
        ])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SUPERUSER}@{self.host}:{self.port}/{database}"

    async def _admin(self, *statements: str, database: str = "postgres") -> None:
        conn = await asyncpg.connect(host=self.host, port=self.port, user=SUPERUSER, database=database)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    def create_database(self) -> str:
        """An empty database of its own; its SQLAlchemy URL. Give it back with ``drop_database``.

        CREATE DATABASE costs a checkpoint (most of a second on a busy machine), so databases given back are
        emptied and handed out again: dropping the public schema with everything in it takes milliseconds.
        """
        if self._free:
            return self.url(self._free.pop())
        name = "t_" + uuid.uuid4().hex[:16]
        run_async(lambda: self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Empty the database (ending any connection a test left open) and keep it for the next test."""
        name = url.rsplit("/", 1)[1]
        run_async(lambda: self._admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
            f"AND pid <> pg_backend_pid()",
            "DROP SCHEMA public CASCADE", "CREATE SCHEMA public", database=name))
        self._free.append(name)


def _unavailable(reason: str) -> None:
    if os.environ.get("POSTGRES_REQUIRED") == "1":
        pytest.fail(f"PostgreSQL is required here (POSTGRES_REQUIRED=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL server (started on first use)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _unavailable("initdb, pg_ctl and postgres were not found (apt-get install postgresql, or set PG_BIN_DIR)")
    assert bin_dir is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("the tests run as root and runuser is missing")
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.remove()
        raise
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(url)
