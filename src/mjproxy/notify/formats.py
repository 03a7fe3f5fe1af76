"""Callback body formats: each dialect decides what its subscribers receive for a task change.

A task's callback URL is ``properties.notifyHook`` of its JSON; ``properties.notifyFormat`` names the
format (absent: ``"mj"``, the midjourney-proxy Task JSON itself). Dialects register their renderer at
import time; the notifier looks it up per event, so one delivery path serves every dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Renderer = Callable[[dict[str, Any]], dict[str, Any]]

DEFAULT_FORMAT = "mj"

_renderers: dict[str, Renderer] = {DEFAULT_FORMAT: lambda snapshot: snapshot}


def register_format(name: str, render: Renderer) -> None:
    _renderers[name] = render


def render_callback(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The body to POST for this task snapshot, in the format the task asked for."""
    name = snapshot.get("properties", {}).get("notifyFormat") or DEFAULT_FORMAT
    render = _renderers.get(str(name), _renderers[DEFAULT_FORMAT])
    return render(snapshot)
