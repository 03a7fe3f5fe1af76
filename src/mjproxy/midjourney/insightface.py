"""The InsightFace bot's messages (face swap): a free-form protocol, read conservatively.

It is not Midjourney: no ``**prompt** - <@user> (status)`` contents. A nonce-bearing reply without an
image starts (or acknowledges) the job, a message with an image finishes it, and words of refusal fail it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .events import FailureCategory, JobCompleted, JobFailed, JobStarted, MjEvent
from .messages import extract_keys, first_media

_REFUSALS = ("not found", "error", "failed", "no face", "invalid")


def parse_insightface_message(message: Mapping[str, Any], *, update: bool = False) -> MjEvent | None:
    keys = extract_keys(message)
    content = str(message.get("content") or "")
    image = first_media(message)
    if image is not None:
        return JobCompleted(keys, content=content, image=image)
    if any(word in content.lower() for word in _REFUSALS):
        return JobFailed(keys, title="InsightFace", description=content, category=FailureCategory.INVALID)
    if keys.nonce and not update:
        return JobStarted(keys)
    return None
