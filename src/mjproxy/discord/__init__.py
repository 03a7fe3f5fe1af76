"""A generic Discord **user** client: REST routes and rate limits, command discovery, the gateway.

Knows nothing of Midjourney. Curated public API below; modules hold the details.
"""

from mjproxy.discord.commands import ApplicationCommandCache
from mjproxy.discord.errors import (
    INVALID_COMMAND_VERSION,
    AuthenticationFailed,
    BadRequest,
    CommandNotFound,
    DiscordConnectionError,
    DiscordError,
    DiscordServerError,
    ErrorDetail,
    Forbidden,
    GatewayClosed,
    GatewayError,
    HTTPException,
    NotFound,
    RateLimited,
    Unauthorized,
    UnexpectedResponse,
    is_invalid_command_version,
)
from mjproxy.discord.gateway import GatewayClient, GatewayState
from mjproxy.discord.ratelimit import RateLimiter
from mjproxy.discord.rest import RestClient
from mjproxy.discord.routes import Route, RouteTemplate

__all__ = [
    "INVALID_COMMAND_VERSION",
    "ApplicationCommandCache",
    "AuthenticationFailed",
    "BadRequest",
    "CommandNotFound",
    "DiscordConnectionError",
    "DiscordError",
    "DiscordServerError",
    "ErrorDetail",
    "Forbidden",
    "GatewayClient",
    "GatewayClosed",
    "GatewayError",
    "GatewayState",
    "HTTPException",
    "NotFound",
    "RateLimited",
    "RateLimiter",
    "RestClient",
    "Route",
    "RouteTemplate",
    "Unauthorized",
    "UnexpectedResponse",
    "is_invalid_command_version",
]
