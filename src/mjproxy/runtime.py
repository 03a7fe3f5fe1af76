"""Builds and runs everything from the configuration: store, engine, accounts, notifier, sandbox."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DEFAULT_USER_AGENT, AccountSettings, DiscordSettings, Settings
from .discord.sessions import SessionFile
from .domain.account import AccountDefinition, AccountState, SelectionRule
from .domain.api_keys import hash_key, key_hint
from .domain.clock import Clock, SystemClock
from .domain.ids import SnowflakeGenerator
from .domain.task import Task
from .engine.accounts import AccountManager, definition_from_settings
from .engine.commits import GroupCommitter
from .engine.events import EventBus, TaskChanged
from .engine.keys import KeyRing
from .engine.ports import AccountPort
from .engine.reconcile import HistoryReconciler
from .engine.scheduler import Scheduler
from .engine.service import EngineLimits, TaskService
from .engine.timeouts import TimeoutSweeper
from .engine.tracker import Tracker
from .logs import redactor
from .media.service import MediaService
from .metrics import Metrics
from .midjourney.account import AccountRuntime, AccountSpec, DiscordEndpoints
from .midjourney.events import AccountEvent, SessionReplaced
from .net.guard import FetchPolicy, GuardedClient, check_url, policy_from_settings
from .notify.outbox import OutboxDelivery, OutboxJournal, OutboxPolicy
from .store.accounts import AccountRepository
from .store.api_keys import ApiKeyRepository
from .store.database import Database
from .store.errors import TokenKeyError
from .store.outbox import OutboxStore
from .store.repository import SqlTaskRepository
from .store.secrets import cipher_of

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)

DISCORD_CDN = "https://cdn.discordapp.com"


def make_url_rewriter(cdn_base: str) -> Any:
    if not cdn_base:
        return None

    def rewrite(url: str) -> str:
        return cdn_base + url[len(DISCORD_CDN):] if url.startswith(DISCORD_CDN) else url

    return rewrite


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.bus = EventBus()
        self.metrics = Metrics()
        self.metrics.attach(self.bus)
        self.emulator: Emulator | None = None
        self.accounts_manager: AccountManager | None = None
        self._snowflakes = SnowflakeGenerator()
        self._db: Database | None = None
        self._service: TaskService | None = None
        self._tracker: Tracker | None = None
        self._scheduler: Scheduler | None = None
        self._sweeper: TimeoutSweeper | None = None
        self._notifier: OutboxDelivery | None = None
        self._committer: GroupCommitter | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.keys: KeyRing | None = None
        self.fetch_policy: FetchPolicy = policy_from_settings(settings.security)
        self.media: MediaService | None = None
        # Where clients reach this server, when images.public_base_url is not set: whoever binds the
        # socket (the CLI, a test harness) may set it; else server.host:port.
        self.served_base_url = ""
        self._reconciler: HistoryReconciler | None = None
        self._sessions: SessionFile | None = None
        self._recovered = asyncio.Event()

    @property
    def service(self) -> TaskService:
        if self._service is None:
            raise RuntimeError("the runtime is not started")
        return self._service

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            raise RuntimeError("the runtime is not started")
        return self._tracker

    @property
    def webhooks(self) -> OutboxDelivery:
        """The callback outbox's delivery worker (the API shows and retries its events)."""
        if self._notifier is None:
            raise RuntimeError("the runtime is not started")
        return self._notifier

    @property
    def sandbox(self) -> bool:
        mode = self.settings.sandbox.enabled
        return mode == "always" or (mode == "auto" and not self.settings.accounts)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        discord = self.settings.discord
        account_settings = [a for a in self.settings.accounts if a.enabled]
        if self.sandbox:
            discord, account_settings = await self._start_sandbox()
        Path(self.settings.storage.data_dir).mkdir(parents=True, exist_ok=True)
        self._db = await Database.connect(self.settings.storage.database_url)
        repo = SqlTaskRepository(self._db, clock=self.clock)
        engine = self.settings.engine
        scheduler = Scheduler(executor=lambda account, task: self.service.execute(account, task), clock=self.clock,
                              rule=SelectionRule(engine.selection_rule))
        endpoints = DiscordEndpoints(api_base=discord.api_base, gateway_url=discord.gateway_url,
                                     api_version=discord.api_version, compress=discord.compress,
                                     activity_base=discord.activity_base)

        sessions = self._sessions = SessionFile(Path(self.settings.storage.data_dir) / "gateway-sessions.json")
        sessions.load()
        sessions.start()

        def runtime_for(definition: AccountDefinition) -> AccountRuntime:
            redactor().add(definition.user_token)  # tokens from the store or the admin API, not only the file
            account = AccountRuntime(_spec(definition), endpoints, sink=self._dispatch, clock=self.clock,
                                     snowflakes=self._snowflakes, sync_on_ready=discord.sync_on_connect,
                                     gateway_session=sessions.get(definition.channel_id),
                                     on_gateway_session=functools.partial(sessions.update, definition.channel_id))
            account.observe_rest(self.metrics.rest_observer(definition.id))
            return account

        cipher = cipher_of(self.settings.security.encryption_key)
        account_repo = AccountRepository(self._db, clock=self.clock, cipher=cipher)
        try:
            encrypted = await account_repo.secure_tokens()
        except TokenKeyError as exc:
            log.critical("cannot start: %s", exc)
            await self._db.close()
            self._db = None
            raise
        if encrypted:
            await self._db.scrub()  # the clear-text versions must not linger in free pages or the WAL
            log.info("encrypted the Discord token of %d stored account(s) with security.encryption_key", encrypted)
        key_repo = ApiKeyRepository(self._db, clock=self.clock)
        for configured in self.settings.security.api_keys:
            digest = configured.sha256 or hash_key(configured.key)
            await key_repo.seed(configured.name, configured.scope, digest,
                                hint=key_hint(configured.key) if configured.key else "(configured)")
        self.keys = KeyRing(key_repo, refresh_seconds=self.settings.security.key_cache_seconds, clock=self.clock)
        await self.keys.load()
        manager = AccountManager(account_repo, scheduler, runtime_for, self.clock)
        policy, outbox = OutboxPolicy.of(self.settings.webhooks), OutboxStore(self._db)
        self._committer = GroupCommitter(repo, self.bus, journal=OutboxJournal(outbox, self.clock, policy))
        self._committer.start()
        images = self.settings.images
        if images.rehost:
            self.media = MediaService(images, self.settings.storage.data_dir, self.clock, repo, self.public_base_url)
        tracker = Tracker(self._committer, self.clock, on_finished=scheduler.release,
                          rewrite_url=make_url_rewriter(discord.cdn_base), on_account_notice=manager.on_notice,
                          image_host=self.media.pipeline if self.media else None,
                          store_previews=images.store_previews, on_job_done=scheduler.release)
        limits = EngineLimits(max_prompt_length=engine.max_prompt_length,
                              banned_words=tuple(engine.banned_words),
                              default_notify_hook=self.settings.server.notify_hook or None)
        self._scheduler, self._tracker, self.accounts_manager = scheduler, tracker, manager
        self._service = TaskService(repo, tracker, scheduler, self.clock, limits, accounts=self._account_port,
                                    uploads_dir=Path(self.settings.storage.data_dir) / "uploads",
                                    url_guard=self._check_client_url)
        manager.bind_engine(fail_task=self._service.fail_task, move_task=self._service.move_task)
        self.bus.subscribe(self._discard_finished_uploads)
        # Client-supplied callback URLs go through the SSRF guard; the operator's own server.notify_hook need not.
        self._notifier = OutboxDelivery(outbox, self.bus, self.clock, policy,
                                        timeout_seconds=self.settings.server.notify_timeout_seconds,
                                        guard=GuardedClient(self.fetch_policy),
                                        trusted_urls=frozenset({self.settings.server.notify_hook} - {""}))
        self._notifier.start()
        self.metrics.bind(accounts=manager, outbox=outbox)
        await manager.load([definition_from_settings(a) for a in account_settings], ephemeral=self.sandbox)
        try:
            recovered = await self._service.recover(self._account_port)
        finally:
            self._recovered.set()
        if recovered:
            log.info("recovered %d unfinished task(s) from the store", recovered)
        reconciler = self._reconciler = HistoryReconciler(tracker, self._account_port, self.clock)
        self._spawn(reconciler.reconcile_after_restart())
        self._sweeper = TimeoutSweeper(tracker, self.clock, engine.timeout_sweep_seconds,
                                       last_look=reconciler.settle)
        self._sweeper.start()
        if self.media is not None:
            await self.media.start()
        # Everything built so far lives as long as the process. Moving it out of the collector's reach
        # keeps full (generation 2) collections from re-scanning it: they paused the event loop for
        # 20–40 ms under load, which showed up directly in task latency (bench/README.md).
        gc.collect()
        gc.freeze()

    async def _start_sandbox(self) -> tuple[DiscordSettings, list[AccountSettings]]:
        from .emulator import Emulator, EmulatorConfig

        config = EmulatorConfig(job_duration_s=self.settings.sandbox.job_duration_seconds)
        self.emulator = Emulator(config)
        await self.emulator.start(host="127.0.0.1", port=self.settings.sandbox.port)
        sandbox = self.emulator.sandbox
        log.warning("SANDBOX MODE: no Discord account is configured, so mjproxy runs against its built-in "
                    "Discord + Midjourney emulator at %s. Images are generated locally; nothing reaches "
                    "Discord.", self.emulator.base_url)
        discord = self.settings.discord.model_copy(update={
            "api_base": self.emulator.base_url, "gateway_url": self.emulator.gateway_url,
            "activity_base": self.emulator.base_url, "cdn_base": ""})
        account = AccountSettings(name="sandbox", guild_id=sandbox.guild_id, channel_id=sandbox.channel_id,
                                  user_token=sandbox.token)
        return discord, [account]

    async def stop(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self._scheduler is not None:
            await self._scheduler.shutdown()
        if self.accounts_manager is not None:
            await self.accounts_manager.stop_all()
        if self._tracker is not None:  # no bot event can start a download any more
            await self._tracker.stop_image_jobs()
        if self.media is not None:
            await self.media.stop()
        if self._sessions is not None:
            await self._sessions.stop()
        if self._committer is not None:
            await self._committer.stop()
        if self._notifier is not None:
            await self._notifier.aclose()
        if self._db is not None:
            await self._db.close()
        if self.emulator is not None:
            await self.emulator.stop()

    def public_base_url(self) -> str:
        """The base of the links to images this server stores (docs/images.md)."""
        configured = self.settings.images.public_base_url or self.served_base_url
        if configured:
            return configured
        server = self.settings.server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host
        return f"http://{host}:{server.port}"

    # -- glue ------------------------------------------------------------------------------------
    async def _check_client_url(self, url: str) -> None:
        await check_url(url, self.fetch_policy)

    async def _dispatch(self, account_id: str, event: AccountEvent) -> None:
        # Accounts connect before the stored tasks are taken back; a resumed session replays at once, and
        # those events must find their tasks tracked. Each account's dispatcher just waits until then.
        await self._recovered.wait()
        if isinstance(event, SessionReplaced) and self._reconciler is not None:
            self._spawn(self._reconciler.after_session_replaced(account_id))
            return
        await self.tracker.handle(account_id, event)

    @property
    def accounts(self) -> dict[str, AccountRuntime]:
        """The connected (enabled) accounts by id."""
        if self.accounts_manager is None:
            return {}
        return {runtime.id: runtime for runtime in self.accounts_manager.runtimes()}

    def _account_port(self, account_id: str) -> AccountPort | None:
        return self.accounts_manager.get(account_id) if self.accounts_manager else None

    def _discard_finished_uploads(self, event: TaskChanged) -> None:
        """Client images were kept only until sent; a finished task no longer needs them."""
        if event.status in ("SUCCESS", "FAILURE", "CANCEL") and self._service is not None:
            self._spawn(self._service.discard_uploads(event.task_id))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        job = asyncio.get_running_loop().create_task(work)
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    # -- views -----------------------------------------------------------------------------------
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


def _spec(definition: AccountDefinition) -> AccountSpec:
    return AccountSpec(name=definition.name or definition.channel_id, guild_id=definition.guild_id,
                       channel_id=definition.channel_id, user_token=definition.user_token,
                       user_agent=definition.user_agent or DEFAULT_USER_AGENT, core_size=definition.core_size,
                       queue_size=definition.queue_size, timeout_minutes=definition.timeout_minutes,
                       min_interval_seconds=definition.min_interval_seconds, jitter_seconds=definition.jitter_seconds)


__all__ = ["Runtime", "Task"]
