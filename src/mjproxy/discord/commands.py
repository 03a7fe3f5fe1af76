"""Application-command discovery (DESIGN invariant 8: ids and versions are discovered, never hard-coded).

One index request per scope (guild, DM channel, or the user) yields every command an application
exposes there; entries expire after ``ttl_seconds`` and are dropped on demand when Discord reports a
stale version. Concurrent callers of a cold scope share one in-flight request. The bundled snapshot
is a cold-start fallback only when Discord cannot be asked at all (network or server trouble), never
when it answers that we may not ask (401/403) — that is an account problem to surface.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from mjproxy.discord.errors import (
    CommandNotFound,
    DiscordConnectionError,
    DiscordError,
    Forbidden,
    HTTPException,
    Unauthorized,
)
from mjproxy.discord.rest import RestClient
from mjproxy.domain.clock import Clock, SystemClock

__all__ = ["ApplicationCommandCache", "CommandNotFound"]

log = logging.getLogger(__name__)

_Scope = tuple[str, str]  # ("guild", id) | ("channel", id) | ("user", "@me")


def _scope(guild_id: str | None, channel_id: str | None) -> _Scope:
    if guild_id is not None:
        return ("guild", guild_id)
    if channel_id is not None:
        return ("channel", channel_id)
    return ("user", "@me")


def _describe(scope: _Scope) -> str:
    return "the user's index" if scope[0] == "user" else f"{scope[0]} {scope[1]}"


@dataclass(slots=True)
class _Index:
    fetched_at: float
    commands: dict[tuple[str, str, int], dict[str, Any]]  # (application_id, name, type) → command


def _index_commands(index: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    commands: dict[tuple[str, str, int], dict[str, Any]] = {}
    for command in index.get("application_commands", []) or []:
        if not isinstance(command, dict):
            continue
        key = (str(command.get("application_id")), str(command.get("name")), int(command.get("type", 1)))
        commands[key] = command
    return commands


class ApplicationCommandCache:
    """Cache of application commands per scope, backed by the application-command-index routes."""

    def __init__(
        self,
        rest: RestClient,
        clock: Clock | None = None,
        ttl_seconds: float = 3600,
        fallback: dict[str, Any] | None = None,
    ) -> None:
        self._rest = rest
        self._clock = clock or SystemClock()
        self._ttl = ttl_seconds
        self._fallback = _index_commands(fallback) if fallback else None
        self._indexes: dict[_Scope, _Index] = {}
        self._inflight: dict[_Scope, asyncio.Task[_Index]] = {}

    async def get(
        self,
        application_id: str,
        name: str,
        *,
        guild_id: str | None = None,
        channel_id: str | None = None,
        command_type: int = 1,
    ) -> dict[str, Any]:
        """The full command object (``id``, ``version``, ``options``…) to echo back in an interaction."""
        scope = _scope(guild_id, channel_id)
        key = (application_id, name, command_type)
        index, fresh = await self._index(scope)
        command = index.commands.get(key)
        if command is None and not fresh:
            # Commands may have been deployed since we cached this scope: ask once more.
            index = await self._refresh_scope(scope)
            command = index.commands.get(key)
        if command is None:
            raise CommandNotFound(application_id, name, _describe(scope), command_type)
        return command

    def invalidate(self, *, guild_id: str | None = None, channel_id: str | None = None) -> None:
        """Forget a scope (after INVALID_VERSION, say); with no arguments forget everything."""
        if guild_id is None and channel_id is None:
            self._indexes.clear()
            return
        self._indexes.pop(_scope(guild_id, channel_id), None)

    async def refresh(
        self, *, guild_id: str | None = None, channel_id: str | None = None
    ) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Fetch the scope's index now; returns ``{(application_id, name, type): command}``."""
        index = await self._refresh_scope(_scope(guild_id, channel_id))
        return dict(index.commands)

    # --- internals -----------------------------------------------------------------------------------

    async def _index(self, scope: _Scope) -> tuple[_Index, bool]:
        """The cached index if still valid (``fresh`` False), else a new fetch (``fresh`` True)."""
        cached = self._indexes.get(scope)
        if cached is not None and self._clock.monotonic() - cached.fetched_at < self._ttl:
            return cached, False
        return await self._refresh_scope(scope), True

    async def _refresh_scope(self, scope: _Scope) -> _Index:
        task = self._inflight.get(scope)
        if task is None:
            task = asyncio.create_task(self._fetch(scope))
            self._inflight[scope] = task
            task.add_done_callback(lambda _: self._inflight.pop(scope, None))
        # shield: one caller being cancelled must not cancel the fetch the others wait on.
        return await asyncio.shield(task)

    async def _fetch(self, scope: _Scope) -> _Index:
        kind, ident = scope
        try:
            raw = await self._rest.get_application_command_index(
                guild_id=ident if kind == "guild" else None,
                channel_id=ident if kind == "channel" else None,
            )
        except (Unauthorized, Forbidden):
            raise
        except (HTTPException, DiscordConnectionError) as exc:
            if self._fallback is None:
                raise
            # Not cached: the next call asks Discord again instead of trusting the snapshot for an hour.
            log.warning("command index for %s unavailable (%s); using the bundled snapshot", scope, exc)
            return _Index(self._clock.monotonic(), dict(self._fallback))
        except DiscordError:
            raise
        index = _Index(self._clock.monotonic(), _index_commands(raw if isinstance(raw, dict) else {}))
        self._indexes[scope] = index
        log.debug("command index for %s: %d commands", scope, len(index.commands))
        return index
