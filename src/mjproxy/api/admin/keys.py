"""API-key administration under /mj/api-key: create (the key is shown once), list, revoke. Admin only.

On an open server (no secret configured, no key yet) every caller is admin, so the first caller to create a
key would own the server and lock everyone else out. These routes are therefore closed (403) until the
operator creates the first admin key out of band: ``mjproxy keys create --scope admin`` or the configuration.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ...engine.keys import KeyRing
from ..auth import authenticator_of, require_admin
from ..errors import ApiError

FIRST_KEY_HINT = ("this server is open (no credential is configured), so API keys cannot be managed over HTTP: "
                  "anyone could create the first admin key and lock everyone else out. Create the first admin key "
                  "on the server with `mjproxy keys create --scope admin --name <name>` (or set "
                  "server.admin_secret, or security.api_keys in the configuration); then use it here")

# Logged once at start-up (the banner) when the server is open.
OPEN_SERVER_WARNING = ("OPEN SERVER: no credential is configured, so every caller is admin (fine on loopback only). "
                       "Create the first admin key with `mjproxy keys create --scope admin --name <name>` (or set "
                       "server.admin_secret); /mj/api-key/* answers 403 until then")


async def refuse_on_open_server(request: Request) -> None:
    if await authenticator_of(request).open():
        raise ApiError(403, FIRST_KEY_HINT)


router = APIRouter(prefix="/api-key", tags=["api keys"],
                   dependencies=[Depends(refuse_on_open_server), Depends(require_admin)])


class KeyCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200, description="What the key is for; shown in lists")
    scope: Literal["admin", "user"] = Field("user", description="user: sees only its own tasks; admin: everything")


def keys_of(request: Request) -> KeyRing:
    keys = authenticator_of(request).keys
    if keys is None:
        raise ApiError(503, "API keys are not available until the server has started")
    return keys


@router.post("/create", summary="Create an API key; the key is in this answer and nowhere else, ever")
async def create_key(body: KeyCreateIn, request: Request) -> dict[str, Any]:
    record, key = await keys_of(request).create(body.name.strip(), body.scope)
    return {**record.to_json(), "key": key}


@router.get("/list", summary="Every API key (never the key itself), revoked ones included")
async def list_keys(request: Request) -> list[dict[str, Any]]:
    return [record.to_json() for record in await keys_of(request).list()]


@router.post("/{key_id}/revoke", summary="Revoke an API key; it stops working at once")
async def revoke_key(key_id: str, request: Request) -> dict[str, Any]:
    keys = keys_of(request)
    record = await keys.repo.get(key_id)
    if record is None:
        raise ApiError(404, f"API key {key_id} not found")
    await keys.revoke(key_id)
    revoked = await keys.repo.get(key_id)
    assert revoked is not None
    return revoked.to_json()
