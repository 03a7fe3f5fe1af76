"""The /v2 submit answers as useapi's schema has them (tests/contracts/useapi_jobs.schema.json).

A submit answers with the job as Midjourney first showed it. useapi's schema allows fewer statuses in a
submit answer than in GET: ``started`` for imagine and blend, ``started``/``completed`` for button and
describe. A job that is already further along (a fast job in progress, or finished within the wait) is
reported as started; GET /v2/jobs/?jobid= says where it is now. One knowing difference: when Midjourney has
not answered within ``useapi.submit_wait_seconds`` the answer is ``created`` (docs/useapi.md).
"""

from __future__ import annotations

from ...engine.jobdesk import Answer

SUBMIT_STATUSES: dict[str, tuple[str, ...]] = {
    "imagine": ("started",), "blend": ("started",), "button": ("started", "completed"),
    "describe": ("started", "completed"),
}
_UNDER_WAY = ("progress", "completed")


def submit_answer(verb: str, answer: Answer) -> Answer:
    if answer.status != 200 or not isinstance(answer.body, dict):
        return answer  # error answers have their own shape
    status = answer.body.get("status")
    if status in _UNDER_WAY and status not in SUBMIT_STATUSES[verb]:
        return Answer(answer.status, {**answer.body, "status": "started"})
    return answer
