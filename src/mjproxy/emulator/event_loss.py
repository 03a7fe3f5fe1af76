"""Gateway faults that lose traffic without closing anything: dispatches that never arrive and heartbeats
that are never acknowledged.

A lost dispatch is lost for good: it gets no sequence number and never enters the replay buffer, so a
RESUME cannot bring it back (that is what the channel history is for). "final" narrows a rule to the
message that carries a job's result: a bot MESSAGE_CREATE with an image and buttons.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from .state import BOT_USERS, JsonDict


def is_final_result(event: str, data: JsonDict) -> bool:
    author = str((data.get("author") or {}).get("id"))
    return (event == "MESSAGE_CREATE" and author in BOT_USERS and bool(data.get("attachments"))
            and bool(data.get("components")))


def _message_text(data: JsonDict) -> str:
    parts = [str(data.get("content") or "")]
    for embed in data.get("embeds") or []:
        if isinstance(embed, dict):
            parts += [str(embed.get("title") or ""), str(embed.get("description") or ""),
                      str((embed.get("footer") or {}).get("text") or "")]
    return "\n".join(parts)


@dataclass
class DropRule:
    events: frozenset[str]
    remaining: int | None  # None: no limit (use with a fraction)
    fraction: float = 1.0
    final_only: bool = False
    user_id: str | None = None
    text: str | None = None  # only messages whose content or embeds contain this
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (event, message id) actually lost

    def applies(self, user_id: str, event: str, data: JsonDict) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.user_id is not None and self.user_id != user_id:
            return False
        if self.events and event not in self.events:
            return False
        if self.text is not None and self.text not in _message_text(data):
            return False
        return not self.final_only or is_final_result(event, data)


class EventLoss:
    def __init__(self, rng: random.Random | None = None) -> None:
        self.rules: list[DropRule] = []
        self.ack_losses: dict[str, int] = {}  # user id -> heartbeats left unacknowledged
        self._rng = rng or random.Random(0)

    def drop(self, events: Iterable[str] = (), *, count: int | None = 1, fraction: float = 1.0,
             final_only: bool = False, user_id: str | None = None, text: str | None = None) -> DropRule:
        """Lose the next ``count`` dispatches of ``events`` (all types when empty), each with ``fraction``."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        if count is None and fraction >= 1.0 and not events and not final_only:
            raise ValueError("dropping every dispatch for ever would make the gateway useless; give a count")
        rule = DropRule(frozenset(events), count, fraction, final_only, user_id, text)
        self.rules.append(rule)
        return rule

    def should_drop(self, user_id: str, event: str, data: JsonDict) -> bool:
        for rule in self.rules:
            if rule.applies(user_id, event, data) and self._rng.random() < rule.fraction:
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.dropped.append((event, str(data.get("id", ""))))
                return True
        return False

    def lose_acks(self, user_id: str, count: int = 1) -> None:
        """Leave the user's next ``count`` heartbeats unanswered (a zombie connection)."""
        self.ack_losses[user_id] = self.ack_losses.get(user_id, 0) + count

    def take_ack_loss(self, user_id: str) -> bool:
        left = self.ack_losses.get(user_id, 0)
        if left <= 0:
            return False
        self.ack_losses[user_id] = left - 1
        return True

    def clear(self) -> None:
        self.rules.clear()
        self.ack_losses.clear()
