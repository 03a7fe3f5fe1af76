"""Sandbox mode: with no Discord account configured, mjproxy runs against its built-in emulator."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .config import AccountSettings, DiscordSettings, Settings

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)


def sandbox_enabled(settings: Settings) -> bool:
    mode = settings.sandbox.enabled
    return mode == "always" or (mode == "auto" and not settings.accounts)


async def start_sandbox(settings: Settings) -> tuple[Emulator, DiscordSettings, list[AccountSettings]]:
    """Start the emulator; the Discord endpoints and the one account that point at it."""
    from .emulator import Emulator, EmulatorConfig  # imported only in sandbox mode: it costs memory

    emulator = Emulator(EmulatorConfig(job_duration_s=settings.sandbox.job_duration_seconds))
    await emulator.start(host="127.0.0.1", port=settings.sandbox.port)
    sandbox = emulator.sandbox
    log.warning("SANDBOX MODE: no Discord account is configured, so mjproxy runs against its built-in "
                "Discord + Midjourney emulator at %s. Images are generated locally; nothing reaches "
                "Discord.", emulator.base_url)
    discord = settings.discord.model_copy(update={
        "api_base": emulator.base_url, "gateway_url": emulator.gateway_url,
        "activity_base": emulator.base_url, "cdn_base": ""})
    account = AccountSettings(name="sandbox", guild_id=sandbox.guild_id, channel_id=sandbox.channel_id,
                              user_token=sandbox.token)
    return emulator, discord, [account]
