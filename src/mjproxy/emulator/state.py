"""The emulated Discord world's data: users, guilds, channels, messages. Pure data, no I/O."""

from __future__ import annotations

import base64
import bisect
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .snowflake import Snowflakes, snowflake_time_ms

MJ_BOT_ID = "936929561302675456"
NIJI_BOT_ID = "1022952195194359889"
INSIGHTFACE_BOT_ID = "1090660574196674713"

JsonDict = dict[str, Any]

MJ_BOT_USER: JsonDict = {
    "id": MJ_BOT_ID,
    "username": "Midjourney Bot",
    "discriminator": "9282",
    "bot": True,
    "public_flags": 589824,
    "avatar": "f6ce562a6b4979c4b1cbc5b436d3be76",
    "global_name": None,
}
NIJI_BOT_USER: JsonDict = {
    "id": NIJI_BOT_ID,
    "username": "niji・journey Bot",
    "discriminator": "3948",
    "bot": True,
    "public_flags": 589824,
    "avatar": "4cb1d4b3b7c0fcbd3fc95d9d0e1ec2b5",
    "global_name": None,
}
INSIGHTFACE_BOT_USER: JsonDict = {
    "id": INSIGHTFACE_BOT_ID,
    "username": "InsightFaceSwap",
    "discriminator": "0577",
    "bot": True,
    "public_flags": 65536,
    "avatar": "2a3b4c5d6e7f8091a2b3c4d5e6f70819",
    "global_name": None,
}
BOT_USERS: dict[str, JsonDict] = {MJ_BOT_ID: MJ_BOT_USER, NIJI_BOT_ID: NIJI_BOT_USER,
                                  INSIGHTFACE_BOT_ID: INSIGHTFACE_BOT_USER}

EPHEMERAL = 64


def iso_timestamp(ms: int | None = None) -> str:
    """Discord's timestamp format: microseconds and an explicit +00:00 offset."""
    dt = datetime.fromtimestamp((ms if ms is not None else datetime.now(UTC).timestamp() * 1000) / 1000, UTC)
    return dt.isoformat(timespec="microseconds")


def make_token(user_id: str) -> str:
    """Realistic user-token shape: base64(user id) . 6 chars . 38 chars (no 'Bot ' prefix)."""
    head = base64.b64encode(user_id.encode()).decode().rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    mid = "".join(secrets.choice(alphabet) for _ in range(6))
    tail = "".join(secrets.choice(alphabet) for _ in range(38))
    return f"{head}.{mid}.{tail}"


def mask_token(token: str) -> str:
    return f"{token[:3]}…{token[-3:]}" if len(token) > 8 else "…"


@dataclass
class UserSettings:
    """Per-user Midjourney settings, mutated by /settings, /prefer, /fast, /relax, /turbo, /stealth, /public."""

    mode: Literal["fast", "relax", "turbo"] = "fast"
    remix: bool = False
    suffix: str = ""  # /prefer suffix
    stealth: bool = False
    version: str | None = None  # /settings model pick ("6.1", "niji 6", ...); None = default, not appended
    raw: bool = False  # /settings RAW Mode -> --style raw
    stylize: int | None = None  # /settings Stylize buttons -> --s N
    variation: Literal["strong", "subtle"] | None = None  # /settings High/Low Variation Mode; None = knob

    def settings_suffix(self) -> str:
        """What /settings appends to every prompt (only what the user explicitly chose)."""
        parts: list[str] = []
        if self.version:
            parts.append(f"--niji {self.version.split()[-1]}" if self.version.startswith("niji")
                         else f"--v {self.version}")
        if self.raw:
            parts.append("--style raw")
        if self.stylize is not None:
            parts.append(f"--s {self.stylize}")
        return " ".join(parts)


@dataclass
class UserStats:
    """Counters shown by /info (midjourney-bot.md §14)."""

    fast_hours_used: float | None = None  # None = config.fast_hours_used_initial
    lifetime_images: int = 0
    lifetime_hours: float = 0.0
    relaxed_images: int = 0
    relaxed_hours: float = 0.0


@dataclass
class User:
    id: str
    username: str
    token: str
    token_valid: bool = True
    settings: UserSettings = field(default_factory=UserSettings)
    stats: UserStats = field(default_factory=UserStats)
    guild_ids: list[str] = field(default_factory=list)
    dm_channel_ids: list[str] = field(default_factory=list)

    def to_json(self, private: bool = False) -> JsonDict:
        data: JsonDict = {
            "id": self.id,
            "username": self.username,
            "global_name": self.username.capitalize(),
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        }
        if private:
            data.update(
                email=f"{self.username}@example.com",
                verified=True,
                mfa_enabled=False,
                flags=0,
                premium_type=0,
                locale="en-US",
            )
        return data


