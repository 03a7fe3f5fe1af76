"""Re-hosting onto S3-compatible storage: a real S3 server (moto's server mode) on a loopback port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from mjproxy.emulator import Emulator
from tests.e2e.harness import proxy_settings, running_emulator, running_proxy
from tests.e2e.test_images import assert_grid_is_split, get, imagine

BUCKET = "mj-images"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing-secret"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its buckets per process, not per server: start every test from an empty S3.
    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
    client(endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing-secret")


def stored_keys(endpoint: str) -> list[str]:
    listing = client(endpoint).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def s3_images(endpoint: str, **extra: Any) -> dict[str, Any]:
    s3 = {"bucket": BUCKET, "prefix": "mj/", "endpoint_url": endpoint, "addressing_style": "path", **CREDENTIALS}
    return {"backend": "s3", "thumbnail_size": 96, "s3": s3 | extra.pop("s3", {}), **extra}


async def test_private_bucket_is_reached_through_presigned_redirects(s3_endpoint: str, tmp_path: Path) -> None:
    async with running_emulator(grid_size=512) as emulator, \
            running_proxy(proxy_settings(emulator, tmp_path, images=s3_images(s3_endpoint))) as proxy:
        task = await imagine(proxy, "a submarine garden")
        assert task["status"] == "SUCCESS", task["failReason"]
        # Links stay ours (they never expire); each one redirects to a fresh presigned S3 link.
        assert task["imageUrl"].startswith(proxy.base_url + "/media/")
        redirect = await proxy.client.get(task["imageUrl"].removeprefix(proxy.base_url))
        assert redirect.status_code == 307
        assert redirect.headers["location"].startswith(f"{s3_endpoint}/{BUCKET}/mj/{task['id']}/")
        assert "Signature" in redirect.headers["location"]
        await assert_grid_is_split(task, thumbnail_size=96)
        keys = stored_keys(s3_endpoint)
        assert len(keys) == 10 and all(key.startswith(f"mj/{task['id']}/") for key in keys)
        assert not (tmp_path / "images").exists(), "nothing is written to the local directory"
        routed = await proxy.client.get(f"/mj/image/{task['id']}", params={"index": 4})
        assert routed.status_code == 200
        assert routed.content == (await get(task["imageUrls"][3]["url"])).content
        health = (await proxy.client.get("/healthz")).json()["images"]
        assert health["backend"] == "s3" and health["files"] == 10


async def test_public_bucket_links_and_retention(s3_endpoint: str, tmp_path: Path) -> None:
    public = f"{s3_endpoint}/{BUCKET}"
    images = s3_images(s3_endpoint, s3={"public_base_url": public, "acl": "public-read"}, retention_days=0.00002,
                       cleanup_interval_seconds=3600, split_format="png")
    async with running_emulator(grid_size=512) as emulator, \
            running_proxy(proxy_settings(emulator, tmp_path, images=images)) as proxy:
        task = await imagine(proxy, "a copper kettle")
        assert task["status"] == "SUCCESS", task["failReason"]
        assert task["imageUrl"].startswith(f"{public}/mj/{task['id']}/")
        assert all(entry["url"].startswith(public) and entry["url"].endswith(".png") for entry in task["imageUrls"])
        await assert_grid_is_split(task, thumbnail_size=96, split_type="image/png")
        assert len(stored_keys(s3_endpoint)) == 10
        await asyncio.sleep(max(0.0, task["finishTime"] / 1000 + 2.0 - time.time()))  # past the retention
        assert proxy.runtime.media is not None
        await proxy.runtime.media.cleanup()
        assert stored_keys(s3_endpoint) == []
        expired = await proxy.fetch(task["id"])
        assert expired["properties"]["imagesExpired"] is True
        assert expired["imageUrl"] == task["properties"]["discordImageUrl"]
        health = (await proxy.client.get("/healthz")).json()["images"]
        assert health["files"] == 0 and health["bytes"] == 0


async def test_unreachable_bucket_fails_the_task_clearly(tmp_path: Path) -> None:
    images = s3_images("http://127.0.0.1:9", download_attempts=1)  # nothing listens on the discard port
    emulator: Emulator
    async with running_emulator(grid_size=256) as emulator, \
            running_proxy(proxy_settings(emulator, tmp_path, images=images)) as proxy:
        health = (await proxy.client.get("/healthz")).json()["images"]
        assert "storage unreachable" in health["error"]
        task = await imagine(proxy, "a castle in the air")
        assert task["status"] == "FAILURE"
        assert task["failReason"].startswith("the result image could not be stored")
