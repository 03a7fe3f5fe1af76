"""GET /healthz: is the server up, is it a sandbox, and how is every account doing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from ... import __version__

if TYPE_CHECKING:
    from ...runtime import Runtime

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="Server and account health")
async def healthz(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    accounts = runtime.account_health()
    ready = sum(1 for a in accounts if a["state"] == "ready")
    return {
        "status": "ok" if ready else "degraded",
        "version": __version__,
        "sandbox": runtime.sandbox_description(),
        "accounts": accounts,
        "tasks": {"live": runtime.live_task_count()},
        "images": await runtime.media.health() if runtime.media is not None else {"backend": None},
    }
