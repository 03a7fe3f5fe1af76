"""The Midjourney button ``custom_id`` codec (``midjourney-bot.md`` §11, §12; ``api-midjourney-proxy.md`` §6).

Pure: parse a custom_id into a :class:`ParsedCustomId`, build one back, and answer the questions the
engine asks about a click: which task action it starts, whether it opens a modal, and which modal /
text-input ids that modal uses. Build→parse→build is the identity for every known shape, and unknown
``MJ::`` ids survive as :attr:`ButtonKind.OTHER` with their raw text so a click can still be forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .task import Button, TaskAction

SEP = "::"
SOLO = "SOLO"


class ButtonKind(StrEnum):
    UPSCALE = "upscale"  # U1–U4 on a grid
    UPSCALE_SUBTLE = "upscale_subtle"  # v6/v6.1/v7 "Upscale (Subtle)"
    UPSCALE_CREATIVE = "upscale_creative"
    UPSCALE_2X = "upscale_2x"  # v5 "Upscale (2x)"
    UPSCALE_4X = "upscale_4x"
    UPSCALE_OTHER = "upscale_other"  # older upsample_* tokens (beta, light, max…)
    VARIATION = "variation"  # V1–V4 on a grid, "Make Variations" on old upscales
    VARY_STRONG = "vary_strong"
    VARY_SUBTLE = "vary_subtle"
    VARY_REGION = "vary_region"
    REROLL = "reroll"
    ZOOM_OUT = "zoom_out"  # Zoom Out 2x / 1.5x
    CUSTOM_ZOOM = "custom_zoom"
    MAKE_SQUARE = "make_square"
    PAN = "pan"
    BOOKMARK = "bookmark"
    PIC_READER = "pic_reader"  # describe pick 1–4
    PIC_READER_ALL = "pic_reader_all"  # describe "Imagine all"
    PICREAD_RETRY = "picread_retry"  # describe 🔄
    PROMPT_ANALYZER = "prompt_analyzer"  # shorten pick 1–5
    ANIMATE = "animate"  # animate_high / animate_low [_extend]
    VIDEO_UPSCALE = "video_upscale"
    REMASTER = "remaster"
    SETTINGS = "settings"  # /settings toggles and selects
    OTHER = "other"


class PanDirection(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ParsedCustomId:
    """One button custom_id, taken apart.

    ``token`` is the action word of ``MJ::JOB::<token>::…`` ids ("upsample", "upsample_v6r1_2x_subtle",
    "pan_left", …). It is kept verbatim because the model-version part of upscale tokens is opaque and
    must be echoed back unchanged.
    """

    kind: ButtonKind
    raw: str
    job_hash: str | None = None
    index: int | None = None  # U/V index, describe/shorten option number, 1 on SOLO buttons
    token: str | None = None
    direction: PanDirection | None = None
    outpaint_level: int | None = None  # 50 (Zoom Out 2x) or 75 (Zoom Out 1.5x)
    solo: bool = False

    @property
    def zoom_factor(self) -> float | None:
        """The zoom a Zoom Out button asks for: MJ spells 2x as 50 and 1.5x as 75."""
        if self.outpaint_level is None:
            return None
        return _ZOOM_BY_LEVEL.get(self.outpaint_level, round(100 / self.outpaint_level, 2))

    @property
    def animate_low_motion(self) -> bool:
        return bool(self.token and self.token.startswith("animate_low"))

    @property
    def animate_extend(self) -> bool:
        return bool(self.token and self.token.endswith("_extend"))


_ZOOM_BY_LEVEL = {50: 2.0, 75: 1.5}

# Exact MJ::JOB tokens. upsample_* model variants are classified by suffix in _job_kind.
_JOB_TOKENS: dict[str, ButtonKind] = {
    "upsample": ButtonKind.UPSCALE,
    "variation": ButtonKind.VARIATION,
    "high_variation": ButtonKind.VARY_STRONG,
    "low_variation": ButtonKind.VARY_SUBTLE,
    "reroll": ButtonKind.REROLL,
    "make_square": ButtonKind.MAKE_SQUARE,
    "video_virtual_upscale": ButtonKind.VIDEO_UPSCALE,
    "remaster": ButtonKind.REMASTER,
}
_JOB_KINDS = frozenset(
    {*_JOB_TOKENS.values(), ButtonKind.UPSCALE_SUBTLE, ButtonKind.UPSCALE_CREATIVE, ButtonKind.UPSCALE_2X,
     ButtonKind.UPSCALE_4X, ButtonKind.UPSCALE_OTHER, ButtonKind.PAN, ButtonKind.ANIMATE}
)


_UPSCALE_SUFFIXES = (("_subtle", ButtonKind.UPSCALE_SUBTLE), ("_creative", ButtonKind.UPSCALE_CREATIVE),
                     ("_2x", ButtonKind.UPSCALE_2X), ("_4x", ButtonKind.UPSCALE_4X))


def _job_kind(token: str) -> tuple[ButtonKind, PanDirection | None]:
    if token in _JOB_TOKENS:
        return _JOB_TOKENS[token], None
    if token.startswith("pan_"):
        try:
            return ButtonKind.PAN, PanDirection(token.removeprefix("pan_"))
        except ValueError:
            return ButtonKind.OTHER, None
    if token.startswith("animate_"):
        return ButtonKind.ANIMATE, None
    if token.startswith("upsample_"):
        for suffix, kind in _UPSCALE_SUFFIXES:
            if token.endswith(suffix):
                return kind, None
        return ButtonKind.UPSCALE_OTHER, None
    return ButtonKind.OTHER, None


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _parse_job(raw: str, rest: list[str]) -> ParsedCustomId:
    # MJ::JOB::<token>::<index>::<hash>[::SOLO]
    well_formed = len(rest) == 3 or (len(rest) == 4 and rest[3] == SOLO)
    if not well_formed or _int(rest[1]) is None or not rest[2]:
        return ParsedCustomId(ButtonKind.OTHER, raw)
    kind, direction = _job_kind(rest[0])
    return ParsedCustomId(kind, raw, job_hash=rest[2], index=_int(rest[1]), token=rest[0],
                          direction=direction, solo=len(rest) == 4)


def _parse_indexed_solo(raw: str, kind: ButtonKind, rest: list[str]) -> ParsedCustomId:
    # MJ::Inpaint::<index>::<hash>::SOLO
    if len(rest) == 3 and rest[2] == SOLO and _int(rest[0]) is not None and rest[1]:
        return ParsedCustomId(kind, raw, job_hash=rest[1], index=_int(rest[0]), solo=True)
    return ParsedCustomId(ButtonKind.OTHER, raw)


def _parse_outpaint(raw: str, rest: list[str]) -> ParsedCustomId:
    # MJ::Outpaint::<50|75>::<index>::<hash>::SOLO
    if len(rest) == 4 and rest[3] == SOLO and _int(rest[0]) and _int(rest[1]) is not None and rest[2]:
        return ParsedCustomId(ButtonKind.ZOOM_OUT, raw, job_hash=rest[2], index=_int(rest[1]),
                              outpaint_level=_int(rest[0]), solo=True)
    return ParsedCustomId(ButtonKind.OTHER, raw)


def _parse_hash_only(raw: str, kind: ButtonKind, rest: list[str]) -> ParsedCustomId:
    # MJ::CustomZoom::<hash>, MJ::BOOKMARK::<hash>
    if len(rest) == 1 and rest[0]:
        return ParsedCustomId(kind, raw, job_hash=rest[0])
    return ParsedCustomId(ButtonKind.OTHER, raw)


def _parse_lower_job(raw: str, rest: list[str]) -> ParsedCustomId:
    # MJ::Job::PicReader::<n|all>, MJ::Job::PromptAnalyzer::<n>
    if len(rest) == 2 and rest[0] == "PicReader":
        if rest[1] == "all":
            return ParsedCustomId(ButtonKind.PIC_READER_ALL, raw)
        if _int(rest[1]) is not None:
            return ParsedCustomId(ButtonKind.PIC_READER, raw, index=_int(rest[1]))
    if len(rest) == 2 and rest[0] == "PromptAnalyzer" and _int(rest[1]) is not None:
        return ParsedCustomId(ButtonKind.PROMPT_ANALYZER, raw, index=_int(rest[1]))
    return ParsedCustomId(ButtonKind.OTHER, raw)


def parse_custom_id(custom_id: str) -> ParsedCustomId | None:
    """Parse a Midjourney button custom_id; None when it is not an ``MJ::`` id at all."""
    if not isinstance(custom_id, str) or not custom_id.startswith("MJ" + SEP):
        return None
    parts = custom_id.split(SEP)
    family, rest = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
    if family == "JOB":
        return _parse_job(custom_id, rest)
    if family == "Outpaint":
        return _parse_outpaint(custom_id, rest)
    if family == "Inpaint":
        return _parse_indexed_solo(custom_id, ButtonKind.VARY_REGION, rest)
    if family == "CustomZoom":
        return _parse_hash_only(custom_id, ButtonKind.CUSTOM_ZOOM, rest)
    if family == "BOOKMARK":
        return _parse_hash_only(custom_id, ButtonKind.BOOKMARK, rest)
    if family == "Job":
        return _parse_lower_job(custom_id, rest)
    if family == "Picread" and rest == ["Retry"]:
        return ParsedCustomId(ButtonKind.PICREAD_RETRY, custom_id)
    if family == "Settings":
        return ParsedCustomId(ButtonKind.SETTINGS, custom_id)
    return ParsedCustomId(ButtonKind.OTHER, custom_id)


def build_custom_id(parsed: ParsedCustomId) -> str:
    """The custom_id for a parsed (or hand-built) button; the inverse of :func:`parse_custom_id`."""
    kind = parsed.kind
    if kind in _JOB_KINDS and parsed.token and parsed.job_hash and parsed.index is not None:
        tail = SEP + SOLO if parsed.solo else ""
        return f"MJ::JOB::{parsed.token}::{parsed.index}::{parsed.job_hash}{tail}"
    if kind is ButtonKind.ZOOM_OUT and parsed.outpaint_level and parsed.job_hash:
        return f"MJ::Outpaint::{parsed.outpaint_level}::{parsed.index or 1}::{parsed.job_hash}::SOLO"
    if kind is ButtonKind.VARY_REGION and parsed.job_hash:
        return f"MJ::Inpaint::{parsed.index or 1}::{parsed.job_hash}::SOLO"
    if kind is ButtonKind.CUSTOM_ZOOM and parsed.job_hash:
        return f"MJ::CustomZoom::{parsed.job_hash}"
    if kind is ButtonKind.BOOKMARK and parsed.job_hash:
        return f"MJ::BOOKMARK::{parsed.job_hash}"
    if kind is ButtonKind.PIC_READER and parsed.index is not None:
        return f"MJ::Job::PicReader::{parsed.index}"
    if kind is ButtonKind.PIC_READER_ALL:
        return "MJ::Job::PicReader::all"
    if kind is ButtonKind.PICREAD_RETRY:
        return "MJ::Picread::Retry"
    if kind is ButtonKind.PROMPT_ANALYZER and parsed.index is not None:
        return f"MJ::Job::PromptAnalyzer::{parsed.index}"
    if parsed.raw:
        return parsed.raw
    raise ValueError(f"cannot build a custom_id for {parsed!r}")


# ---- builders for the ids Midjourney puts on its messages (used by the emulator and by tests) ----

def _job(token: str, index: int, job_hash: str, *, solo: bool) -> str:
    kind, direction = _job_kind(token)
    return build_custom_id(ParsedCustomId(kind, "", job_hash=job_hash, index=index, token=token,
                                          direction=direction, solo=solo))


def upsample_id(job_hash: str, index: int) -> str:
    return _job("upsample", index, job_hash, solo=False)


def variation_id(job_hash: str, index: int) -> str:
    return _job("variation", index, job_hash, solo=False)


def reroll_id(job_hash: str) -> str:
    return _job("reroll", 0, job_hash, solo=True)


def vary_id(job_hash: str, *, strong: bool) -> str:
    return _job("high_variation" if strong else "low_variation", 1, job_hash, solo=True)


def pan_id(job_hash: str, direction: PanDirection | str) -> str:
    return _job(f"pan_{PanDirection(direction).value}", 1, job_hash, solo=True)


def zoom_out_id(job_hash: str, factor: float) -> str:
    """``MJ::Outpaint::50|75::1::H::SOLO`` for Zoom Out 2x / 1.5x."""
    levels = {zoom: level for level, zoom in _ZOOM_BY_LEVEL.items()}
    if factor not in levels:
        raise ValueError(f"Midjourney has Zoom Out buttons for 2x and 1.5x only, not {factor}")
    return f"MJ::Outpaint::{levels[factor]}::1::{job_hash}::SOLO"


def custom_zoom_id(job_hash: str) -> str:
    return f"MJ::CustomZoom::{job_hash}"


def vary_region_id(job_hash: str) -> str:
    return f"MJ::Inpaint::1::{job_hash}::SOLO"


def bookmark_id(job_hash: str) -> str:
    return f"MJ::BOOKMARK::{job_hash}"


def upscale_model_id(job_hash: str, model: str, variant: str) -> str:
    """``MJ::JOB::upsample_<model>_<variant>::1::H::SOLO``, e.g. model "v6r1", variant "2x_subtle"."""
    return _job(f"upsample_{model}_{variant}", 1, job_hash, solo=True)


def pic_reader_id(index: int) -> str:
    return f"MJ::Job::PicReader::{index}"


def prompt_analyzer_id(index: int) -> str:
    return f"MJ::Job::PromptAnalyzer::{index}"


def grid_custom_ids(job_hash: str) -> list[str]:
    """The nine grid buttons in Midjourney's order: U1–U4, 🔄, V1–V4 (§11.1)."""
    return [*(upsample_id(job_hash, i) for i in range(1, 5)), reroll_id(job_hash),
            *(variation_id(job_hash, i) for i in range(1, 5))]


