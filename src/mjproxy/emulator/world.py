"""Discord-side operations shared by REST, the gateway and the bot: messages, interactions, dispatch."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .cdn import Blob, Cdn
from .commands import CommandCatalogue
from .config import EmulatorConfig
from .gateway import Gateway
from .snowflake import Snowflakes, snowflake_time_ms
from .state import EPHEMERAL, JsonDict, StoredMessage, WorldState, iso_timestamp

log = logging.getLogger(__name__)

NONCE_MEMORY = 100_000  # interaction nonces remembered for de-duplication


@dataclass
class Interaction:
    id: str
    type: int
    user_id: str
    channel_id: str
    guild_id: str | None
    application_id: str
    session_id: str | None
    nonce: str | None
    data: JsonDict
    message_id: str | None = None
    message_flags: int = 0
    acked: bool = False
    failed: bool = False
    timer: asyncio.Task[None] | None = field(default=None, repr=False)
    # Uploads referenced by data.attachments, resolved by REST: attachment id (as a string) -> bytes.
    attachments: dict[str, Blob] = field(default_factory=dict, repr=False)

    @property
    def opener_id(self) -> str | None:
        """Modal submits: the interaction id of the click that opened the modal (`data.id`)."""
        return str(self.data.get("id")) if self.type == 5 and self.data.get("id") is not None else None

    def modal_value(self) -> str:
        """The first text input's value of a modal submit."""
        for row in self.data.get("components") or []:
            for comp in (row.get("components") or []) if isinstance(row, dict) else []:
                if isinstance(comp, dict) and "value" in comp:
                    return str(comp["value"])
        return ""

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.data.get("custom_id") or "")


class InteractionHandler(Protocol):
    def handle(self, interaction: Interaction) -> None: ...


ReactionListener = Callable[[str, StoredMessage, str], None]  # (user id, message, emoji name)


