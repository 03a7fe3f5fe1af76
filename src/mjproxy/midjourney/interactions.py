"""What a task asks Discord to do, as plain data stored on the task (``task.extra["_interaction"]``).

Keeping the request as data means the executor is one generic call, and a task recovered after a
restart is sent exactly as it was accepted. File contents never live here: uploads point at files the
engine stored under the data directory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .constants import MIDJOURNEY_APP_ID

EXTRA_KEY = "_interaction"


@dataclass(frozen=True, slots=True)
class Upload:
    path: str  # a file under the data directory
    filename: str
    content_type: str
    option: str = ""  # the slash option that references it ("image", "image1" …); "" for reference images


@dataclass(frozen=True, slots=True)
class SlashSpec:
    """A slash command, optionally with attachments (describe, blend) or image prompts (imagine)."""

    name: str
    options: list[dict[str, Any]] = field(default_factory=list)
    application_id: str = MIDJOURNEY_APP_ID
    uploads: list[Upload] = field(default_factory=list)  # attachment options, uploaded through slots
    reference_images: list[Upload] = field(default_factory=list)  # posted to the channel, URLs put before the prompt
    kind: Literal["slash"] = "slash"


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    message_id: str
    custom_id: str
    message_flags: int = 0
    application_id: str = MIDJOURNEY_APP_ID
    kind: Literal["button"] = "button"


@dataclass(frozen=True, slots=True)
class ModalSpec:
    """Click a button that opens a modal, then submit it: a text modal with ``prompt``, or Vary (Region)'s
    iframe editor with ``prompt`` and the mask file."""

    message_id: str
    custom_id: str
    prompt: str
    message_flags: int = 0
    application_id: str = MIDJOURNEY_APP_ID
    mask_path: str | None = None
    kind: Literal["modal"] = "modal"


@dataclass(frozen=True, slots=True)
class FaceSwapSpec:
    """InsightFace: register the source face under a fresh id, then swap it onto the target."""

    source: Upload
    target: Upload
    face_id: str
    kind: Literal["face_swap"] = "face_swap"


InteractionSpec = SlashSpec | ButtonSpec | ModalSpec | FaceSwapSpec


def spec_to_json(spec: InteractionSpec) -> dict[str, Any]:
    return asdict(spec)


def spec_from_json(data: dict[str, Any]) -> InteractionSpec:
    kind = data.get("kind")
    body = {k: v for k, v in data.items() if k != "kind"}
    if kind == "slash":
        body["uploads"] = [Upload(**u) for u in body.get("uploads", [])]
        body["reference_images"] = [Upload(**u) for u in body.get("reference_images", [])]
        return SlashSpec(**body)
    if kind == "button":
        return ButtonSpec(**body)
    if kind == "modal":
        return ModalSpec(**body)
    if kind == "face_swap":
        return FaceSwapSpec(source=Upload(**body["source"]), target=Upload(**body["target"]),
                            face_id=body["face_id"])
    raise ValueError(f"unknown interaction kind {kind!r}")
