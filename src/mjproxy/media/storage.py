"""Where re-hosted images live: one small interface, a local directory and S3-compatible storage.

Keys look like ``<taskId>/<token>/<name>``: the task id first, so everything of one task is one prefix
(retention deletes it in one go), and a random token so that public links cannot be guessed from the
time-ordered task ids. Objects are written once and never change, so they are served as immutable.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                 ".gif": "image/gif"}


def content_type_of(key: str) -> str:
    suffix = os.path.splitext(key)[1].lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class Usage:
    bytes: int
    files: int


class ImageStorage(Protocol):
    """A flat key → bytes store. Implementations do their blocking work off the event loop."""

    name: str

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (overwriting: keys are unique per task, so this never happens)."""

    async def get(self, key: str) -> StoredObject | None:
        """The object, or None when absent."""

    def public_url(self, key: str) -> str | None:
        """A permanent direct link, or None when mjproxy must serve (or redirect to) the object itself."""

    def presigned_url(self, key: str) -> str | None:
        """A short-lived direct link, or None when the backend has none (local files)."""

    async def delete_task(self, task_id: str) -> Usage:
        """Delete every object of one task; returns what was deleted."""

    async def task_ids(self) -> list[str]:
        """Every task that has stored objects."""

    async def usage(self) -> Usage:
        """What the store holds."""

    async def close(self) -> None:
        """Release connections."""


def _valid_key(key: str) -> bool:
    parts = key.split("/")
    return bool(parts) and all(part and part not in (".", "..") and "\\" not in part for part in parts)


class LocalStorage:
    """A directory on disk, served by mjproxy itself under ``<base>/media/<key>``."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path | None:
        """The file behind a key, or None for a key that would leave the root (``..``, absolute)."""
        if not _valid_key(key):
            return None
        return self.root / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_of(key)
        if path is None:
            raise ValueError(f"invalid storage key {key!r}")
        await asyncio.to_thread(_write_atomically, path, data)

    async def get(self, key: str) -> StoredObject | None:
        path = self.path_of(key)
        if path is None:
            return None
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return StoredObject(data, content_type_of(key), etag_of(data))

    def public_url(self, key: str) -> str | None:
        return None

    def presigned_url(self, key: str) -> str | None:
        return None

    async def delete_task(self, task_id: str) -> Usage:
        path = self.path_of(task_id)
        if path is None or "/" in task_id:
            return Usage(0, 0)
        return await asyncio.to_thread(_remove_tree, path)

    async def task_ids(self) -> list[str]:
        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            return sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())

        return await asyncio.to_thread(scan)

    async def usage(self) -> Usage:
        return await asyncio.to_thread(_scan, self.root)

    async def close(self) -> None:
        return None


def etag_of(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def _write_atomically(path: Path, data: bytes) -> None:
    # Write then rename: a reader (or a crash) never sees half a file under the final name.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _remove_tree(path: Path) -> Usage:
    if not path.is_dir():
        return Usage(0, 0)
    usage = _scan(path)
    shutil.rmtree(path, ignore_errors=True)
    return usage


def _scan(root: Path) -> Usage:
    total = files = 0
    for directory, _, names in os.walk(root):
        for name in names:
            if name.startswith(".tmp-"):
                continue
            try:
                total += os.stat(os.path.join(directory, name)).st_size
            except FileNotFoundError:
                continue  # deleted while we walked
            files += 1
    return Usage(total, files)


class S3Storage:
    """S3-compatible object storage through boto3, whose blocking calls run in worker threads."""

    name = "s3"

    def __init__(self, *, bucket: str, prefix: str = "", endpoint_url: str = "", region: str = "us-east-1",
                 access_key_id: str = "", secret_access_key: str = "", public_base_url: str = "",
                 presign_seconds: int = 7 * 24 * 3600, addressing_style: str = "auto", acl: str = "") -> None:
        import boto3
        from botocore.config import Config

        self._bucket = bucket
        self._prefix = prefix
        self._public_base_url = public_base_url
        self._presign_seconds = presign_seconds
        self._extra_put: dict[str, str] = {"ACL": acl} if acl else {}
        credentials: dict[str, Any] = {}
        if access_key_id:
            credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        # boto3 clients are thread-safe; one shared client keeps its connection pool across calls.
        self._client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": addressing_style}),
            **credentials)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if not _valid_key(key):
            raise ValueError(f"invalid storage key {key!r}")
        await asyncio.to_thread(self._client.put_object, Bucket=self._bucket, Key=self._key(key), Body=data,
                                ContentType=content_type, CacheControl=IMMUTABLE, **self._extra_put)

    async def get(self, key: str) -> StoredObject | None:
        if not _valid_key(key):
            return None

        def read() -> StoredObject | None:
            try:
                found = self._client.get_object(Bucket=self._bucket, Key=self._key(key))
            except self._client.exceptions.NoSuchKey:
                return None
            data = found["Body"].read()
            return StoredObject(data, str(found.get("ContentType") or content_type_of(key)), etag_of(data))

        return await asyncio.to_thread(read)

    def public_url(self, key: str) -> str | None:
        return f"{self._public_base_url}/{quote(self._key(key))}" if self._public_base_url else None

    def presigned_url(self, key: str) -> str | None:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": self._key(key)}, ExpiresIn=self._presign_seconds)
        return url

    async def delete_task(self, task_id: str) -> Usage:
        if not _valid_key(task_id) or "/" in task_id:
            return Usage(0, 0)

        def delete() -> Usage:
            files = size = 0
            for page in self._pages(Prefix=self._key(task_id + "/")):
                contents = page.get("Contents", [])
                if contents:
                    keys = [{"Key": item["Key"]} for item in contents]
                    self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                    files += len(contents)
                    size += sum(int(item["Size"]) for item in contents)
            return Usage(size, files)

        return await asyncio.to_thread(delete)

    async def task_ids(self) -> list[str]:
        def scan() -> list[str]:
            ids: list[str] = []
            for page in self._pages(Prefix=self._prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    ids.append(str(common["Prefix"])[len(self._prefix):].rstrip("/"))
            return ids

        return await asyncio.to_thread(scan)

    async def usage(self) -> Usage:
        def scan() -> Usage:
            total = files = 0
            for page in self._pages(Prefix=self._prefix):
                for item in page.get("Contents", []):
                    total += int(item["Size"])
                    files += 1
            return Usage(total, files)

        return await asyncio.to_thread(scan)

    def _pages(self, **params: Any) -> Any:
        return self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, **params)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
