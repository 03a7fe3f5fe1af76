"""Request bodies of the useapi.net dialect (/v2). Fields are optional at the type level: the router answers
missing and too-long values with useapi's own 400 messages rather than pydantic's."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

MAX_PROMPT = 2048
MAX_REPLY = 1024  # replyUrl and replyRef
MAX_JOBS_LIMIT = 15

M = TypeVar("M", bound=BaseModel)

MISSING = "prompt, discord, server or channel value is missing"
TOO_LONG = "prompt, replyRef or replyUrl is too long"


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AccountChoiceIn(_Body):
    stream: bool | None = None  # answer text/event-stream (api/streams/jobs.py)
    discord: str | None = None
    server: str | None = None
    channel: str | None = None
    maxJobs: int | None = Field(None, ge=1, le=MAX_JOBS_LIMIT)
    replyUrl: str | None = None
    replyRef: str | None = None


class ImagineIn(AccountChoiceIn):
    prompt: str | None = None


class ButtonIn(_Body):
    stream: bool | None = None
    jobid: str | None = None
    button: str | None = None
    prompt: str | None = None
    mask: str | None = None
    discord: str | None = None
    maxJobs: int | None = Field(None, ge=1, le=MAX_JOBS_LIMIT)
    replyUrl: str | None = None
    replyRef: str | None = None


class DescribeIn(AccountChoiceIn):
    describeUrl: str | None = None


class BlendIn(AccountChoiceIn):
    blendUrls: list[str] | None = None
    blendDimensions: str | None = None


class SeedIn(_Body):
    jobid: str | None = None
    discord: str | None = None
    replyUrl: str | None = None
    replyRef: str | None = None


class AccountIn(_Body):
    discord: StrictStr | None = None  # the token: a number is refused, never turned into a token
    server: str | None = None
    channel: str | None = None
    maxJobs: int | None = None
    replyUrl: str | None = None


def describe_errors(exc: ValidationError) -> str:
    """One readable sentence naming each bad field."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ())) or "body"
        problems.append(f"{field}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request body"


def parse_body(model: type[M], data: Any) -> M:
    """Validate a decoded JSON body; raises ValueError or ValidationError (the router answers 400)."""
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return model.model_validate(data)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its body itself (to answer with useapi's 400s): the document
    still describes the body, so generated clients send it right."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}
