"""How this client presents itself: a browser User-Agent and the user-form IDENTIFY payload (§2.5)."""

from __future__ import annotations

import copy
import re
from typing import Any, Final

DEFAULT_USER_AGENT: Final = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

#: Capabilities sent by the Java and C# proxies; the value does not change which events arrive.
USER_CAPABILITIES: Final = 16381

_CHROME_VERSION = re.compile(r"Chrome/([\d.]+)")


def default_properties(user_agent: str | None = None) -> dict[str, Any]:
    """Super-properties of a Chrome web client; ``browser_version`` follows the User-Agent."""
    agent = user_agent or DEFAULT_USER_AGENT
    match = _CHROME_VERSION.search(agent)
    return {
        "os": "Mac OS X",
        "browser": "Chrome",
        "device": "",
        "system_locale": "en-US",
        "browser_user_agent": agent,
        "browser_version": match.group(1) if match else "124.0.0.0",
        "os_version": "",
        "referrer": "",
        "referring_domain": "",
        "referrer_current": "",
        "referring_domain_current": "",
        "release_channel": "stable",
        "client_build_number": 222963,
        "client_event_source": None,
    }


def build_identify(token: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The ``d`` of op 2 for a user account: no ``intents`` (bot-only), ``compress`` always false."""
    return {
        "token": token,
        "capabilities": USER_CAPABILITIES,
        "properties": copy.deepcopy(properties),
        "presence": {"status": "online", "since": 0, "activities": [], "afk": False},
        "compress": False,
        "client_state": {
            "guild_versions": {},
            "highest_last_message_id": "0",
            "read_state_version": 0,
            "user_guild_settings_version": -1,
            "user_settings_version": -1,
            "private_channels_version": "0",
            "api_code_version": 0,
        },
    }
