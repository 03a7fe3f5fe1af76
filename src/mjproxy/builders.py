"""The pieces ``runtime.py`` composes that need a few steps to build: stored tokens secured, API keys
seeded, and account runtimes made from their definitions."""

from __future__ import annotations

import logging

from .config import DEFAULT_USER_AGENT, DiscordSettings, SecuritySettings
from .discord.sessions import SessionFile
from .domain.account import AccountDefinition
from .domain.api_keys import hash_key, key_hint
from .domain.clock import Clock
from .domain.ids import SnowflakeGenerator
from .engine.accounts import RuntimeFactory
from .engine.keys import KeyRing
from .logs import redactor
from .metrics import Metrics
from .midjourney.account import AccountRuntime, AccountSpec, DiscordEndpoints, EventSink
from .store.accounts import AccountRepository
from .store.api_keys import ApiKeyRepository
from .store.database import Database
from .store.errors import TokenKeyError

log = logging.getLogger("mjproxy.runtime")  # start-up messages, where operators have always found them


async def secure_tokens(db: Database, accounts: AccountRepository) -> None:
    """Encrypt stored tokens still in clear text; a wrong key stops the start (and closes the database)."""
    try:
        encrypted = await accounts.secure_tokens()
    except TokenKeyError as exc:
        log.critical("cannot start: %s", exc)
        await db.close()
        raise
    if encrypted:
        await db.scrub()  # the clear-text versions must not linger in free pages or the WAL
        log.info("encrypted the Discord token of %d stored account(s) with security.encryption_key", encrypted)


async def load_keys(security: SecuritySettings, repo: ApiKeyRepository, clock: Clock) -> KeyRing:
    """Seed the configured API keys (hashed), then load the key ring every request is checked against."""
    for configured in security.api_keys:
        digest = configured.sha256 or hash_key(configured.key)
        await repo.seed(configured.name, configured.scope, digest,
                        hint=key_hint(configured.key) if configured.key else "(configured)")
    keys = KeyRing(repo, refresh_seconds=security.key_cache_seconds, clock=clock)
    await keys.load()
    return keys


def account_factory(discord: DiscordSettings, sessions: SessionFile, sink: EventSink, clock: Clock,
                    snowflakes: SnowflakeGenerator, metrics: Metrics) -> RuntimeFactory:
    """How the account manager makes the runtime of an account definition."""
    endpoints = DiscordEndpoints(api_base=discord.api_base, gateway_url=discord.gateway_url,
                                 api_version=discord.api_version, compress=discord.compress,
                                 activity_base=discord.activity_base)

    def runtime_for(definition: AccountDefinition) -> AccountRuntime:
        redactor().add(definition.user_token)  # tokens from the store or the admin API, not only the file
        account = AccountRuntime(account_spec(definition), endpoints, sink=sink, clock=clock, snowflakes=snowflakes,
                                 sync_on_ready=discord.sync_on_connect, sessions=sessions)
        account.observe_rest(metrics.rest_observer(definition.id))
        return account

    return runtime_for


def account_spec(definition: AccountDefinition) -> AccountSpec:
    return AccountSpec(name=definition.name or definition.channel_id, guild_id=definition.guild_id,
                       channel_id=definition.channel_id, user_token=definition.user_token,
                       user_agent=definition.user_agent or DEFAULT_USER_AGENT, core_size=definition.core_size,
                       queue_size=definition.queue_size, timeout_minutes=definition.timeout_minutes,
                       min_interval_seconds=definition.min_interval_seconds, jitter_seconds=definition.jitter_seconds)
