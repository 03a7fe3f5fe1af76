"""GET /metrics: Prometheus text format, for admin callers (or anyone when metrics.public is set).

Metrics name accounts and show their health, so they follow the admin rule unless the operator opens
them (a scraper on a private network); Prometheus sends the admin key with ``authorization``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...metrics.registry import CONTENT_TYPE
from ..auth import require_admin

if TYPE_CHECKING:
    from ...runtime import Runtime

router = APIRouter()


@router.get("/metrics", tags=["health"], summary="Prometheus metrics",
            response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if not runtime.settings.metrics.public:
        await require_admin(request)
    return Response(await runtime.metrics.render(), media_type=CONTENT_TYPE)
