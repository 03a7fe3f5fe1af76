"""The composition root: builds store, engine, accounts, notifier and sandbox from the configuration,
starts them in order and stops them in reverse. It holds no logic of its own: a task's way through the
engine (dispatch to an account, the accounts' events back to the tracker) lives in ``engine/dispatch.py``.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .builders import account_factory, load_keys, secure_tokens
from .config import Settings
from .discord.sessions import SessionFile
from .domain.account import AccountState, SelectionRule
from .domain.clock import Clock, SystemClock
from .domain.ids import SnowflakeGenerator
from .domain.task import Task
from .engine.accounts import AccountManager, definition_from_settings
from .engine.commits import GroupCommitter
from .engine.dispatch import Dispatch
from .engine.events import EventBus
from .engine.images import cdn_rewriter
from .engine.jobdesk import JobDesk
from .engine.keys import KeyRing
from .engine.reconcile import HistoryReconciler
from .engine.scheduler import Scheduler
from .engine.service import EngineLimits, TaskService
from .engine.timeouts import TimeoutSweeper
from .engine.tracker import Tracker
from .engine.translation import PromptTranslator
from .logs import redactor
from .media.service import MediaService
from .metrics import Metrics
from .midjourney.account import AccountRuntime
from .net.checker import PolicyForwardGuard, PolicyUrlGuard
from .net.guard import FetchPolicy, GuardedClient, policy_from_settings
from .notify.outbox import OutboxDelivery, OutboxJournal, OutboxPolicy
from .sandbox import sandbox_enabled, start_sandbox
from .store.accounts import AccountRepository
from .store.api_keys import ApiKeyRepository
from .store.database import Database
from .store.errors import TokenKeyError
from .store.outbox import OutboxStore
from .store.postgres import PoolOptions
from .store.repository import SqlTaskRepository
from .store.secrets import KEY_FILE, cipher_of, data_dir_key
from .translate import translator_from_settings

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.bus = EventBus()
        self.metrics = Metrics()
        self.translator = PromptTranslator(translator_from_settings(settings.translation),
                                           settings.translation.on_failure,
                                           ascii_too=settings.translation.translate_ascii)
        self.metrics.attach(self.bus)
        self.emulator: Emulator | None = None
        self.accounts_manager: AccountManager | None = None
        self.keys: KeyRing | None = None
        self.media: MediaService | None = None
        self.jobdesk: JobDesk | None = None  # the /v2 use cases
        self.fetch_policy: FetchPolicy = policy_from_settings(settings.security)
        # Where clients reach this server, when images.public_base_url is not set: whoever binds the
        # socket (the CLI, a test harness) may set it; else server.host:port.
        self.served_base_url = ""
        self._dispatch = Dispatch()
        self._snowflakes = SnowflakeGenerator()
        self._db: Database | None = None
        self._service: TaskService | None = None
        self._tracker: Tracker | None = None
        self._scheduler: Scheduler | None = None
        self._sweeper: TimeoutSweeper | None = None
        self._notifier: OutboxDelivery | None = None
        self._committer: GroupCommitter | None = None
        self._sessions: SessionFile | None = None

    @property
    def service(self) -> TaskService:
        return _started(self._service)

    @property
    def tracker(self) -> Tracker:
        return _started(self._tracker)

    @property
    def webhooks(self) -> OutboxDelivery:
        """The callback outbox's delivery worker (the API shows and retries its events)."""
        return _started(self._notifier)

    @property
    def sandbox(self) -> bool:
        return sandbox_enabled(self.settings)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        settings, engine, images = self.settings, self.settings.engine, self.settings.images
        discord, account_settings = settings.discord, [a for a in settings.accounts if a.enabled]
        if self.sandbox:
            self.emulator, discord, account_settings = await start_sandbox(settings)
        data_dir = Path(settings.storage.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        storage = settings.storage
        db = self._db = await Database.connect(storage.database_url, pool=PoolOptions(
            size=storage.pool_size, max_overflow=storage.pool_max_overflow,
            timeout_seconds=storage.pool_timeout_seconds, statement_timeout_seconds=storage.statement_timeout_seconds,
            connect_timeout_seconds=storage.connect_timeout_seconds, reconnect_seconds=storage.reconnect_seconds))
        repo = SqlTaskRepository(db, clock=self.clock)
        scheduler = self._scheduler = Scheduler(self._dispatch, clock=self.clock,
                                                rule=SelectionRule(engine.selection_rule))
        sessions = self._sessions = SessionFile(data_dir / "gateway-sessions.json")
        sessions.load()
        sessions.start()
        key = settings.security.encryption_key
        if not key:  # tokens are encrypted at rest by default, with a key of this installation's own
            key, created = data_dir_key(settings.storage.data_dir)
            redactor().add(key)
            if created:
                log.warning("generated the token encryption key %s (mode 0600): back it up with the database, "
                            "or set security.encryption_key (the same on every node sharing a database)",
                            data_dir / KEY_FILE)
        account_repo = AccountRepository(db, clock=self.clock, cipher=cipher_of(key))
        try:
            await secure_tokens(db, account_repo)
        except TokenKeyError:
            self._db = None  # closed: nothing of this start is left to stop
            raise
        self.keys = await load_keys(settings.security, ApiKeyRepository(db, clock=self.clock), self.clock)
        factory = account_factory(discord, sessions, self._dispatch, self.clock, self._snowflakes, self.metrics)
        manager = self.accounts_manager = AccountManager(account_repo, scheduler, factory, self.clock)
        policy, outbox = OutboxPolicy.of(settings.webhooks), OutboxStore(db)
        committer = self._committer = GroupCommitter(repo, self.bus, journal=OutboxJournal(outbox, self.clock, policy))
        committer.start()
        if images.rehost:
            self.media = MediaService(images, settings.storage.data_dir, self.clock, repo, self.public_base_url)
        tracker = self._tracker = Tracker(committer, self.clock, slots=scheduler, notices=manager,
                                          rewrite_url=cdn_rewriter(discord.cdn_base),
                                          image_host=self.media.pipeline if self.media else None,
                                          store_previews=images.store_previews)
        limits = EngineLimits(max_prompt_length=engine.max_prompt_length, banned_words=tuple(engine.banned_words),
                              default_notify_hook=settings.server.notify_hook or None)
        service = self._service = TaskService(repo, tracker, scheduler, self.clock, limits, accounts=manager,
                                              uploads_dir=data_dir / "uploads",
                                              url_guard=PolicyUrlGuard(self.fetch_policy),
                                              forward_guard=PolicyForwardGuard(self.fetch_policy),
                                              translator=self.translator)
        manager.bind_engine(service)
        reconciler = HistoryReconciler(tracker, manager, self.clock)
        self._dispatch.connect(tracker, reconciler, service)
        self.bus.subscribe(self._dispatch.discard_finished_uploads)
        self.jobdesk = JobDesk(service, tracker, self.bus, manager, self.clock,
                               submit_wait_seconds=settings.useapi.submit_wait_seconds)
        # Client-supplied callback URLs go through the SSRF guard; the operator's own server.notify_hook need not.
        self._notifier = OutboxDelivery(outbox, self.bus, self.clock, policy,
                                        timeout_seconds=settings.server.notify_timeout_seconds,
                                        guard=GuardedClient(self.fetch_policy),
                                        trusted_urls=frozenset({settings.server.notify_hook} - {""}))
        self._notifier.start()
        self.metrics.bind(accounts=manager, outbox=outbox)
        await manager.load([definition_from_settings(a) for a in account_settings], ephemeral=self.sandbox)
        try:
            recovered = await service.recover()
        finally:
            self._dispatch.open()
        if recovered:
            log.info("recovered %d unfinished task(s) from the store", recovered)
        self._dispatch.spawn(reconciler.reconcile_after_restart())
        self._sweeper = TimeoutSweeper(tracker, self.clock, engine.timeout_sweep_seconds, last_look=reconciler.settle)
        self._sweeper.start()
        if self.media is not None:
            await self.media.start()
        # Everything built so far lives as long as the process. Moving it out of the collector's reach
        # keeps full (generation 2) collections from re-scanning it: they paused the event loop for
        # 20–40 ms under load, which showed up directly in task latency (bench/README.md).
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self._scheduler is not None:
            await self._scheduler.shutdown()
        if self.accounts_manager is not None:
            await self.accounts_manager.stop_all()
        if self._tracker is not None:  # no bot event can start a download any more
            await self._tracker.stop_image_jobs()
        for part in (self.media, self._sessions, self._committer):
            if part is not None:
                await part.stop()
        if self._notifier is not None:
            await self._notifier.aclose()
        await self.translator.aclose()
        if self._db is not None:
            await self._db.close()
        if self.emulator is not None:
            await self.emulator.stop()

    # -- views -----------------------------------------------------------------------------------
    def public_base_url(self) -> str:
        """The base of the links to images this server stores (docs/images.md)."""
        configured = self.settings.images.public_base_url or self.served_base_url
        if configured:
            return configured
        server = self.settings.server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        return f"http://{host}:{server.port}"

    @property
    def accounts(self) -> dict[str, AccountRuntime]:
        """The connected (enabled) accounts by id."""
        if self.accounts_manager is None:
            return {}
        return {runtime.id: runtime for runtime in self.accounts_manager.runtimes()}

    def account_health(self) -> list[dict[str, Any]]:
        if self.accounts_manager is None:
            return []
        return [self.accounts_manager.view(d.id) for d in self.accounts_manager.definitions()]

    def sandbox_description(self) -> dict[str, Any] | None:
        if self.emulator is None:
            return None
        return {"enabled": True, "emulator": self.emulator.base_url,
                "note": "built-in Discord + Midjourney emulator; images are generated locally"}

    def live_task_count(self) -> int:
        return len(self._tracker.live_tasks()) if self._tracker else 0

    def ready_accounts(self) -> list[str]:
        return [a.id for a in self.accounts.values() if a.state == AccountState.READY]


def _started(part: T | None) -> T:
    if part is None:
        raise RuntimeError("the runtime is not started")
    return part


__all__ = ["Runtime", "Task"]
