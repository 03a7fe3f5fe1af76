"""Tiny JSON control API under /_emulator/ so standalone users can drive the sandbox with curl."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .state import mask_token

if TYPE_CHECKING:
    from .server import Emulator


def build_router(emu: Emulator) -> APIRouter:
    r = APIRouter(prefix="/_emulator")

    @r.get("/state")
    async def state() -> dict[str, Any]:
        world = emu.world
        return {
            "base_url": emu.base_url,
            "gateway_url": emu.gateway_url,
            "activity_base_url": emu.activity_base_url,
            "accounts": [
                {"user_id": u.id, "username": u.username, "token": mask_token(u.token), "token_valid": u.token_valid,
                 "guild_ids": u.guild_ids, "dm_channel_ids": u.dm_channel_ids,
                 "sessions": [s.id for s in world.gateway.sessions_of(u.id)],
                 "settings": vars(u.settings), "stats": vars(u.stats)}
                for u in world.state.users.values()
            ],
            "jobs": [emu.job_json(j) for j in emu.jobs],
            "config": emu.config.model_dump(),
            "faults": [{"pattern": f.pattern if isinstance(f.pattern, str) else f.pattern.pattern,
                        "status": f.status, "remaining": f.remaining, "latency": f.latency}
                       for f in emu.faults.faults],
            "event_faults": [{"events": sorted(r.events), "remaining": r.remaining, "fraction": r.fraction,
                              "final_only": r.final_only, "user_id": r.user_id, "dropped": len(r.dropped)}
                             for r in emu.world.gateway.loss.rules],
            "chaos_counts": emu.chaos_counts,
        }

    @r.get("/config")
    async def get_config() -> dict[str, Any]:
        return emu.config.model_dump()

    @r.post("/config")
    async def set_config(request: Request) -> Any:
        body = await request.json()
        try:
            emu.update_config(**body)
        except Exception as exc:  # validation error: report it rather than 500
            return JSONResponse({"error": str(exc)}, 400)
        return emu.config.model_dump()

    @r.post("/accounts")
    async def add_account(request: Request) -> dict[str, Any]:
        body = await request.json() if await request.body() else {}
        acc = emu.add_account(body.get("username"), body.get("token"))
        return {"token": acc.token, "user_id": acc.user_id, "username": acc.username,
                "guild_id": acc.guild_id, "channel_id": acc.channel_id}

    @r.post("/faults")
    async def add_fault(request: Request) -> Any:
        """REST faults: {"route", "regex"?, "status"?, "count"?, "retry_after"?, "scope"?, "body"?,
        "method"?, "latency"?}; status 0 with a latency = slow REST."""
        body = await request.json()
        try:
            route = body.pop("route")
            if body.pop("regex", False):
                route = re.compile(route)
            emu.inject_rest_fault(route, **body)
        except (KeyError, TypeError, ValueError, re.error) as exc:
            return JSONResponse({"error": f"bad fault: {exc}"}, 400)
        return {"ok": True}

    @r.post("/faults/events")
    async def add_event_fault(request: Request) -> Any:
        """Lost gateway events: {"events"?: [...], "count"?: n|null, "fraction"?, "final_only"?, "user_id"?}."""
        body = await request.json()
        try:
            emu.drop_events(body.pop("events", ()), **body)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad event fault: {exc}"}, 400)
        return {"ok": True}

    @r.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        emu.clear_faults()
        return {"ok": True}

    @r.post("/commands/bump")
    async def bump() -> dict[str, Any]:
        emu.bump_command_versions()
        return {"version": emu.world.commands.version}

    @r.post("/hooks/{name}")
    async def hook(name: str, request: Request) -> Any:
        body = await request.json()
        uid = str(body["user_id"])
        if name == "reconnect":
            await emu.send_reconnect(uid)
        elif name == "invalid_session":
            await emu.send_invalid_session(uid, bool(body.get("resumable", False)))
        elif name == "heartbeat":
            await emu.request_heartbeat(uid)
        elif name == "close":
            await emu.close_sessions(uid, int(body.get("code", 4000)))
        elif name == "drop":
            await emu.drop_sessions(uid)
        elif name == "lose_acks":
            emu.lose_heartbeat_acks(uid, int(body.get("count", 1)))
        else:
            return JSONResponse({"error": f"unknown hook {name}"}, 404)
        return {"ok": True}

    return r
