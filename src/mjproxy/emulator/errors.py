"""Discord REST error bodies (discord.md §4.5)."""

from __future__ import annotations

from typing import Any

from .state import JsonDict


class DiscordHTTPError(Exception):
    def __init__(self, status: int, body: JsonDict) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def unauthorized() -> DiscordHTTPError:
    return DiscordHTTPError(401, {"message": "401: Unauthorized", "code": 0})


def not_found() -> DiscordHTTPError:
    return DiscordHTTPError(404, {"message": "404: Not Found", "code": 0})


def unknown_channel() -> DiscordHTTPError:
    return DiscordHTTPError(404, {"message": "Unknown Channel", "code": 10003})


def unknown_guild() -> DiscordHTTPError:
    return DiscordHTTPError(404, {"message": "Unknown Guild", "code": 10004})


def unknown_message() -> DiscordHTTPError:
    return DiscordHTTPError(404, {"message": "Unknown Message", "code": 10008})


def unknown_application() -> DiscordHTTPError:
    return DiscordHTTPError(404, {"message": "Unknown Application", "code": 10002})


def missing_access() -> DiscordHTTPError:
    return DiscordHTTPError(403, {"message": "Missing Access", "code": 50001})


def bots_only() -> DiscordHTTPError:
    return DiscordHTTPError(403, {"message": "Only bots can use this endpoint", "code": 20002})


def invalid_json() -> DiscordHTTPError:
    return DiscordHTTPError(400, {"message": "The request body contains invalid JSON.", "code": 50109})


def empty_message() -> DiscordHTTPError:
    return DiscordHTTPError(400, {"message": "Cannot send an empty message", "code": 50006})


def invalid_form(path: list[str | int], code: str, message: str) -> DiscordHTTPError:
    """400 50035 with the nested `errors` tree: {"data": {"options": {"0": {"_errors": [...]}}}}."""
    node: Any = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        node = {str(key): node}
    return DiscordHTTPError(400, {"code": 50035, "errors": node, "message": "Invalid Form Body"})


def outdated_command() -> DiscordHTTPError:
    return invalid_form(["data"], "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION",
                        "This command is outdated, please try again in a few minutes")
