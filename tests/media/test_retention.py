"""Retention against a real store and a real directory, with a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.engine.images import DISCORD_IMAGE_KEY, MEDIA_KEY, THUMBNAIL_KEY
from mjproxy.media.retention import RetentionJob
from mjproxy.media.storage import LocalStorage
from mjproxy.store import Database, SqlTaskRepository
from tests.store.factories import FakeClock

DAY = 86_400.0
NOW = 1_800_000_000.0


def finished(task_id: str, finished_at: float, status: TaskStatus = TaskStatus.SUCCESS) -> Task:
    return Task(id=task_id, action=TaskAction.IMAGINE, status=status, submit_time=int(finished_at * 1000) - 60_000,
                finish_time=int(finished_at * 1000), image_url=f"http://mj/media/{task_id}/t/image.png",
                image_urls=[{"url": "u", "thumbnail": "t", "index": 1}],
                extra={DISCORD_IMAGE_KEY: f"https://cdn.discordapp.com/{task_id}.png", THUMBNAIL_KEY: "thumb",
                       MEDIA_KEY: {"image": f"{task_id}/t/image.png"}})


async def test_old_images_go_recent_ones_stay(tmp_path: Path, any_db_url: str) -> None:
    clock = FakeClock(NOW)
    db = await Database.connect(any_db_url)
    repo = SqlTaskRepository(db, clock=clock)
    storage = LocalStorage(tmp_path / "images")
    old = finished(f"{int((NOW - 10 * DAY) * 1000)}000", NOW - 10 * DAY)
    recent = finished(f"{int((NOW - DAY) * 1000)}000", NOW - DAY)
    running = finished(f"{int((NOW - 20 * DAY) * 1000)}001", NOW - 20 * DAY, status=TaskStatus.IN_PROGRESS)
    old_orphan = f"{int((NOW - 30 * DAY) * 1000)}000"
    fresh_orphan = f"{int((NOW - 0.1 * DAY) * 1000)}000"
    for task in (old, recent, running):
        await repo.insert(task)
    for task_id in (old.id, recent.id, running.id, old_orphan, fresh_orphan):
        await storage.put(f"{task_id}/t/image.png", b"png", "image/png")
        await storage.put(f"{task_id}/t/1.png", b"part", "image/png")

    report = await RetentionJob(storage, repo, clock, retention_days=7, interval_seconds=60).run_once()

    assert (report.tasks, report.orphans, report.objects) == (1, 1, 4)
    assert sorted(await storage.task_ids()) == sorted([recent.id, running.id, fresh_orphan])
    expired = await repo.get(old.id)
    assert expired is not None
    assert expired.image_url == f"https://cdn.discordapp.com/{old.id}.png"
    assert expired.image_urls == [] and expired.extra["imagesExpired"] is True
    assert THUMBNAIL_KEY not in expired.extra and MEDIA_KEY not in expired.extra
    kept = await repo.get(recent.id)
    assert kept is not None and kept.image_urls and "imagesExpired" not in kept.extra
    again = await RetentionJob(storage, repo, clock, retention_days=7, interval_seconds=60).run_once()
    assert (again.tasks, again.orphans) == (0, 0), "a second pass finds nothing more"
    await db.close()
