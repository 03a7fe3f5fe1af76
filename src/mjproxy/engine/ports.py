"""The engine's seams: what it needs from an account runtime (``midjourney/account/``'s ``AccountRuntime``
implements :class:`AccountPort`), and the one small interface each engine part gives another.

Each collaborator gets the object it talks to, typed by what it may ask of it, instead of loose callbacks:

* the scheduler runs a task through a :class:`TaskRunner` (``engine.dispatch.Dispatch``);
* the tracker frees slots through :class:`SlotReleaser` (the scheduler) and reports account-level notices
  to :class:`AccountNotices` (the account manager);
* the service and the reconciler find accounts in an :class:`AccountDirectory` (the account manager) and
  check client URLs with a :class:`UrlGuard` (``net.checker``);
* the account manager hands a held account's tasks to :class:`HeldTasks` (the service).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ..domain.account import AccountState
from ..domain.task import Task
from ..midjourney.events import NoticeKind
from ..midjourney.interactions import InteractionSpec, Upload

NonceAssigner = Callable[[str], Awaitable[None]]
"""Called with a fresh nonce before each interaction is sent, so it is stored first (DESIGN invariant 2)."""


class AccountPort(Protocol):
    @property
    def id(self) -> str:
        """The account id: its channel id (midjourney-proxy's ``discordInstanceId``)."""

    @property
    def name(self) -> str: ...

    @property
    def core_size(self) -> int: ...

    @property
    def queue_size(self) -> int: ...

    @property
    def timeout_minutes(self) -> float: ...

    @property
    def state(self) -> AccountState: ...

    @property
    def state_reason(self) -> str | None: ...

    @property
    def state_since(self) -> float: ...

    @property
    def remix(self) -> bool:
        """Whether Midjourney's remix mode is on for this account (variations then open a modal)."""

    async def perform(self, spec: InteractionSpec, assign_nonce: NonceAssigner) -> str | None:
        """Send what a task asks for; raises SubmitError. Returns the prompt sent when it differs."""

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        """Post images to the account's channel; their CDN URLs."""

    async def fetch_seed(self, job_hash: str) -> str:
        """The seed of a finished job, through /show and the ✉️ reaction."""


class TaskRunner(Protocol):
    async def execute(self, account: AccountPort, task: Task) -> None:
        """Run a task that got a slot on ``account``: send its interaction (it reports its own failures)."""


class SlotReleaser(Protocol):
    def release(self, task: Task) -> None:
        """Free the task's slot (or waiting place) on its account and start the next task there."""


class AccountNotices(Protocol):
    def on_notice(self, account_id: str, kind: NoticeKind, reason: str) -> None:
        """Midjourney said something about the account itself (a hold, no fast hours left)."""


class AccountDirectory(Protocol):
    def get(self, account_id: str) -> AccountPort | None:
        """The running account with this id, if any."""


class UrlGuard(Protocol):
    async def check(self, url: str) -> None:
        """Raise ValueError saying why the server must not request this client-supplied URL."""


class HeldTasks(Protocol):
    async def fail_task(self, task_id: str, reason: str) -> None:
        """Fail a task of an account that left rotation."""

    async def move_task(self, task: Task) -> None:
        """Move a waiting task of an account that left rotation to another account (or fail it)."""


class NoAccounts:
    """An empty :class:`AccountDirectory` (tests and embedded use without account runtimes)."""

    def get(self, account_id: str) -> AccountPort | None:
        return None