@dataclass
class StoredMessage:
    data: JsonDict  # the message object as REST returns it (nonce kept separately, history strips it)
    ephemeral_for: str | None = None  # user id that alone may see an ephemeral message
    deleted: bool = False
    nonce: str | None = None  # echoed on MESSAGE_CREATE (and the POST response) only

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class Channel:
    id: str
    type: int  # 0 guild text, 1 DM
    name: str | None = None
    guild_id: str | None = None
    recipient_ids: list[str] = field(default_factory=list)  # DM only
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    _order: list[int] = field(default_factory=list)  # sorted message ids for paging

    def add(self, message: StoredMessage) -> None:
        self.messages[message.id] = message
        bisect.insort(self._order, int(message.id))

    def visible_history(self) -> list[StoredMessage]:
        """Oldest first; excludes ephemerals and deleted messages (they never show in REST history)."""
        out: list[StoredMessage] = []
        for mid in self._order:
            m = self.messages[str(mid)]
            if not m.deleted and m.ephemeral_for is None:
                out.append(m)
        return out

    @property
    def last_message_id(self) -> str | None:
        history = self.visible_history()
        return history[-1].id if history else None


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    member_ids: list[str] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)


class WorldState:
    """Registry of everything addressable by id."""

    def __init__(self, snowflakes: Snowflakes) -> None:
        self.snowflakes = snowflakes
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # token -> user id
        self.guilds: dict[str, Guild] = {}
        self.channels: dict[str, Channel] = {}

    # --- accounts ----------------------------------------------------------------------------------
    def create_user(self, username: str, token: str | None = None) -> User:
        uid = self.snowflakes.next()
        user = User(id=uid, username=username, token=token or make_token(uid))
        self.users[uid] = user
        self.tokens[user.token] = uid
        return user

    def create_guild(self, owner: User, name: str) -> tuple[Guild, Channel]:
        gid = self.snowflakes.next()
        guild = Guild(id=gid, name=name, owner_id=owner.id, member_ids=[owner.id, *BOT_USERS])
        channel = Channel(id=self.snowflakes.next(), type=0, name="general", guild_id=gid)
        guild.channel_ids.append(channel.id)
        self.guilds[gid] = guild
        self.channels[channel.id] = channel
        owner.guild_ids.append(gid)
        return guild, channel

    def open_dm(self, user: User, recipient_id: str) -> Channel:
        for cid in user.dm_channel_ids:
            if recipient_id in self.channels[cid].recipient_ids:
                return self.channels[cid]
        channel = Channel(id=self.snowflakes.next(), type=1, recipient_ids=[user.id, recipient_id])
        self.channels[channel.id] = channel
        user.dm_channel_ids.append(channel.id)
        return channel

    def user_by_token(self, token: str | None) -> User | None:
        if not token:
            return None
        uid = self.tokens.get(token)
        user = self.users.get(uid) if uid else None
        return user if user is not None and user.token_valid else None

    # --- visibility --------------------------------------------------------------------------------
    def can_see(self, user_id: str, channel: Channel) -> bool:
        if channel.guild_id is not None:
            guild = self.guilds.get(channel.guild_id)
            return guild is not None and user_id in guild.member_ids
        return user_id in channel.recipient_ids

    def audience(self, channel: Channel) -> list[str]:
        """Human users that receive MESSAGE_* for this channel (bots have no gateway sessions here)."""
        ids = self.guilds[channel.guild_id].member_ids if channel.guild_id is not None else channel.recipient_ids
        return [i for i in ids if i in self.users]

    def find_message(self, channel_id: str, message_id: str) -> StoredMessage | None:
        channel = self.channels.get(channel_id)
        if channel is None:
            return None
        m = channel.messages.get(message_id)
        return None if m is None or m.deleted else m

    # --- json views --------------------------------------------------------------------------------
    def user_json(self, user_id: str) -> JsonDict:
        if user_id in BOT_USERS:
            return dict(BOT_USERS[user_id])
        return self.users[user_id].to_json()

    def channel_json(self, channel: Channel) -> JsonDict:
        if channel.type == 1:
            return {
                "id": channel.id,
                "type": 1,
                "last_message_id": channel.last_message_id,
                "flags": 0,
                "recipients": [self.user_json(r) for r in channel.recipient_ids if r in BOT_USERS]
                or [self.user_json(r) for r in channel.recipient_ids],
            }
        return {
            "id": channel.id,
            "type": channel.type,
            "guild_id": channel.guild_id,
            "name": channel.name,
            "position": 0,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "permission_overwrites": [],
            "last_message_id": channel.last_message_id,
            "flags": 0,
        }

    def guild_json(self, guild: Guild) -> JsonDict:
        return {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "owner_id": guild.owner_id,
            "joined_at": iso_timestamp(snowflake_time_ms(guild.id)),
            "member_count": len(guild.member_ids),
            "large": False,
            "lazy": True,
            "unavailable": False,
            "roles": [{"id": guild.id, "name": "@everyone", "permissions": "1071698660929", "position": 0}],
            "channels": [
                {k: v for k, v in self.channel_json(self.channels[c]).items() if k != "guild_id"}
                for c in guild.channel_ids
            ],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "properties": {"id": guild.id, "name": guild.name, "owner_id": guild.owner_id},
        }
