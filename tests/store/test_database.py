"""The SQLite side connections survive cancellation: a cancelled write never overlaps the next or the close."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from mjproxy.store import Database
from mjproxy.store.codec import task_to_row
from mjproxy.store.schema import tasks

from .factories import full_task


async def test_a_cancelled_batch_finishes_before_the_next_batch_and_the_close_use_its_connection(
        sqlite_url: str) -> None:
    db = await Database.connect(sqlite_url)
    rows = [task_to_row(full_task(f"{1_800_000_000_000_000 + n}", nonce=None)) for n in range(30_000)]
    for _ in range(5):
        first = asyncio.ensure_future(db.execute_many(tasks.insert(), rows[:15_000]))
        await asyncio.sleep(0.005)
        first.cancel()  # the worker thread carries on; the next batch must wait for it
        await db.execute_many(sa.delete(tasks), [{}])
        await db.execute_many(tasks.insert(), rows[15_000:15_010])
        await db.execute_many(sa.delete(tasks), [{}])
    first = asyncio.ensure_future(db.execute_many(tasks.insert(), rows[:15_000]))
    await asyncio.sleep(0.005)
    first.cancel()
    await db.close()  # must not close the connection under the running batch
