"""Which gateway traffic is ours, as typed events: this account's channel, the bots' messages, and not the
jobs of other users who share a public channel; the interaction events of this session; READY's facts.

Also reads the channel's history back into the same events, for tasks whose result the gateway never
delivered (a restart, a lost event).
"""

from __future__ import annotations

from typing import Any

from ...discord.rest import RestClient
from ...domain.ids import snowflake_time_ms
from ..constants import INSIGHTFACE_APP_ID, MIDJOURNEY_APP_ID, NIJI_APP_ID
from ..events import AccountEvent, MessageDeleted
from ..insightface import parse_insightface_message
from ..messages import extract_keys, parse_interaction_event, parse_message

BOT_IDS = frozenset({MIDJOURNEY_APP_ID, NIJI_APP_ID, INSIGHTFACE_APP_ID})
INTERACTION_EVENTS = frozenset({"INTERACTION_CREATE", "INTERACTION_SUCCESS", "INTERACTION_FAILURE",
                                "INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE"})


class Inbound:
    def __init__(self, channel_id: str, rest: RestClient, *, user_id: str | None = None) -> None:
        self._channel_id = channel_id
        self._rest = rest
        # Known before READY when resuming a saved session (a RESUME brings no READY).
        self.user_id = user_id
        self.dm_channel_id: str | None = None

    def on_ready(self, data: dict[str, Any]) -> None:
        """Who we are, and where our DM with the Midjourney bot is."""
        user = data.get("user") or {}
        self.user_id = str(user.get("id")) if user.get("id") else None
        for channel in data.get("private_channels") or []:
            if any(str(r.get("id")) == MIDJOURNEY_APP_ID for r in channel.get("recipients") or []):
                self.dm_channel_id = str(channel.get("id"))

    def event_of(self, event_name: str, data: dict[str, Any]) -> AccountEvent | None:
        """A dispatch other than READY as an event of ours; None for everything that is not ours."""
        if event_name in INTERACTION_EVENTS:
            return parse_interaction_event(event_name, data)
        if str(data.get("channel_id")) != self._channel_id:
            return None
        if event_name == "MESSAGE_DELETE":
            return MessageDeleted(str(data.get("id")), self._channel_id)
        if event_name not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return None
        return self.bot_event(data, update=event_name == "MESSAGE_UPDATE")

    def bot_event(self, data: dict[str, Any], *, update: bool) -> AccountEvent | None:
        """A bot message of ours as a typed event; None for anyone else's message."""
        author = data.get("author") or {}
        if str(author.get("id")) not in BOT_IDS or not self.is_ours(data):
            return None
        if str(author.get("id")) == INSIGHTFACE_APP_ID:
            return parse_insightface_message(data, update=update)
        return parse_message(data, update=update)

    def is_ours(self, message: dict[str, Any]) -> bool:
        """Other users share public channels: drop jobs that are visibly someone else's."""
        if self.user_id is None:
            return True
        keys = extract_keys(message)
        owner = keys.interaction_user_id or keys.mentioned_user_id
        return owner is None or owner == self.user_id

    async def channel_history(self, *, since_ms: int, max_pages: int = 10) -> list[AccountEvent]:
        """The bot's messages in this account's channel since ``since_ms``, as events, oldest first.

        Pages back from the newest message with ``before`` (Discord answers newest first, at most 100 a
        page) until a message older than ``since_ms`` shows up. Ephemeral replies are not in the history.
        """
        messages: list[dict[str, Any]] = []
        before: str | None = None
        for _ in range(max_pages):
            page = await self._rest.get_messages(self._channel_id, limit=100, before=before)
            messages.extend(m for m in page if snowflake_time_ms(str(m.get("id") or 0)) >= since_ms)
            if len(page) < 100 or snowflake_time_ms(str(page[-1].get("id") or 0)) < since_ms:
                break
            before = str(page[-1]["id"])
        events: list[AccountEvent] = []
        for message in sorted(messages, key=lambda m: int(m.get("id") or 0)):
            event = self.bot_event(message, update=False)
            if event is not None:
                events.append(event)
        return events
