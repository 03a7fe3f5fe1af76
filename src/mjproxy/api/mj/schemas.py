"""Wire models of the midjourney-proxy dialect (requests; responses are the Task JSON and SubmitResultVO)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...engine.service import SubmitResult


class AccountFilterIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    channelId: str | None = None
    instanceId: str | None = None
    modes: list[Literal["FAST", "RELAX", "TURBO"]] | None = None
    remark: str | None = None
    remix: bool | None = None
    remixAutoConsidered: bool | None = None


class SubmitCommon(BaseModel):
    state: str | None = Field(None, max_length=4096)
    notifyHook: str | None = Field(None, max_length=2000)

    @field_validator("notifyHook")
    @classmethod
    def _hook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.lower().startswith(("http://", "https://")):  # schemes are case-insensitive (RFC 3986)
            raise ValueError("must be an http:// or https:// URL")
        return value


class BotRequest(SubmitCommon):
    botType: Literal["MID_JOURNEY", "NIJI_JOURNEY"] = "MID_JOURNEY"
    accountFilter: AccountFilterIn | None = None


class ImagineIn(BotRequest):
    prompt: str | None = Field(None, description="The prompt, with any Midjourney parameters (--ar 16:9 …)")
    base64Array: list[str] | None = None
    base64: str | None = None


class IdsIn(BaseModel):
    ids: list[str] | None = None


class SubmitResultOut(BaseModel):
    code: int = Field(description="1 submitted, 3 not found, 4 validation error, 21 modal, 22 queued, "
                                  "23 queue full, 24 banned prompt")
    description: str
    result: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, result: SubmitResult) -> SubmitResultOut:
        return cls(code=int(result.code), description=result.description, result=result.result,
                   properties=result.properties)


class DescribeIn(BotRequest):
    base64: str | None = Field(None, description="The image as a data URL (data:image/png;base64,…)")
    link: str | None = Field(None, max_length=2000, description="Or a public http(s) URL of the image")


class BlendIn(BotRequest):
    base64Array: list[str] | None = Field(None, description="2 to 5 images as data URLs")
    dimensions: Literal["PORTRAIT", "SQUARE", "LANDSCAPE"] | None = "SQUARE"


class ShortenIn(BotRequest):
    prompt: str | None = None


class ActionIn(SubmitCommon):
    taskId: str | None = None
    customId: str | None = None
    chooseSameChannel: bool = False
    accountFilter: AccountFilterIn | None = None
    enableRemix: bool | None = None


class ModalIn(BaseModel):
    taskId: str | None = None
    prompt: str | None = Field(None, max_length=6000)
    maskBase64: str | None = None


class ChangeIn(SubmitCommon):
    taskId: str | None = None
    action: Literal["UPSCALE", "VARIATION", "REROLL"] | None = None
    index: int | None = None


class SimpleChangeIn(SubmitCommon):
    content: str | None = None


class UploadImagesIn(BaseModel):
    base64Array: list[str] | None = None
    filter: AccountFilterIn | None = None
    accountFilter: AccountFilterIn | None = None


class SwapFaceIn(SubmitCommon):
    sourceBase64: str | None = None
    targetBase64: str | None = None


class UploadResultOut(BaseModel):
    code: int
    description: str
    result: list[str] | None = Field(default_factory=list)  # null when the request itself was invalid (code 4)


class SeedResultOut(BaseModel):
    code: int
    description: str
    result: str | None = None
