"""Persistence: the task repository and the database it runs on (SQLite by default, or PostgreSQL).

    db = await Database.connect("sqlite+aiosqlite:///data/mjproxy.db")
    db = await Database.connect("postgresql+asyncpg://mjproxy@db:5432/mjproxy", pool=PoolOptions(size=20))
    repo = SqlTaskRepository(db)
"""

from mjproxy.store.codec import task_from_row, task_to_row
from mjproxy.store.database import Database
from mjproxy.store.errors import SchemaTooNewError, StoreError, TaskConflict, TaskNotFound
from mjproxy.store.migrations import LATEST_VERSION
from mjproxy.store.postgres import PoolOptions
from mjproxy.store.repository import OPEN_STATUSES, SqlTaskRepository, TaskRepository

__all__ = [
    "LATEST_VERSION",
    "OPEN_STATUSES",
    "Database",
    "PoolOptions",
    "SchemaTooNewError",
    "SqlTaskRepository",
    "StoreError",
    "TaskConflict",
    "TaskNotFound",
    "TaskRepository",
    "task_from_row",
    "task_to_row",
]
