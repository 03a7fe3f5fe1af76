"""Gateway sessions that outlive the process, so a restart can RESUME instead of IDENTIFY.

After a crash the events Discord dispatched while we were down are still in the session's replay buffer
for a few minutes. Resuming that session replays them, ephemeral replies included, which the channel
history cannot give. A session is node-local state (one process owns an account's connection), so it is
kept in a small JSON file in the data directory, written atomically and at most every ``flush_seconds``.
The sequence saved is the last one *processed*, never merely received: replaying an event twice is
harmless, skipping one is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Discord keeps a disconnected session resumable for a few minutes; older snapshots are not worth a try.
MAX_SNAPSHOT_AGE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    session_id: str
    sequence: int
    resume_gateway_url: str
    user_id: str | None = None
    saved_at: float = 0.0  # epoch seconds


class SessionFile:
    """``{key: SessionSnapshot}`` in one JSON file (mode 0600)."""

    def __init__(self, path: Path, *, flush_seconds: float = 0.5,
                 max_age_seconds: float = MAX_SNAPSHOT_AGE_SECONDS) -> None:
        self._path = path
        self._flush_seconds = flush_seconds
        self._max_age = max_age_seconds
        self._sessions: dict[str, SessionSnapshot] = {}
        self._dirty = False
        self._job: asyncio.Task[None] | None = None

    def load(self) -> None:
        try:
            raw: Any = json.loads(self._path.read_text("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable gateway session file %s: %s", self._path, exc)
            return
        now = time.time()
        for key, value in (raw.items() if isinstance(raw, dict) else ()):
            try:
                snapshot = SessionSnapshot(**value)
            except TypeError:
                continue
            if now - snapshot.saved_at <= self._max_age:
                self._sessions[str(key)] = snapshot

    def get(self, key: str) -> SessionSnapshot | None:
        return self._sessions.get(key)

    def update(self, key: str, snapshot: SessionSnapshot | None) -> None:
        if snapshot is None:
            if self._sessions.pop(key, None) is not None:
                self._dirty = True
            return
        self._sessions[key] = snapshot
        self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        data = {key: asdict(snapshot) for key, snapshot in self._sessions.items()}
        temporary = self._path.with_suffix(".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(temporary, self._path)
        except OSError as exc:
            self._dirty = True
            log.warning("could not save gateway sessions to %s: %s", self._path, exc)

    def start(self) -> None:
        self._job = asyncio.get_running_loop().create_task(self._flush_loop(), name="gateway-session-file")

    async def stop(self) -> None:
        if self._job is not None:
            self._job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._job
            self._job = None
        self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            self.flush()
