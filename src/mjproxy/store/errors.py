"""The store's exception tree: callers catch these, never a driver's or SQLAlchemy's own errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the persistence layer raises on purpose."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer mjproxy; running older code on it could corrupt it."""

    def __init__(self, database_version: int, code_version: int) -> None:
        super().__init__(
            f"database schema version {database_version} is newer than the {code_version} this mjproxy "
            f"understands; upgrade mjproxy or point it at another database"
        )
        self.database_version = database_version
        self.code_version = code_version


class DatabaseUnavailable(StoreError):
    """The database could not be reached for longer than the configured reconnect window (PostgreSQL)."""


class TaskNotFound(StoreError, LookupError):
    """An update addressed a task whose row no longer exists (deleted, or never inserted)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is not in the store")
        self.task_id = task_id


class TaskConflict(StoreError):
    """An insert collided with a stored task: same id, or a nonce already used (nonces are unique)."""


class AccountNotFound(StoreError, LookupError):
    """An update addressed an account that is not stored (deleted meanwhile, or never created)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} is not in the store")
        self.account_id = account_id


class AccountConflict(StoreError):
    """An insert named an account id (channel id) that is already stored."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} already exists")
        self.account_id = account_id


class TokenKeyError(StoreError):
    """Stored Discord tokens cannot be read with the configured encryption key (missing or wrong).

    Start-up stops on it: carrying on would mean dropping accounts silently or overwriting them.
    """
