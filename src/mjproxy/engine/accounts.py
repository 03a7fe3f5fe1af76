"""The accounts at run time: their definitions (stored), their runtimes (connected), their health.

The configuration seeds definitions; the admin API edits them while mjproxy runs. An account that needs
a human (captcha, pending moderation message, ban, no subscription) is held out of rotation with the
reason shown, and its tasks fail or move at once instead of waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..domain.account import AccountDefinition, AccountState, FastExhaustedPolicy, SpeedMode
from ..domain.clock import Clock, now_ms
from ..domain.secrets import mask_secret
from ..domain.task import Task, TaskStatus
from ..midjourney.account import AccountRuntime
from ..midjourney.errors import SubmitError
from ..midjourney.events import NoticeKind
from ..store.accounts import AccountRepository
from ..store.errors import AccountConflict
from .ports import HeldTasks
from .scheduler import Scheduler
from .service import PINNED_KEY

log = logging.getLogger(__name__)

RuntimeFactory = Callable[[AccountDefinition], AccountRuntime]

# Fields whose change needs a new gateway connection.
_CONNECTION_FIELDS = frozenset({"user_token", "guild_id", "user_agent"})

_HOLDS: dict[NoticeKind, AccountState] = {
    NoticeKind.PENDING_MOD: AccountState.PENDING_MOD_MESSAGE,
    NoticeKind.BLOCKED: AccountState.BLOCKED,
    NoticeKind.SUBSCRIPTION: AccountState.SUBSCRIPTION_REQUIRED,
    NoticeKind.CAPTCHA: AccountState.CAPTCHA_REQUIRED,
    NoticeKind.TOS: AccountState.PENDING_MOD_MESSAGE,
}


class AccountManager:
    def __init__(self, repo: AccountRepository, scheduler: Scheduler, factory: RuntimeFactory, clock: Clock) -> None:
        self._repo = repo
        self._scheduler = scheduler
        self._factory = factory
        self._clock = clock
        self._definitions: dict[str, AccountDefinition] = {}
        self._runtimes: dict[str, AccountRuntime] = {}
        self._ephemeral: set[str] = set()  # sandbox accounts: never written to the store
        self._tasks: HeldTasks | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def bind_engine(self, tasks: HeldTasks) -> None:
        """Who takes the tasks of an account that leaves rotation (set once the engine exists)."""
        self._tasks = tasks

    # -- loading -------------------------------------------------------------------------------
    async def load(self, seeds: list[AccountDefinition], *, ephemeral: bool = False) -> None:
        """Seed the store from the configuration (never overwriting run-time edits), then start them."""
        if ephemeral:
            for seed in seeds:
                self._ephemeral.add(seed.id)
                self._definitions[seed.id] = seed
        else:
            for seed in seeds:
                seed.created_at = seed.created_at or now_ms(self._clock)
                await self._repo.upsert_seed(seed)
            for definition in await self._repo.list():
                self._definitions[definition.id] = definition
        for definition in list(self._definitions.values()):
            if definition.enabled:
                await self._start(definition)

    async def _start(self, definition: AccountDefinition) -> AccountRuntime:
        runtime = self._factory(definition)
        runtime.definition = definition
        self._runtimes[definition.id] = runtime
        self._scheduler.register(runtime)
        await runtime.start()
        return runtime

    async def _stop(self, account_id: str, reason: str) -> None:
        runtime = self._runtimes.pop(account_id, None)
        if runtime is None:
            return
        queue = self._scheduler.unregister(account_id)
        if queue is not None:
            for task in [*queue.waiting, *queue.running.values()]:
                await self._release_task(task, reason, running=task.id in queue.running)
        await runtime.stop()

    async def stop_all(self) -> None:
        for job in list(self._background):
            job.cancel()
        for runtime in list(self._runtimes.values()):
            await runtime.stop()
        self._runtimes.clear()

    # -- queries ---------------------------------------------------------------------------------
    def definitions(self) -> list[AccountDefinition]:
        return list(self._definitions.values())

    def definition(self, account_id: str) -> AccountDefinition | None:
        return self._definitions.get(account_id)

    def get(self, account_id: str) -> AccountRuntime | None:
        return self._runtimes.get(account_id)

    def runtimes(self) -> list[AccountRuntime]:
        return list(self._runtimes.values())

    def view(self, account_id: str) -> dict[str, Any]:
        """The account as the API shows it: midjourney-proxy's field names, the token masked, and health."""
        d = self._definitions[account_id]
        runtime = self._runtimes.get(account_id)
        queue = self._scheduler.queue_of(account_id)
        return {
            "id": d.id, "name": d.name or d.id, "guildId": d.guild_id, "channelId": d.channel_id,
            "userToken": mask_secret(d.user_token), "userAgent": d.user_agent, "enable": d.enabled,
            "coreSize": d.core_size, "queueSize": d.queue_size, "timeoutMinutes": d.timeout_minutes,
            "weight": d.weight, "remark": d.remark, "modes": [m.value.upper() for m in d.modes],
            "dailyLimit": d.daily_limit, "minIntervalSeconds": d.min_interval_seconds,
            "jitterSeconds": d.jitter_seconds, "remixAutoSubmit": d.remix_auto_submit,
            "fastExhaustedPolicy": d.fast_exhausted_policy.value, "fastHoursThreshold": d.fast_hours_threshold,
            "createdAt": d.created_at, "updatedAt": d.updated_at,
            "state": runtime.state.value if runtime else AccountState.DISABLED.value,
            "reason": runtime.state_reason if runtime else "disabled by the operator",
            "since": int(runtime.state_since * 1000) if runtime else d.updated_at,
            "running": len(queue.running) if queue else 0,
            "queued": len(queue.waiting) if queue else 0,
            "jobsToday": queue.jobs_today if queue else 0,
            "fastExhausted": runtime.fast_exhausted if runtime else False,
            "profile": runtime.profile() if runtime else None,
        }

    # -- editing -----------------------------------------------------------------------------------
    async def create(self, definition: AccountDefinition) -> AccountDefinition:
        if definition.id in self._definitions:
            raise AccountConflict(definition.id)
        definition.created_at = definition.updated_at = now_ms(self._clock)
        await self._repo.insert(definition)
        self._definitions[definition.id] = definition
        if definition.enabled:
            await self._start(definition)
        return definition

    async def update(self, account_id: str, changes: dict[str, Any]) -> AccountDefinition:
        current = self._definitions.get(account_id)
        if current is None:
            raise KeyError(account_id)
        if "channel_id" in changes and changes["channel_id"] != account_id:
            raise ValueError("channel_id is the account's id and cannot change; create a new account")
        merged = AccountDefinition.from_json({**current.to_json(), **changes})
        merged.updated_at = now_ms(self._clock)
        await self._save(merged)
        reconnect = any(getattr(merged, f) != getattr(current, f) for f in _CONNECTION_FIELDS)
        runtime = self._runtimes.get(account_id)
        if runtime is not None and reconnect:
            await self._stop(account_id, "the account's connection settings changed")
            await self._start(merged)
        elif runtime is not None:
            runtime.definition = merged
            runtime.apply_limits(core_size=merged.core_size, queue_size=merged.queue_size,
                                 timeout_minutes=merged.timeout_minutes, name=merged.name,
                                 min_interval_seconds=merged.min_interval_seconds,
                                 jitter_seconds=merged.jitter_seconds)
            self._scheduler.drain(account_id)
        return merged

    async def _save(self, definition: AccountDefinition) -> None:
        self._definitions[definition.id] = definition
        if definition.id not in self._ephemeral:
            await self._repo.update(definition)

    async def delete(self, account_id: str) -> bool:
        if account_id not in self._definitions:
            return False
        await self._stop(account_id, "the account was deleted")
        del self._definitions[account_id]
        if account_id not in self._ephemeral:
            await self._repo.delete(account_id)
        return True

    async def set_enabled(self, account_id: str, enabled: bool) -> AccountDefinition:
        definition = await self.update(account_id, {"enabled": enabled})
        if enabled and account_id not in self._runtimes:
            await self._start(definition)
        elif not enabled:
            await self._stop(account_id, "the account was disabled by the operator")
        return definition

    async def reconnect(self, account_id: str) -> None:
        definition = self._require(account_id)
        await self._stop(account_id, "the account is reconnecting")
        if definition.enabled:
            await self._start(definition)

    async def reset(self, account_id: str) -> None:
        self._require_runtime(account_id).reset()
        self._scheduler.drain(account_id)

    def _require(self, account_id: str) -> AccountDefinition:
        definition = self._definitions.get(account_id)
        if definition is None:
            raise KeyError(account_id)
        return definition

    def _require_runtime(self, account_id: str) -> AccountRuntime:
        self._require(account_id)
        runtime = self._runtimes.get(account_id)
        if runtime is None:
            raise SubmitError(f"account {account_id} is disabled")
        return runtime

    # -- Midjourney account commands ------------------------------------------------------------------
    async def sync(self, account_id: str) -> dict[str, Any]:
        runtime = self._require_runtime(account_id)
        profile = await runtime.sync()
        self._check_fast_hours(runtime)
        return profile

    async def set_mode(self, account_id: str, mode: SpeedMode) -> str:
        return await self._require_runtime(account_id).set_mode(mode.value)

    async def click_setting(self, account_id: str, label_or_custom_id: str) -> dict[str, Any]:
        return await self._require_runtime(account_id).click_setting(label_or_custom_id)

    async def change_version(self, account_id: str, version: str) -> dict[str, Any]:
        return await self._require_runtime(account_id).change_version(version)

    # -- health ------------------------------------------------------------------------------------------
    def on_notice(self, account_id: str, kind: NoticeKind, reason: str) -> None:
        """An account-level notice from Midjourney (the tracker already failed the task it came with)."""
        runtime = self._runtimes.get(account_id)
        if runtime is None:
            return
        if kind == NoticeKind.CREDITS_EXHAUSTED:
            self._fast_exhausted(runtime, reason)
            return
        state = _HOLDS.get(kind)
        if state is None:
            return
        log.warning("account %s held: %s (%s)", runtime.name, state.value, reason)
        runtime.hold(state, reason)
        self._spawn(self._release_all(account_id, f"account {runtime.name} needs attention ({state.value}): {reason}"))

    def _fast_exhausted(self, runtime: AccountRuntime, reason: str) -> None:
        runtime.fast_exhausted = True
        definition = runtime.definition
        if definition is not None and definition.fast_exhausted_policy == FastExhaustedPolicy.LEAVE_FAST_ROTATION:
            runtime.hold(AccountState.FAST_EXHAUSTED, reason)
            return
        log.warning("account %s is out of fast hours; switching it to relax", runtime.name)
        self._spawn(self._switch_to_relax(runtime))

    async def _switch_to_relax(self, runtime: AccountRuntime) -> None:
        try:
            await runtime.set_mode(SpeedMode.RELAX.value)
        except SubmitError as exc:
            log.error("account %s: /relax failed: %s", runtime.name, exc)

    def _check_fast_hours(self, runtime: AccountRuntime) -> None:
        info, definition = runtime.info, runtime.definition
        if info is None or definition is None or info.fast_time_remaining_hours is None:
            return
        if info.fast_time_remaining_hours <= definition.fast_hours_threshold and not runtime.fast_exhausted:
            self._fast_exhausted(runtime, f"/info shows {info.fast_time_remaining_hours:g} fast hours left")

    async def _release_all(self, account_id: str, reason: str) -> None:
        queue = self._scheduler.queue_of(account_id)
        if queue is None:
            return
        for task in list(queue.running.values()):
            await self._release_task(task, reason, running=True)
        for task in list(queue.waiting):
            await self._release_task(task, reason, running=False)

    async def _release_task(self, task: Task, reason: str, *, running: bool) -> None:
        """A task of an account leaving rotation: waiting ones without a parent move, the rest fail."""
        movable = task.parent_id is None and not task.extra.get(PINNED_KEY)
        if not running and movable and task.status == TaskStatus.NOT_START and self._tasks is not None:
            await self._tasks.move_task(task)
            return
        if self._tasks is not None:
            await self._tasks.fail_task(task.id, reason)

    def _spawn(self, coroutine: Any) -> None:
        job = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(job)
        job.add_done_callback(self._background.discard)


def definition_from_settings(settings: Any) -> AccountDefinition:
    """An AccountDefinition from an ``[[accounts]]`` block of the configuration (same field names)."""
    return AccountDefinition.from_json(settings.model_dump())
