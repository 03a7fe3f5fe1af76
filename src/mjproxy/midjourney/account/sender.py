"""Sending for one account, nonce first (DESIGN invariant 2).

Every interaction is paced like a person if the account asks for it, gets a nonce minted right before it
goes out, hands that nonce to the engine to store, and only then is posted. Discord's errors come back as
a :class:`SubmitError` the task can show; a stale slash-command version refreshes the index and retries once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from ...discord.commands import ApplicationCommandCache
from ...discord.errors import DiscordError, HTTPException, RateLimited, Unauthorized, is_invalid_command_version
from ...discord.gateway import GatewayClient, GatewayState
from ...discord.rest import RestClient
from ...domain.account import AccountState
from ...domain.ids import SnowflakeGenerator
from .. import payloads
from ..constants import MIDJOURNEY_APP_ID
from ..errors import SubmitError
from ..interactions import Upload
from ..pacing import Pacer
from ..watch import WaitTimeout, Watch
from .spec import AccountSpec, NonceAssigner

log = logging.getLogger(__name__)

Trouble = Callable[[AccountState, str], None]
"""Puts the account in a state that explains why sending failed (a rejected token, commands missing)."""


async def next_event(watch: Watch, what: str, timeout: float) -> tuple[str, dict[str, Any]]:
    """The next gateway event a flow waits for; a wait that runs out is a retryable SubmitError."""
    try:
        return await watch.next(timeout, what)
    except WaitTimeout as exc:
        raise SubmitError(str(exc), retryable=True) from None


class Sender:
    def __init__(self, spec: AccountSpec, rest: RestClient, gateway: GatewayClient,
                 commands: ApplicationCommandCache, pacer: Pacer, snowflakes: SnowflakeGenerator, *,
                 on_trouble: Trouble, ready_timeout: float) -> None:
        self.spec = spec  # replaced by the runtime when the account's limits change
        self.rest = rest
        self._gateway = gateway
        self._commands = commands
        self._pacer = pacer
        self._snowflakes = snowflakes
        self._on_trouble = on_trouble
        self._ready_timeout = ready_timeout

    def session_id(self) -> str:
        # The real session id routes INTERACTION_* events (modals) to this connection.
        return self._gateway.session_id or secrets.token_hex(16)

    async def ensure_ready(self) -> None:
        if self._gateway.state == GatewayState.READY:
            return
        try:
            await self._gateway.wait_ready(self._ready_timeout)
        except Exception as exc:
            raise SubmitError(f"account {self.spec.name} is not connected to Discord: {exc}",
                              retryable=True, account_problem=True) from None

    async def post_interaction(self, payload: dict[str, Any]) -> None:
        await self.rest.create_interaction(payload)

    async def fresh_nonce(self) -> str:
        """Every interaction starts here: paced like a person if the account asks for it (R7), then a
        nonce minted right before it is sent (a nonce is a timestamp)."""
        await self._pacer.wait()
        return self._snowflakes.next()

    async def call(self, request: Awaitable[Any]) -> Any:
        """Run a REST call, turning Discord's errors into a SubmitError the task can show."""
        try:
            return await request
        except (DiscordError, httpx.HTTPError) as exc:
            raise self.submit_error(exc) from None

    async def send_slash(self, name: str, options: list[dict[str, Any]], assign_nonce: NonceAssigner, *,
                         application_id: str = MIDJOURNEY_APP_ID, attachments: Sequence[dict[str, Any]] = (),
                         channel_id: str | None = None) -> str:
        """Send a slash command; on a stale command version refresh the index and retry once.

        Returns the nonce that was sent. In a DM (``channel_id`` given) the command index of that
        channel is used and no guild id is sent.
        """
        spec = self.spec
        in_dm = channel_id is not None
        target = channel_id or spec.channel_id
        for attempt in (1, 2):
            command = await self._command(application_id, name, dm_channel_id=channel_id)
            nonce = await self.fresh_nonce()
            await assign_nonce(nonce)
            payload = payloads.slash_command(command, guild_id=None if in_dm else spec.guild_id,
                                             channel_id=target, session_id=self.session_id(), nonce=nonce,
                                             options=options, attachments=attachments)
            try:
                await self.post_interaction(payload)
                return nonce
            except HTTPException as exc:
                if attempt == 1 and is_invalid_command_version(exc):
                    log.warning("account %s: /%s version is stale; refreshing the command index", spec.name, name)
                    if in_dm:
                        self._commands.invalidate(channel_id=channel_id)
                    else:
                        self._commands.invalidate(guild_id=spec.guild_id)
                    continue
                raise self.submit_error(exc) from None
            except (DiscordError, httpx.HTTPError) as exc:
                raise self.submit_error(exc) from None
        raise SubmitError(f"/{name} could not be sent")  # unreachable: the loop returns or raises

    async def _command(self, application_id: str, name: str, *, dm_channel_id: str | None = None) -> dict[str, Any]:
        try:
            if dm_channel_id is not None:
                return await self._commands.get(application_id, name, channel_id=dm_channel_id)
            return await self._commands.get(application_id, name, guild_id=self.spec.guild_id)
        except (DiscordError, httpx.HTTPError) as exc:
            self._on_trouble(AccountState.COMMANDS_UNAVAILABLE, f"cannot resolve /{name}: {exc}")
            raise SubmitError(f"cannot resolve the /{name} command on account {self.spec.name}: {exc}",
                              account_problem=True) from None

    async def click(self, message_id: str, custom_id: str, flags: int, application_id: str,
                    assign_nonce: NonceAssigner, *, channel_id: str | None = None) -> str:
        nonce = await self.fresh_nonce()
        await assign_nonce(nonce)
        in_dm = channel_id is not None
        payload = payloads.button(guild_id=None if in_dm else self.spec.guild_id,
                                  channel_id=channel_id or self.spec.channel_id, message_id=message_id,
                                  message_flags=flags, custom_id=custom_id, session_id=self.session_id(),
                                  nonce=nonce, application_id=application_id)
        await self.call(self.post_interaction(payload))
        return nonce

    async def upload(self, files: Sequence[Upload], channel_id: str | None = None) -> list[tuple[str, str]]:
        """Upload files through attachment slots; returns (filename, uploaded_filename) per file."""
        if not files:
            return []
        contents = [await asyncio.to_thread(Path(f.path).read_bytes) for f in files]
        slots = await self.call(self.rest.create_attachment_slots(
            channel_id or self.spec.channel_id,
            [{"id": str(i), "filename": f.filename, "file_size": len(c)}
             for i, (f, c) in enumerate(zip(files, contents, strict=True))]))
        result = []
        for slot, upload, content in zip(slots, files, contents, strict=True):
            await self.call(self.rest.upload_to_slot(str(slot["upload_url"]), content, upload.content_type))
            result.append((upload.filename, str(slot["upload_filename"])))
        return result

    async def upload_images(self, files: Sequence[Upload]) -> list[str]:
        """Post images to the account's channel and return their CDN URLs (image prompts, uploads API)."""
        await self.ensure_ready()
        channel_id = self.spec.channel_id
        uploaded = await self.upload(files)
        payload = {"content": "", "channel_id": channel_id, "type": 0, "sticker_ids": [],
                   "attachments": [{"id": str(i), "filename": name, "uploaded_filename": remote}
                                   for i, (name, remote) in enumerate(uploaded)]}
        message = await self.call(self.rest.create_message(channel_id, payload))
        urls = [str(a["url"]) for a in message.get("attachments") or []]
        if len(urls) != len(files):
            raise SubmitError("posting the images to Discord failed: the message has no attachments")
        return urls

    def submit_error(self, exc: Exception) -> SubmitError:
        if isinstance(exc, Unauthorized):
            self._on_trouble(AccountState.AUTH_FAILED, "Discord rejected the token (401)")
            return SubmitError("Discord rejected the account token (401 Unauthorized)", account_problem=True)
        if isinstance(exc, RateLimited):
            return SubmitError(f"Discord rate limit persisted after retries: {exc}", retryable=True)
        if isinstance(exc, HTTPException):
            return SubmitError(f"Discord rejected the interaction: {exc}")
        return SubmitError(f"Discord could not be reached: {type(exc).__name__}: {exc}", retryable=True)
