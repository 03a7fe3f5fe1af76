"""REST routes as typed constants (hikari style).

A :class:`RouteTemplate` is a method plus a path template; compiling it with parameters gives a
:class:`Route`, which knows its concrete URL path and its rate-limit bucket key. Discord keys its
per-route buckets by template **and** major parameter (channel, guild or webhook), so two channels
never share a bucket even though they share a template.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

#: Parameters that split a template into independent rate-limit buckets (Discord's "major parameters").
MAJOR_PARAMETERS: Final = ("channel_id", "guild_id", "webhook_id")

_FORMATTER = string.Formatter()


def _template_fields(path: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(path) if name)


class Route:
    """One concrete request target: ``Route("GET", "/channels/{channel_id}", channel_id="1")``."""

    __slots__ = ("method", "params", "path")

    def __init__(self, method: str, path: str, **params: str | int) -> None:
        missing = _template_fields(path) - params.keys()
        if missing:
            raise ValueError(f"route {method} {path} is missing parameters: {sorted(missing)}")
        self.method: str = method.upper()
        self.path: str = path
        self.params: Mapping[str, str] = {key: str(value) for key, value in params.items()}

    @property
    def url(self) -> str:
        """The path with parameters filled in and percent-encoded (emoji, ``@``, slashes in values)."""
        return self.path.format_map({key: quote(value, safe="") for key, value in self.params.items()})

    @property
    def template_key(self) -> str:
        """``METHOD /path/{template}``: what Discord's ``X-RateLimit-Bucket`` hash is learnt against."""
        return f"{self.method} {self.path}"

    @property
    def major_parameters(self) -> str:
        return ":".join(self.params[name] for name in MAJOR_PARAMETERS if name in self.params)

    @property
    def bucket_key(self) -> str:
        """Template plus major parameter values: the default identity of a rate-limit bucket."""
        return f"{self.template_key}:{self.major_parameters}"

    def __repr__(self) -> str:
        return f"Route({self.method} {self.url})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route):
            return NotImplemented
        return (self.method, self.path, dict(self.params)) == (other.method, other.path, dict(other.params))

    def __hash__(self) -> int:
        return hash((self.method, self.path, tuple(sorted(self.params.items()))))


class RouteTemplate:
    """A method and a path template, compiled into a :class:`Route` per call."""

    __slots__ = ("method", "path")

    def __init__(self, method: str, path: str) -> None:
        self.method: Final = method.upper()
        self.path: Final = path

    def compile(self, **params: str | int) -> Route:
        return Route(self.method, self.path, **params)

    def __repr__(self) -> str:
        return f"RouteTemplate({self.method} {self.path})"


# --- users -------------------------------------------------------------------------------------------
GET_CURRENT_USER: Final = RouteTemplate("GET", "/users/@me")
GET_DM_CHANNELS: Final = RouteTemplate("GET", "/users/@me/channels")
CREATE_DM: Final = RouteTemplate("POST", "/users/@me/channels")

# --- interactions and commands ----------------------------------------------------------------------
CREATE_INTERACTION: Final = RouteTemplate("POST", "/interactions")
GET_GUILD_COMMAND_INDEX: Final = RouteTemplate("GET", "/guilds/{guild_id}/application-command-index")
GET_CHANNEL_COMMAND_INDEX: Final = RouteTemplate("GET", "/channels/{channel_id}/application-command-index")
GET_USER_COMMAND_INDEX: Final = RouteTemplate("GET", "/users/@me/application-command-index")
GET_APPLICATION_COMMAND_INDEX: Final = RouteTemplate(
    "GET", "/applications/{application_id}/application-command-index"
)

# --- channels and messages ---------------------------------------------------------------------------
GET_CHANNEL: Final = RouteTemplate("GET", "/channels/{channel_id}")
GET_MESSAGES: Final = RouteTemplate("GET", "/channels/{channel_id}/messages")
CREATE_MESSAGE: Final = RouteTemplate("POST", "/channels/{channel_id}/messages")
CREATE_ATTACHMENTS: Final = RouteTemplate("POST", "/channels/{channel_id}/attachments")
ADD_REACTION: Final = RouteTemplate(
    "PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
)
REMOVE_REACTION: Final = RouteTemplate(
    "DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
)
