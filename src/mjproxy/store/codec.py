"""Task <-> row: the JSON document in ``tasks.data`` plus the indexed columns projected from it.

``data`` is the source of truth; the columns exist only so that queries can use indexes. Both are
produced from one Task in ``task_to_row``, so every writer must go through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import orjson

from mjproxy.domain.task import BotType, Button, Task, TaskAction, TaskStatus

# Task has no owner field yet; the engine records the API key that submitted a task here. The leading
# underscore keeps it out of the wire JSON (see domain.task.task_json).
OWNER_EXTRA_KEY = "_owner"

_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Task))
_KNOWN: frozenset[str] = frozenset(_FIELD_NAMES)

# Every task change is encoded: orjson, ~4x faster than the standard library, compact output either
# way; what orjson refuses (integers beyond 64 bits in free-form ``extra``) the standard library encodes.
# Decoding stays with the standard library: orjson would read such an integer back as a float.
_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def _encode(data: dict[str, Any]) -> str:
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return _std_encode(data)


def task_to_data(task: Task) -> dict[str, Any]:
    """The JSON document of a task, keyed by field name. Enums are StrEnums and encode as their value."""
    data = {name: getattr(task, name) for name in _FIELD_NAMES}
    data["buttons"] = [button.to_json() for button in task.buttons]
    return data


def task_from_data(data: Mapping[str, Any] | str) -> Task:
    """Rebuild a task from its JSON document (text or already decoded).

    Keys this version does not know (written by a newer mjproxy) are ignored, and missing keys (written
    by an older one) take the dataclass defaults, so rolling upgrades and downgrades both read cleanly.
    """
    doc: Mapping[str, Any] = _decode(data) if isinstance(data, str) else data
    kwargs = {key: value for key, value in doc.items() if key in _KNOWN}
    kwargs["action"] = TaskAction(kwargs["action"])
    if "status" in kwargs:
        kwargs["status"] = TaskStatus(kwargs["status"])
    if "bot_type" in kwargs:
        kwargs["bot_type"] = BotType(kwargs["bot_type"])
    if "buttons" in kwargs:
        kwargs["buttons"] = [Button.from_json(button) for button in kwargs["buttons"]]
    if kwargs.get("extra") is None:
        kwargs.pop("extra", None)
    return Task(**kwargs)


def task_owner(task: Task) -> str | None:
    owner = task.extra.get(OWNER_EXTRA_KEY)
    return None if owner is None else str(owner)


def task_to_row(task: Task, *, updated_at: int = 0) -> dict[str, Any]:
    """All columns of the ``tasks`` table for one task. ``updated_at`` is epoch ms from the caller's clock."""
    return {
        "id": task.id,
        "status": task.status.value,
        "action": task.action.value,
        "account_id": task.account_id,
        "submit_time": task.submit_time,
        "nonce": task.nonce,
        "parent_id": task.parent_id,
        "message_id": task.message_id,
        "message_hash": task.message_hash,
        "owner": task_owner(task),
        "updated_at": updated_at,
        "version": task.version,
        "data": _encode(task_to_data(task)),
    }


def task_from_row(row: Mapping[str, Any]) -> Task:
    """A task from a row mapping that has at least the ``data`` column (other columns are ignored)."""
    return task_from_data(row["data"])