class World:
    def __init__(self, config: Callable[[], EmulatorConfig], base_url: Callable[[], str],
                 gateway_url: Callable[[], str]) -> None:
        self._config = config
        self.snowflakes = Snowflakes()
        self.state = WorldState(self.snowflakes)
        self.gateway = Gateway(self.state, config, gateway_url)
        self.cdn = Cdn(config, base_url)
        self.commands = CommandCatalogue(self.snowflakes)
        self.interactions: dict[str, Interaction] = {}
        self.handler: InteractionHandler | None = None
        self.reaction_listeners: list[ReactionListener] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self._nonces: OrderedDict[tuple[str, str], None] = OrderedDict()  # accepted (user id, nonce), bounded

    @property
    def config(self) -> EmulatorConfig:
        return self._config()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Fire-and-forget task that is kept referenced (and cancelled on stop)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("emulator task failed", exc_info=task.exception())

    # --- messages ----------------------------------------------------------------------------------
    def interaction_fields(self, inter: Interaction, name: str | None = None) -> JsonDict:
        """Legacy `interaction` + `interaction_metadata` (discord.md §3.3), filled consistently."""
        user = self.state.user_json(inter.user_id)
        owners = {"0": inter.guild_id} if inter.guild_id else {"1": inter.user_id}
        legacy: JsonDict = {"id": inter.id, "type": inter.type, "name": name or inter.name, "user": user}
        meta: JsonDict = {"id": inter.id, "type": inter.type, "user": user,
                          "authorizing_integration_owners": owners}
        if inter.type == 2:
            meta["name"] = name or inter.name
            meta["command_type"] = int(inter.data.get("type", 1))
        else:
            meta["interacted_message_id"] = inter.message_id
        if inter.type == 5 and inter.opener_id in self.interactions:
            opener = self.interactions[inter.opener_id]
            meta["triggering_interaction_metadata"] = self.interaction_fields(opener)["interaction_metadata"]
        return {"interaction": legacy, "interaction_metadata": meta}

    def create_message(
        self,
        channel_id: str,
        author_id: str,
        *,
        content: str = "",
        embeds: list[JsonDict] | None = None,
        components: list[JsonDict] | None = None,
        attachments: list[JsonDict] | None = None,
        mentions: list[str] | None = None,
        nonce: str | None = None,
        ephemeral_for: str | None = None,
        flags: int = 0,
        msg_type: int = 0,
        extra: JsonDict | None = None,
    ) -> StoredMessage:
        channel = self.state.channels[channel_id]
        mid = self.snowflakes.next()
        data: JsonDict = {
            "id": mid,
            "type": msg_type,
            "content": content,
            "channel_id": channel_id,
            "author": self.state.user_json(author_id),
            "attachments": attachments or [],
            "embeds": embeds or [],
            "mentions": [self.state.user_json(u) for u in (mentions or [])],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": iso_timestamp(snowflake_time_ms(mid)),
            "edited_timestamp": None,
            "flags": flags | (EPHEMERAL if ephemeral_for else 0),
            "components": components or [],
        }
        if extra:
            data.update(extra)
        message = StoredMessage(data=data, ephemeral_for=ephemeral_for, nonce=nonce)
        channel.add(message)
        event = self._event_body(message)
        if nonce is not None:
            event["nonce"] = nonce
        if channel.guild_id is not None and author_id in self.state.users:
            event["member"] = {"roles": [], "joined_at": data["timestamp"], "deaf": False, "mute": False,
                               "flags": 0, "nick": None, "avatar": None}
        self._dispatch_message(message, "MESSAGE_CREATE", event)
        return message

    def update_message(self, message: StoredMessage, **changes: Any) -> None:
        if message.deleted:
            return
        message.data.update(changes)
        message.data["edited_timestamp"] = iso_timestamp()
        # MESSAGE_UPDATE carries the full message but never the nonce (discord.md §3.1).
        self._dispatch_message(message, "MESSAGE_UPDATE", self._event_body(message))

    def delete_message(self, message: StoredMessage) -> None:
        if message.deleted:
            return
        message.deleted = True
        body: JsonDict = {"id": message.id, "channel_id": message.data["channel_id"]}
        guild_id = self.state.channels[message.data["channel_id"]].guild_id
        if guild_id:
            body["guild_id"] = guild_id
        self._dispatch_message(message, "MESSAGE_DELETE", body)

    def _event_body(self, message: StoredMessage) -> JsonDict:
        body = copy.deepcopy(message.data)
        guild_id = self.state.channels[message.data["channel_id"]].guild_id
        if guild_id:
            body["guild_id"] = guild_id
        return body

    def _dispatch_message(self, message: StoredMessage, event: str, body: JsonDict) -> None:
        channel = self.state.channels[message.data["channel_id"]]
        audience = [message.ephemeral_for] if message.ephemeral_for else self.state.audience(channel)
        for user_id in audience:
            self.gateway.dispatch_to_user(user_id, event, body)

    # --- interactions ------------------------------------------------------------------------------
    def first_use_of_nonce(self, user_id: str, nonce: str) -> bool:
        """Remember an interaction nonce; False when this user already sent it (a retry)."""
        key = (user_id, nonce)
        if key in self._nonces:
            return False
        self._nonces[key] = None
        while len(self._nonces) > NONCE_MEMORY:
            self._nonces.popitem(last=False)
        return True

    def accept_interaction(self, inter: Interaction) -> None:
        """Called after POST /interactions answered 204: CREATE now, bot later, timeout watchdog."""
        self.interactions[inter.id] = inter
        self.spawn(self._run_interaction(inter))

    async def _run_interaction(self, inter: Interaction) -> None:
        await asyncio.sleep(0)  # let the 204 leave first, like the real HTTP/WS race usually goes
        if inter.type == 4:
            # Autocomplete never gets SUCCESS/FAILURE; MJ offers no choices.
            self.gateway.dispatch_interaction(inter.user_id, inter.session_id,
                                              "APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE",
                                              {"nonce": inter.nonce, "choices": []})
            return
        self._interaction_event(inter, "INTERACTION_CREATE", {})
        inter.timer = self.spawn(self._ack_watchdog(inter))
        if self.handler is not None:
            try:
                self.handler.handle(inter)
            except Exception:
                log.exception("bot failed on interaction %s", inter.id)
                self.fail(inter, 1)

    async def _ack_watchdog(self, inter: Interaction) -> None:
        await asyncio.sleep(self.config.interaction_ack_timeout_s)
        if not inter.acked and not inter.failed:
            self.fail(inter, 2)  # "the application did not respond" (reason 2 = TIMEOUT)

    def _interaction_event(self, inter: Interaction, event: str, extra: JsonDict) -> None:
        body: JsonDict = {"id": inter.id, "nonce": inter.nonce, **extra}
        self.gateway.dispatch_interaction(inter.user_id, inter.session_id, event, body)

    def ack(self, inter: Interaction) -> None:
        if inter.acked or inter.failed:
            return
        inter.acked = True
        if inter.timer is not None:
            inter.timer.cancel()
        self._interaction_event(inter, "INTERACTION_SUCCESS", {})

    def fail(self, inter: Interaction, reason_code: int) -> None:
        if inter.acked or inter.failed:
            return
        inter.failed = True
        if inter.timer is not None and inter.timer is not asyncio.current_task():
            inter.timer.cancel()
        self._interaction_event(inter, "INTERACTION_FAILURE", {"reason_code": reason_code})

    def _application(self, inter: Interaction) -> JsonDict:
        from .commands import APPLICATIONS

        app = APPLICATIONS.get(inter.application_id, {})
        return {k: app.get(k) for k in ("id", "name", "icon", "description", "flags")} | {
            "bot": self.state.user_json(inter.application_id)}

    def open_modal(self, inter: Interaction, custom_id: str, title: str, components: list[JsonDict]) -> None:
        """INTERACTION_MODAL_CREATE then SUCCESS (remix, custom zoom, describe/shorten picks)."""
        self._interaction_event(inter, "INTERACTION_MODAL_CREATE", {
            "channel_id": inter.channel_id, "custom_id": custom_id, "title": title, "components": components,
            "application": self._application(inter),
        })
        self.ack(inter)

    def open_iframe_modal(self, inter: Interaction, custom_id: str, title: str, iframe_path: str,
                          modal_size: int = 2) -> None:
        """INTERACTION_IFRAME_MODAL_CREATE then SUCCESS (Vary Region editor, discord.md §3.2)."""
        self._interaction_event(inter, "INTERACTION_IFRAME_MODAL_CREATE", {
            "channel_id": inter.channel_id, "custom_id": custom_id, "application": self._application(inter),
            "title": title, "iframe_path": iframe_path, "modal_size": modal_size,
        })
        self.ack(inter)

    # --- reactions ---------------------------------------------------------------------------------
    def add_reaction(self, user_id: str, message: StoredMessage, emoji: str) -> None:
        """PUT .../reactions/{emoji}/@me: record it, dispatch MESSAGE_REACTION_ADD, tell the bots."""
        reactions: list[JsonDict] = message.data.setdefault("reactions", [])
        entry = next((r for r in reactions if r["emoji"]["name"] == emoji), None)
        if entry is None:
            entry = {"emoji": {"id": None, "name": emoji}, "count": 0, "me": False,
                     "count_details": {"burst": 0, "normal": 0}, "burst_colors": [], "me_burst": False,
                     "burst_me": False, "burst_count": 0}
            reactions.append(entry)
        entry["count"] += 1
        entry["count_details"]["normal"] += 1
        entry["me"] = True
        body: JsonDict = {"user_id": user_id, "channel_id": message.data["channel_id"], "message_id": message.id,
                          "emoji": {"id": None, "name": emoji}, "burst": False, "type": 0,
                          "message_author_id": message.data["author"]["id"]}
        guild_id = self.state.channels[message.data["channel_id"]].guild_id
        if guild_id:
            body["guild_id"] = guild_id
        self._dispatch_message(message, "MESSAGE_REACTION_ADD", body)
        for listener in self.reaction_listeners:
            listener(user_id, message, emoji)
