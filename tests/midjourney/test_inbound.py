"""Which gateway traffic an account takes as its own (midjourney/account/inbound.py), without a gateway."""

from __future__ import annotations

from typing import Any

from mjproxy.domain.ids import snowflake_time_ms
from mjproxy.midjourney.account.inbound import Inbound
from mjproxy.midjourney.constants import MIDJOURNEY_APP_ID
from mjproxy.midjourney.events import InteractionEvent, JobStarted, MessageDeleted

from .factories import CHANNEL_ID, NONCE, USER_ID, interaction, message, metadata, user

OTHER_USER = "1100000000000000999"
PROMPT = "a red cat sitting on a chair"


def started(user_id: str = USER_ID, **fields: Any) -> dict[str, Any]:
    data = message(f"**{PROMPT}** - <@{user_id}> (Waiting to start)", nonce=NONCE, message_type=20,
                   legacy_interaction=interaction(), interaction_metadata=metadata(), **fields)
    data["interaction_metadata"]["user"] = user(user_id)
    data["interaction"]["user"] = user(user_id)
    return data


class NoRest:
    async def get_messages(self, channel_id: str, *, limit: int, before: str | None) -> list[dict[str, Any]]:
        raise AssertionError("no REST call expected")


def inbound(user_id: str | None = None, rest: Any = None) -> Inbound:
    return Inbound(CHANNEL_ID, rest or NoRest(), user_id=user_id)


def test_a_bot_message_in_our_channel_is_an_event() -> None:
    event = inbound().event_of("MESSAGE_CREATE", started())
    assert isinstance(event, JobStarted) and event.keys.nonce == NONCE


def test_other_channels_other_authors_and_other_events_are_not_ours() -> None:
    elsewhere = started()
    elsewhere["channel_id"] = "1200000000000000999"
    assert inbound().event_of("MESSAGE_CREATE", elsewhere) is None
    human = started()
    human["author"] = user()
    assert inbound().event_of("MESSAGE_CREATE", human) is None
    assert inbound().event_of("TYPING_START", started()) is None


def test_another_users_job_in_a_shared_channel_is_dropped_once_we_know_who_we_are() -> None:
    theirs = started(OTHER_USER)
    assert inbound(user_id=None).event_of("MESSAGE_CREATE", theirs) is not None  # before READY: cannot tell
    assert inbound(user_id=USER_ID).event_of("MESSAGE_CREATE", theirs) is None
    assert isinstance(inbound(user_id=USER_ID).event_of("MESSAGE_UPDATE", started()), JobStarted)


def test_a_deleted_message_of_our_channel_and_interaction_events_of_any_channel() -> None:
    deleted = inbound().event_of("MESSAGE_DELETE", {"id": "5", "channel_id": CHANNEL_ID})
    assert deleted == MessageDeleted("5", CHANNEL_ID)
    assert inbound().event_of("MESSAGE_DELETE", {"id": "5", "channel_id": "1"}) is None
    success = inbound().event_of("INTERACTION_SUCCESS", {"id": "77", "nonce": NONCE})
    assert isinstance(success, InteractionEvent) and success.nonce == NONCE


def test_ready_tells_who_we_are_and_where_the_dm_with_the_bot_is() -> None:
    seen = inbound()
    seen.on_ready({"user": {"id": USER_ID}, "private_channels": [
        {"id": "31", "recipients": [{"id": "42"}]}, {"id": "32", "recipients": [{"id": MIDJOURNEY_APP_ID}]}]})
    assert (seen.user_id, seen.dm_channel_id) == (USER_ID, "32")


class PagedHistory:
    """Discord's answer to GET /channels/{id}/messages: newest first, ``limit`` a page, before ``before``."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._newest_first = sorted(messages, key=lambda m: -int(m["id"]))
        self.pages = 0

    async def get_messages(self, channel_id: str, *, limit: int, before: str | None) -> list[dict[str, Any]]:
        assert channel_id == CHANNEL_ID
        self.pages += 1
        older = [m for m in self._newest_first if before is None or int(m["id"]) < int(before)]
        return older[:limit]


async def test_channel_history_reads_back_our_bot_messages_since_a_time_oldest_first() -> None:
    base = 1_300_000_000_000_000_000
    messages = [started(message_id=str(base + n * 4_194_304_000)) for n in range(150)]  # 1 s apart
    stranger = started(OTHER_USER, message_id=str(base + 150 * 4_194_304_000))
    rest = PagedHistory([*messages, stranger])
    since = snowflake_time_ms(messages[20]["id"])
    events = await inbound(user_id=USER_ID, rest=rest).channel_history(since_ms=since)
    assert [e.keys.message_id for e in events if isinstance(e, JobStarted)] == [m["id"] for m in messages[20:]]
    assert rest.pages == 2  # stopped at the first page that reached back past ``since``
