"""Attachment storage and signed CDN URLs (discord.md §5): `?ex=<8hex>&is=<8hex>&hm=<64hex>&`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from .config import EmulatorConfig
from .state import JsonDict

EXPIRED_BODY = "This content is no longer available."


@dataclass
class Blob:
    data: bytes
    content_type: str
    filename: str
    width: int | None = None
    height: int | None = None


class Cdn:
    """Holds every served file, keyed by its URL path, and signs/validates URLs."""

    def __init__(self, config: Callable[[], EmulatorConfig], base_url: Callable[[], str]) -> None:
        self._config = config
        self._base_url = base_url
        self._secret = secrets.token_bytes(32)
        self.blobs: dict[str, Blob] = {}  # path -> blob
        self.uploads: dict[str, Blob] = {}  # upload_filename "<uuid>/<name>" -> blob
        self.downloads = 0  # attachment GETs served, and refused by the cdn_failures fault
        self.failed_downloads = 0

    # --- signing -----------------------------------------------------------------------------------
    def _mac(self, path: str, ex: str, is_: str) -> str:
        return hmac.new(self._secret, f"{path}|{ex}|{is_}".encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str) -> str:
        now = int(time.time())
        ex = f"{now + self._config().link_ttl_seconds:08x}"
        is_ = f"{now:08x}"
        return f"{path}?ex={ex}&is={is_}&hm={self._mac(path, ex, is_)}&"

    def check(self, path: str, query: dict[str, str]) -> bool:
        ex, is_, hm = query.get("ex"), query.get("is"), query.get("hm")
        if ex is None and is_ is None and hm is None:
            return not self._config().require_signed_urls
        if ex is None or is_ is None or hm is None:
            return False
        try:
            expiry = int(ex, 16)
        except ValueError:
            return False
        return hmac.compare_digest(self._mac(path, ex, is_), hm) and time.time() < expiry

    # --- storage -----------------------------------------------------------------------------------
    def cdn_base(self) -> str:
        return (self._config().cdn_base_url or self._base_url()).rstrip("/")

    def media_base(self) -> str:
        return (self._config().media_base_url or self.cdn_base()).rstrip("/")

    def put(self, path: str, blob: Blob) -> None:
        self.blobs[path] = blob

    def attachment_json(self, attachment_id: str, path: str, blob: Blob) -> JsonDict:
        """The attachment object as it appears on a message, with freshly signed url/proxy_url."""
        signed = self.sign(path)
        data: dict[str, Any] = {
            "id": attachment_id,
            "filename": blob.filename,
            "size": len(blob.data),
            "url": self.cdn_base() + signed,
            "proxy_url": self.media_base() + signed,
            "content_type": blob.content_type,
        }
        if blob.width is not None and blob.height is not None:
            data["width"] = blob.width
            data["height"] = blob.height
        return data

    def store_attachment(self, channel_id: str, attachment_id: str, blob: Blob) -> JsonDict:
        path = f"/attachments/{channel_id}/{attachment_id}/{blob.filename}"
        self.put(path, blob)
        return self.attachment_json(attachment_id, path, blob)

    def store_ephemeral(self, app_id: str, snowflake: str, blob: Blob) -> JsonDict:
        path = f"/ephemeral-attachments/{app_id}/{snowflake}/{blob.filename}"
        self.put(path, blob)
        return self.attachment_json(snowflake, path, blob)

    def is_own_url(self, url: str) -> bool:
        return any(url.startswith(base + "/") for base in (self.cdn_base(), self.media_base()))

    def resolve_url(self, url: str) -> Blob | None:
        """The blob behind one of our (validly signed, unexpired) CDN URLs; None otherwise."""
        if not self.is_own_url(url):
            return None
        parts = urllib.parse.urlsplit(url)
        blob = self.blobs.get(urllib.parse.unquote(parts.path))
        if blob is None or not self.check(urllib.parse.unquote(parts.path),
                                          dict(urllib.parse.parse_qsl(parts.query))):
            return None
        return blob

    def router(self) -> APIRouter:
        router = APIRouter()

        async def serve(request: Request) -> Response:
            path = request.url.path
            blob = self.blobs.get(path)
            if blob is None:
                return PlainTextResponse("404: Not Found", 404)
            if not self.check(path, dict(request.query_params)):
                return PlainTextResponse(EXPIRED_BODY, 404)
            config = self._config()
            if config.cdn_fail_always or config.cdn_failures > 0:
                if not config.cdn_fail_always:
                    config.cdn_failures -= 1
                self.failed_downloads += 1
                return PlainTextResponse("503: Service Unavailable (injected fault)", config.cdn_fail_status)
            self.downloads += 1
            return Response(blob.data, 200, media_type=blob.content_type,
                            headers={"Cache-Control": "public, max-age=31536000"})

        router.add_api_route("/attachments/{cid}/{aid}/{filename}", serve, methods=["GET", "HEAD"])
        router.add_api_route("/ephemeral-attachments/{app}/{sid}/{filename}", serve, methods=["GET", "HEAD"])
        return router
