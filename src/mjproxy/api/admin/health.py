"""GET /healthz: is the server up, is it a sandbox, and how is every account doing.

Once any credential is configured (a secret or an API key), only an admin caller sees the details (account
ids, guilds, channels, masked tokens, settings, the sandbox and image backends); anyone else, a load
balancer's probe included, learns whether the server is alive and ready, and its version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from ... import __version__
from ..auth import authenticator_of, credential_of

if TYPE_CHECKING:
    from ...runtime import Runtime

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="Server and account health")
async def healthz(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    accounts = runtime.account_health()
    ready = sum(1 for a in accounts if a["state"] == "ready")
    status = "ok" if ready else "degraded"
    principal = await authenticator_of(request).authenticate(credential_of(request))
    if principal is None or not principal.is_admin:  # an open server's callers are all admin
        return {"status": status, "version": __version__}
    return {
        "status": status,
        "version": __version__,
        "sandbox": runtime.sandbox_description(),
        "accounts": accounts,
        "tasks": {"live": runtime.live_task_count()},
        "images": await runtime.media.health() if runtime.media is not None else {"backend": None},
    }
