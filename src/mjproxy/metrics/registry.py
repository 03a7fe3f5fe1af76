"""One runtime's metrics: the registry, what feeds it, and the text a scrape answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .discord import AccountRestObserver, DiscordMetrics
from .levels import AccountLevels, WebhookLevels
from .tasks import TaskTransitions

if TYPE_CHECKING:
    from ..engine.accounts import AccountManager
    from ..engine.events import EventBus
    from ..store.outbox import OutboxStore

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tasks = TaskTransitions(self.registry)
        self.discord = DiscordMetrics(self.registry)
        self.accounts = AccountLevels()
        self.webhooks = WebhookLevels()
        self.registry.register(self.accounts)
        self.registry.register(self.webhooks)
        self._outbox: OutboxStore | None = None

    def attach(self, bus: EventBus) -> None:
        self.tasks.attach(bus)

    def bind(self, *, accounts: AccountManager, outbox: OutboxStore) -> None:
        """Called once the runtime has opened the database and loaded the accounts."""
        self.accounts.bind(accounts)
        self._outbox = outbox

    def rest_observer(self, account: str) -> AccountRestObserver:
        return self.discord.observer(account)

    async def render(self) -> bytes:
        if self._outbox is not None:
            self.webhooks.counts = await self._outbox.counts()
        return generate_latest(self.registry)