def grid_button_rows(job_hash: str) -> list[list[Button]]:
    """Grid buttons as Midjourney lays them out: row 1 U1–U4 + 🔄, row 2 V1–V4."""
    row1 = [Button(upsample_id(job_hash, i), label=f"U{i}") for i in range(1, 5)]
    row1.append(Button(reroll_id(job_hash), emoji="🔄"))
    row2 = [Button(variation_id(job_hash, i), label=f"V{i}") for i in range(1, 5)]
    return [row1, row2]


def upscale_button_rows(job_hash: str, *, model: str = "v6r1") -> list[list[Button]]:
    """SOLO buttons under an upscaled image, v6-era layout (§11.3)."""
    return [
        [Button(upscale_model_id(job_hash, model, "2x_subtle"), label="Upscale (Subtle)"),
         Button(upscale_model_id(job_hash, model, "2x_creative"), label="Upscale (Creative)")],
        [Button(vary_id(job_hash, strong=False), label="Vary (Subtle)", emoji="🪄"),
         Button(vary_id(job_hash, strong=True), label="Vary (Strong)", emoji="🪄"),
         Button(vary_region_id(job_hash), label="Vary (Region)", emoji="🖌️")],
        [Button(zoom_out_id(job_hash, 2.0), label="Zoom Out 2x", emoji="🔍"),
         Button(zoom_out_id(job_hash, 1.5), label="Zoom Out 1.5x", emoji="🔍"),
         Button(custom_zoom_id(job_hash), label="Custom Zoom", emoji="🔍")],
        [Button(pan_id(job_hash, d), emoji=e)
         for d, e in (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️"))],
        [Button(bookmark_id(job_hash), emoji="❤️")],
    ]


def describe_custom_ids() -> list[str]:
    """Describe result buttons (§11.4): 1️⃣–4️⃣, 🔄, 🎉 Imagine all."""
    return [*(pic_reader_id(i) for i in range(1, 5)), "MJ::Picread::Retry", "MJ::Job::PicReader::all"]


def shorten_custom_ids(count: int = 5) -> list[str]:
    return [prompt_analyzer_id(i) for i in range(1, count + 1)]


# ---- what a click means ----

_ACTIONS: dict[ButtonKind, TaskAction] = {
    ButtonKind.UPSCALE: TaskAction.UPSCALE,
    ButtonKind.UPSCALE_SUBTLE: TaskAction.UPSCALE,
    ButtonKind.UPSCALE_CREATIVE: TaskAction.UPSCALE,
    ButtonKind.UPSCALE_2X: TaskAction.UPSCALE,
    ButtonKind.UPSCALE_4X: TaskAction.UPSCALE,
    ButtonKind.UPSCALE_OTHER: TaskAction.UPSCALE,
    ButtonKind.VARIATION: TaskAction.VARIATION,
    ButtonKind.VARY_STRONG: TaskAction.VARIATION,
    ButtonKind.VARY_SUBTLE: TaskAction.VARIATION,
    ButtonKind.VARY_REGION: TaskAction.VARIATION,  # [port] calls it INPAINT; plus keeps VARIATION
    ButtonKind.REROLL: TaskAction.REROLL,
    ButtonKind.ZOOM_OUT: TaskAction.ZOOM,
    ButtonKind.CUSTOM_ZOOM: TaskAction.ZOOM,
    ButtonKind.MAKE_SQUARE: TaskAction.ZOOM,  # an outpaint to 1:1, same lifecycle as Zoom Out
    ButtonKind.PAN: TaskAction.PAN,
    ButtonKind.PIC_READER: TaskAction.IMAGINE,
    ButtonKind.PIC_READER_ALL: TaskAction.IMAGINE,
    ButtonKind.PROMPT_ANALYZER: TaskAction.IMAGINE,
    ButtonKind.PICREAD_RETRY: TaskAction.DESCRIBE,
}


def task_action_for(parsed: ParsedCustomId) -> TaskAction | None:
    """The task action a click starts (api-midjourney-proxy.md §6); None for buttons that start no task
    we model (bookmark, animate, settings toggles, unknown ids)."""
    return _ACTIONS.get(parsed.kind)


_ALWAYS_MODAL = frozenset({ButtonKind.CUSTOM_ZOOM, ButtonKind.VARY_REGION, ButtonKind.PIC_READER,
                           ButtonKind.PROMPT_ANALYZER})
_REMIX_MODAL = frozenset({ButtonKind.VARIATION, ButtonKind.VARY_STRONG, ButtonKind.VARY_SUBTLE,
                          ButtonKind.PAN, ButtonKind.REROLL, ButtonKind.ANIMATE})


def requires_modal(parsed: ParsedCustomId, remix: bool) -> bool:
    """Whether clicking opens a modal: some buttons always do, the variation family only in remix mode."""
    return parsed.kind in _ALWAYS_MODAL or (remix and parsed.kind in _REMIX_MODAL)


def is_iframe_modal(parsed: ParsedCustomId) -> bool:
    """Vary (Region) opens an activity iframe, not a text modal: it is submitted outside /interactions."""
    return parsed.kind is ButtonKind.VARY_REGION


@dataclass(frozen=True, slots=True)
class ModalIds:
    """The custom_id of a text modal and of the prompt input inside it (§12)."""

    custom_id: str
    input_custom_id: str


def modal_custom_id(parsed: ParsedCustomId, message_id: str, *, remix_strong: bool = True) -> ModalIds | None:
    """The modal a click opens, derived the way clients do it without waiting for MODAL_CREATE.

    ``message_id`` is the message carrying the button (ImagineModal is keyed by it). ``remix_strong``
    picks the last field of RemixModal for V1–V4, which follows the account's variation mode (1 strong,
    0 subtle); Vary (Strong)/(Subtle) fix it themselves. None when the click opens no text modal
    (Vary Region's iframe, plain upscales, unknown ids).
    """
    h, i, kind = parsed.job_hash, parsed.index, parsed.kind
    if kind is ButtonKind.CUSTOM_ZOOM and h:
        return ModalIds(f"MJ::OutpaintCustomZoomModal::{h}", "MJ::OutpaintCustomZoomModal::prompt")
    if kind in (ButtonKind.VARIATION, ButtonKind.VARY_STRONG, ButtonKind.VARY_SUBTLE) and h and i is not None:
        strong = {ButtonKind.VARY_STRONG: True, ButtonKind.VARY_SUBTLE: False}.get(kind, remix_strong)
        return ModalIds(f"MJ::RemixModal::{h}::{i}::{int(strong)}", "MJ::RemixModal::new_prompt")
    if kind is ButtonKind.PAN and h and parsed.direction:
        return ModalIds(f"MJ::PanModal::{parsed.direction.value}::{h}::{i if i is not None else 1}",
                        "MJ::PanModal::prompt")
    if kind in (ButtonKind.REROLL, ButtonKind.PROMPT_ANALYZER):
        return ModalIds(f"MJ::ImagineModal::{message_id}", "MJ::ImagineModal::new_prompt")
    if kind is ButtonKind.PIC_READER and i is not None:
        return ModalIds(f"MJ::Picreader::Modal::{i}", "MJ::Picreader::Modal::PromptField")
    if kind is ButtonKind.ANIMATE and h:
        low, extend = int(parsed.animate_low_motion), int(parsed.animate_extend)
        return ModalIds(f"MJ::AnimateModal::{h}::{i if i is not None else 1}::{low}::{extend}",
                        "MJ::AnimateModal::prompt")
    return None


def modal_input_custom_id(modal_custom_id: str) -> str | None:
    """The prompt input id for a modal custom_id seen on INTERACTION_MODAL_CREATE (§12)."""
    inputs = {
        "MJ::OutpaintCustomZoomModal::": "MJ::OutpaintCustomZoomModal::prompt",
        "MJ::RemixModal::": "MJ::RemixModal::new_prompt",
        "MJ::PanModal::": "MJ::PanModal::prompt",
        "MJ::ImagineModal::": "MJ::ImagineModal::new_prompt",
        "MJ::Picreader::Modal::": "MJ::Picreader::Modal::PromptField",
        "MJ::AnimateModal::": "MJ::AnimateModal::prompt",
    }
    for prefix, input_id in inputs.items():
        if modal_custom_id.startswith(prefix):
            return input_id
    return None
