"""Raw-protocol helpers for the MJ action tests: slash commands, clicks, modal submits, uploads, finals.

Built on the raw client of conftest.py (httpx + websockets), never on mjproxy's own Discord client."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from mjproxy.emulator import Emulator, SandboxAccount

from .conftest import RawGateway, nonce

MJ = "936929561302675456"
NIJI = "1022952195194359889"
FACE = "1090660574196674713"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def job_hash(url: str) -> str:
    return url.split("?", 1)[0].rsplit("_", 1)[1].rsplit(".", 1)[0]


def is_final(p: dict[str, Any]) -> bool:
    d = p["d"]
    return p["t"] == "MESSAGE_CREATE" and bool(d.get("attachments")) and bool(d.get("components"))


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"] if "custom_id" in c]


def button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    for row in message["components"]:
        for c in row["components"]:
            if c.get("custom_id") == custom_id:
                return dict(c)
    raise KeyError(custom_id)


class Flow:
    """One account driving the bot over raw REST + gateway."""

    def __init__(self, emu: Emulator, http: httpx.AsyncClient, gw: RawGateway,
                 acc: SandboxAccount | None = None) -> None:
        self.emu, self.http, self.gw = emu, http, gw
        self.acc = acc or emu.sandbox

    def base(self, itype: int, n: str, app: str = MJ, channel_id: str | None = None,
             guild: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"type": itype, "application_id": app, "channel_id": channel_id or self.acc.channel_id,
                                "session_id": self.gw.session_id, "nonce": n}
        if guild:
            body["guild_id"] = self.acc.guild_id
        return body

    async def slash(self, name: str, options: list[dict[str, Any]] | None = None, *, app: str = MJ,
                    attachments: list[dict[str, Any]] | None = None, channel_id: str | None = None,
                    guild: bool = True, n: str | None = None, expect: int = 204) -> str:
        n = n or nonce()
        cmd = self.emu.world.commands.get(app, name)
        assert cmd is not None, name
        body = self.base(2, n, app, channel_id, guild)
        body["data"] = {"version": cmd["version"], "id": cmd["id"], "name": name, "type": 1,
                        "options": options or [], "attachments": attachments or []}
        r = await self.http.post("/interactions", json=body)
        assert r.status_code == expect, r.text
        return n

    async def click(self, message: dict[str, Any], custom_id: str, *, app: str | None = None, n: str | None = None,
                    values: list[str] | None = None) -> str:
        n = n or nonce()
        app = app or message["author"]["id"]
        body = self.base(3, n, app, message["channel_id"], "guild_id" in message)
        body.update(message_flags=message.get("flags", 0), message_id=message["id"])
        body["data"] = {"component_type": 2, "custom_id": custom_id}
        if values is not None:
            body["data"] = {"component_type": 3, "custom_id": custom_id, "type": 3, "values": values}
        r = await self.http.post("/interactions", json=body)
        assert r.status_code == 204, r.text
        return n

    async def submit(self, opener_id: str, custom_id: str, input_id: str, value: str, *, app: str = MJ,
                     n: str | None = None, channel_id: str | None = None) -> str:
        n = n or nonce()
        body = self.base(5, n, app, channel_id)
        body["data"] = {"id": opener_id, "custom_id": custom_id, "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": input_id, "value": value}]}]}
        r = await self.http.post("/interactions", json=body)
        assert r.status_code == 204, r.text
        return n

    async def upload(self, data: bytes, filename: str = "img.png") -> str:
        slots = (await self.http.post(f"/channels/{self.acc.channel_id}/attachments",
                                      json={"files": [{"filename": filename, "file_size": len(data), "id": "0"}]}))
        slot = slots.json()["attachments"][0]
        async with httpx.AsyncClient() as raw:
            r = await raw.put(slot["upload_url"], content=data, headers={"Content-Type": "image/png"})
            assert r.status_code == 200
        return str(slot["upload_filename"])

    async def final(self, n: str | None = None, timeout: float = 10.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Dispatches until the next final job message (image + components)."""
        events = await self.gw.dispatches_until(is_final, timeout)
        return events, events[-1]["d"]

    async def imagine(self, prompt: str, app: str = MJ) -> dict[str, Any]:
        await self.slash("imagine", [{"type": 3, "name": "prompt", "value": prompt}], app=app)
        return (await self.final())[1]

    async def upscale(self, grid: dict[str, Any], index: int = 1) -> dict[str, Any]:
        h = job_hash(grid["attachments"][0]["url"])
        await self.click(grid, f"MJ::JOB::upsample::{index}::{h}")
        return (await self.final())[1]

    async def event(self, t: str, n: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        def pred(d: dict[str, Any]) -> bool:
            return n is None or d.get("nonce") == n
        data: dict[str, Any] = (await self.gw.wait_for(t, timeout=timeout, pred=pred))["d"]
        return data
