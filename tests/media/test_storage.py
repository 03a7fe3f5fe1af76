"""The local directory backend and the usage accounting in front of every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjproxy.media.accounting import CountingStorage
from mjproxy.media.storage import LocalStorage, Usage, content_type_of


async def test_put_get_list_and_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "images")
    assert await storage.task_ids() == [] and await storage.usage() == Usage(0, 0)
    await storage.put("1700000000000001/tok/image.png", b"png-bytes", "image/png")
    await storage.put("1700000000000001/tok/image.thumb.webp", b"webp", "image/webp")
    await storage.put("1700000000000002/tok/image.png", b"x", "image/png")
    found = await storage.get("1700000000000001/tok/image.png")
    assert found is not None and found.data == b"png-bytes" and found.content_type == "image/png"
    assert found.etag.startswith('"') and found.etag.endswith('"')
    assert await storage.get("1700000000000001/tok/missing.png") is None
    assert await storage.task_ids() == ["1700000000000001", "1700000000000002"]
    assert await storage.usage() == Usage(len(b"png-bytes") + 4 + 1, 3)
    assert await storage.delete_task("1700000000000001") == Usage(len(b"png-bytes") + 4, 2)
    assert await storage.task_ids() == ["1700000000000002"]
    assert await storage.delete_task("1700000000000001") == Usage(0, 0)
    assert list((tmp_path / "images").rglob(".tmp-*")) == [], "no temporary file is left behind"


@pytest.mark.parametrize("key", ["../secret", "a/../../b", "/etc/passwd", "a//b", "a/./b", "a\\..\\b", ""])
async def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "images")
    (tmp_path / "secret").write_text("do not serve")
    assert storage.path_of(key) is None
    assert await storage.get(key) is None
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put(key, b"x", "image/png")
    assert await storage.delete_task(key) == Usage(0, 0)
    assert (tmp_path / "secret").exists()


async def test_counting_storage_keeps_exact_totals(tmp_path: Path) -> None:
    inner = LocalStorage(tmp_path)
    await inner.put("1/t/a.png", b"12345", "image/png")
    counting = CountingStorage(inner)
    assert await counting.recount() == Usage(5, 1)
    await counting.put("2/t/b.png", b"123", "image/png")
    await counting.put("2/t/c.webp", b"12", "image/webp")
    assert await counting.usage() == Usage(10, 3)
    await counting.delete_task("2")
    assert await counting.usage() == Usage(5, 1) == await inner.usage()


def test_content_types() -> None:
    assert content_type_of("x/y/1.png") == "image/png"
    assert content_type_of("x/y/1.thumb.webp") == "image/webp"
    assert content_type_of("x/y/preview.JPG") == "image/jpeg"
