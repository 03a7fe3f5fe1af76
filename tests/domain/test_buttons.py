"""customId codec: every §11 shape parses, round-trips, and maps to the §6 action and §12 modal."""

from __future__ import annotations

import pytest

from mjproxy.domain import buttons as b
from mjproxy.domain.buttons import ButtonKind, ModalIds, PanDirection, ParsedCustomId, parse_custom_id
from mjproxy.domain.task import TaskAction

H = "0f4a5b7c-1d2e-4f30-9a8b-7c6d5e4f3a2b"
MSG = "1300000000000000009"

# (custom_id, kind, index, job_hash, solo, extra field checks)
KNOWN_IDS: list[tuple[str, ButtonKind, int | None, str | None, bool]] = [
    *[(f"MJ::JOB::upsample::{i}::{H}", ButtonKind.UPSCALE, i, H, False) for i in range(1, 5)],
    *[(f"MJ::JOB::variation::{i}::{H}", ButtonKind.VARIATION, i, H, False) for i in range(1, 5)],
    (f"MJ::JOB::variation::1::{H}::SOLO", ButtonKind.VARIATION, 1, H, True),  # old "Make Variations"
    (f"MJ::JOB::reroll::0::{H}::SOLO", ButtonKind.REROLL, 0, H, True),
    (f"MJ::JOB::high_variation::1::{H}::SOLO", ButtonKind.VARY_STRONG, 1, H, True),
    (f"MJ::JOB::low_variation::1::{H}::SOLO", ButtonKind.VARY_SUBTLE, 1, H, True),
    (f"MJ::Outpaint::50::1::{H}::SOLO", ButtonKind.ZOOM_OUT, 1, H, True),
    (f"MJ::Outpaint::75::1::{H}::SOLO", ButtonKind.ZOOM_OUT, 1, H, True),
    (f"MJ::CustomZoom::{H}", ButtonKind.CUSTOM_ZOOM, None, H, False),
    (f"MJ::JOB::pan_left::1::{H}::SOLO", ButtonKind.PAN, 1, H, True),
    (f"MJ::JOB::pan_right::1::{H}::SOLO", ButtonKind.PAN, 1, H, True),
    (f"MJ::JOB::pan_up::1::{H}::SOLO", ButtonKind.PAN, 1, H, True),
    (f"MJ::JOB::pan_down::1::{H}::SOLO", ButtonKind.PAN, 1, H, True),
    (f"MJ::BOOKMARK::{H}", ButtonKind.BOOKMARK, None, H, False),
    (f"MJ::JOB::upsample_v6_2x_subtle::1::{H}::SOLO", ButtonKind.UPSCALE_SUBTLE, 1, H, True),
    (f"MJ::JOB::upsample_v6r1_2x_subtle::1::{H}::SOLO", ButtonKind.UPSCALE_SUBTLE, 1, H, True),
    (f"MJ::JOB::upsample_v7_2x_subtle::1::{H}::SOLO", ButtonKind.UPSCALE_SUBTLE, 1, H, True),
    (f"MJ::JOB::upsample_v6_2x_creative::1::{H}::SOLO", ButtonKind.UPSCALE_CREATIVE, 1, H, True),
    (f"MJ::JOB::upsample_v6r1_2x_creative::1::{H}::SOLO", ButtonKind.UPSCALE_CREATIVE, 1, H, True),
    (f"MJ::JOB::upsample_v7_2x_creative::1::{H}::SOLO", ButtonKind.UPSCALE_CREATIVE, 1, H, True),
    (f"MJ::JOB::upsample_v5_2x::1::{H}::SOLO", ButtonKind.UPSCALE_2X, 1, H, True),
    (f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO", ButtonKind.UPSCALE_4X, 1, H, True),
    (f"MJ::JOB::upsample_beta::1::{H}::SOLO", ButtonKind.UPSCALE_OTHER, 1, H, True),
    (f"MJ::Inpaint::1::{H}::SOLO", ButtonKind.VARY_REGION, 1, H, True),
    (f"MJ::JOB::make_square::1::{H}::SOLO", ButtonKind.MAKE_SQUARE, 1, H, True),
    (f"MJ::JOB::animate_high::1::{H}::SOLO", ButtonKind.ANIMATE, 1, H, True),
    (f"MJ::JOB::animate_low::1::{H}::SOLO", ButtonKind.ANIMATE, 1, H, True),
    (f"MJ::JOB::animate_high_extend::1::{H}::SOLO", ButtonKind.ANIMATE, 1, H, True),
    (f"MJ::JOB::animate_low_extend::1::{H}::SOLO", ButtonKind.ANIMATE, 1, H, True),
    (f"MJ::JOB::video_virtual_upscale::1::{H}", ButtonKind.VIDEO_UPSCALE, 1, H, False),
    (f"MJ::JOB::remaster::1::{H}::SOLO", ButtonKind.REMASTER, 1, H, True),
    *[(f"MJ::Job::PicReader::{i}", ButtonKind.PIC_READER, i, None, False) for i in range(1, 5)],
    ("MJ::Job::PicReader::all", ButtonKind.PIC_READER_ALL, None, None, False),
    ("MJ::Picread::Retry", ButtonKind.PICREAD_RETRY, None, None, False),
    *[(f"MJ::Job::PromptAnalyzer::{i}", ButtonKind.PROMPT_ANALYZER, i, None, False) for i in range(1, 6)],
    ("MJ::Settings::RemixMode", ButtonKind.SETTINGS, None, None, False),
    ("MJ::Settings::Style::raw", ButtonKind.SETTINGS, None, None, False),
    ("MJ::Settings::HighVariabilityMode::1", ButtonKind.SETTINGS, None, None, False),
    ("MJ::Settings::RelaxMode::on", ButtonKind.SETTINGS, None, None, False),
    ("MJ::Settings::VersionSelector", ButtonKind.SETTINGS, None, None, False),
    ("MJ::Job::PromptAnalyzerExtended", ButtonKind.OTHER, None, None, False),
    (f"MJ::JOB::brand_new_thing::1::{H}::SOLO", ButtonKind.OTHER, 1, H, True),
    ("MJ::SomethingNew::x::y", ButtonKind.OTHER, None, None, False),
]


@pytest.mark.parametrize(("custom_id", "kind", "index", "job_hash", "solo"), KNOWN_IDS)
def test_parse_known_shapes(custom_id: str, kind: ButtonKind, index: int | None, job_hash: str | None,
                            solo: bool) -> None:
    parsed = parse_custom_id(custom_id)
    assert parsed is not None
    assert (parsed.kind, parsed.index, parsed.job_hash, parsed.solo, parsed.raw) == (
        kind, index, job_hash, solo, custom_id)


@pytest.mark.parametrize("custom_id", [row[0] for row in KNOWN_IDS])
def test_build_parse_build_is_identity(custom_id: str) -> None:
    parsed = parse_custom_id(custom_id)
    assert parsed is not None
    built = b.build_custom_id(parsed)
    assert built == custom_id
    again = parse_custom_id(built)
    assert again == parsed
    assert b.build_custom_id(again) == built


@pytest.mark.parametrize("custom_id", [row[0] for row in KNOWN_IDS
                                       if row[1] not in (ButtonKind.OTHER, ButtonKind.SETTINGS)])
def test_build_from_fields_without_raw(custom_id: str) -> None:
    """The structured fields alone rebuild the id: nothing is smuggled through ``raw``."""
    parsed = parse_custom_id(custom_id)
    assert parsed is not None
    stripped = ParsedCustomId(parsed.kind, "", job_hash=parsed.job_hash, index=parsed.index, token=parsed.token,
                              direction=parsed.direction, outpaint_level=parsed.outpaint_level, solo=parsed.solo)
    assert b.build_custom_id(stripped) == custom_id


@pytest.mark.parametrize("custom_id", ["", "hello", "U1", "mj::JOB::upsample::1::x", "MJ", None, 42])
def test_non_mj_ids_are_none(custom_id: object) -> None:
    assert parse_custom_id(custom_id) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("custom_id", [
    "MJ::", "MJ::JOB", "MJ::JOB::upsample", f"MJ::JOB::upsample::x::{H}", "MJ::JOB::upsample::1::",
    f"MJ::JOB::upsample::1::{H}::NOTSOLO", f"MJ::JOB::upsample::1::{H}::SOLO::extra", "MJ::Outpaint::50::1::",
    f"MJ::Outpaint::abc::1::{H}::SOLO", "MJ::CustomZoom::", "MJ::Inpaint::1", "MJ::Job::PicReader::x",
    f"MJ::JOB::pan_sideways::1::{H}::SOLO", "MJ::Picread::Again",
])
def test_malformed_mj_ids_are_other_and_survive(custom_id: str) -> None:
    parsed = parse_custom_id(custom_id)
    assert parsed is not None and parsed.kind is ButtonKind.OTHER
    assert b.build_custom_id(parsed) == custom_id
    assert b.task_action_for(parsed) is None


def test_build_without_anything_raises() -> None:
    with pytest.raises(ValueError):
        b.build_custom_id(ParsedCustomId(ButtonKind.UPSCALE, ""))


def test_pan_direction_and_zoom_factor() -> None:
    pan = parse_custom_id(f"MJ::JOB::pan_up::1::{H}::SOLO")
    assert pan is not None and pan.direction is PanDirection.UP and pan.token == "pan_up"
    two = parse_custom_id(f"MJ::Outpaint::50::1::{H}::SOLO")
    one_half = parse_custom_id(f"MJ::Outpaint::75::1::{H}::SOLO")
    assert two is not None and two.zoom_factor == 2.0 and two.outpaint_level == 50
    assert one_half is not None and one_half.zoom_factor == 1.5
    custom = parse_custom_id(f"MJ::CustomZoom::{H}")
    assert custom is not None and custom.zoom_factor is None


def test_animate_flags() -> None:
    low_extend = parse_custom_id(f"MJ::JOB::animate_low_extend::1::{H}::SOLO")
    high = parse_custom_id(f"MJ::JOB::animate_high::1::{H}::SOLO")
    assert low_extend is not None and low_extend.animate_low_motion and low_extend.animate_extend
    assert high is not None and not high.animate_low_motion and not high.animate_extend


def test_grid_ids_in_midjourney_order() -> None:
    assert b.grid_custom_ids(H) == [
        f"MJ::JOB::upsample::1::{H}", f"MJ::JOB::upsample::2::{H}", f"MJ::JOB::upsample::3::{H}",
        f"MJ::JOB::upsample::4::{H}", f"MJ::JOB::reroll::0::{H}::SOLO",
        f"MJ::JOB::variation::1::{H}", f"MJ::JOB::variation::2::{H}", f"MJ::JOB::variation::3::{H}",
        f"MJ::JOB::variation::4::{H}",
    ]
    row1, row2 = b.grid_button_rows(H)
    assert [x.label for x in row1] == ["U1", "U2", "U3", "U4", ""] and row1[4].emoji == "🔄"
    assert [x.label for x in row2] == ["V1", "V2", "V3", "V4"]


def test_builders_match_catalogue() -> None:
    assert b.vary_id(H, strong=True) == f"MJ::JOB::high_variation::1::{H}::SOLO"
    assert b.vary_id(H, strong=False) == f"MJ::JOB::low_variation::1::{H}::SOLO"
    assert b.pan_id(H, "left") == f"MJ::JOB::pan_left::1::{H}::SOLO"
    assert b.pan_id(H, PanDirection.DOWN) == f"MJ::JOB::pan_down::1::{H}::SOLO"
    assert b.zoom_out_id(H, 2.0) == f"MJ::Outpaint::50::1::{H}::SOLO"
    assert b.zoom_out_id(H, 1.5) == f"MJ::Outpaint::75::1::{H}::SOLO"
    assert b.custom_zoom_id(H) == f"MJ::CustomZoom::{H}"
    assert b.vary_region_id(H) == f"MJ::Inpaint::1::{H}::SOLO"
    assert b.bookmark_id(H) == f"MJ::BOOKMARK::{H}"
    assert b.upscale_model_id(H, "v6r1", "2x_subtle") == f"MJ::JOB::upsample_v6r1_2x_subtle::1::{H}::SOLO"
    assert b.describe_custom_ids() == ["MJ::Job::PicReader::1", "MJ::Job::PicReader::2", "MJ::Job::PicReader::3",
                                       "MJ::Job::PicReader::4", "MJ::Picread::Retry", "MJ::Job::PicReader::all"]
    assert b.shorten_custom_ids() == [f"MJ::Job::PromptAnalyzer::{i}" for i in range(1, 6)]
    with pytest.raises(ValueError):
        b.zoom_out_id(H, 3.0)
    with pytest.raises(ValueError):
        b.pan_id(H, "sideways")


def test_upscale_rows_parse_back_with_the_same_hash() -> None:
    for row in b.upscale_button_rows(H):
        for button in row:
            parsed = parse_custom_id(button.custom_id)
            assert parsed is not None and parsed.kind is not ButtonKind.OTHER and parsed.job_hash == H


# ---- api-midjourney-proxy.md §6: customId → action, modal? ----

ACTION_TABLE: list[tuple[str, TaskAction | None, bool, bool]] = [
    # custom_id, action, modal without remix, modal with remix
    (f"MJ::JOB::upsample::2::{H}", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::upsample_v5_2x::1::{H}::SOLO", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::upsample_v6_2x_subtle::1::{H}::SOLO", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::upsample_v6r1_2x_creative::1::{H}::SOLO", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::upsample_v7_2x_subtle::1::{H}::SOLO", TaskAction.UPSCALE, False, False),
    (f"MJ::JOB::variation::3::{H}", TaskAction.VARIATION, False, True),
    (f"MJ::JOB::low_variation::1::{H}::SOLO", TaskAction.VARIATION, False, True),
    (f"MJ::JOB::high_variation::1::{H}::SOLO", TaskAction.VARIATION, False, True),
    (f"MJ::JOB::reroll::0::{H}::SOLO", TaskAction.REROLL, False, True),
    (f"MJ::JOB::pan_left::1::{H}::SOLO", TaskAction.PAN, False, True),
    (f"MJ::JOB::pan_down::1::{H}::SOLO", TaskAction.PAN, False, True),
    (f"MJ::Outpaint::50::1::{H}::SOLO", TaskAction.ZOOM, False, False),
    (f"MJ::Outpaint::75::1::{H}::SOLO", TaskAction.ZOOM, False, False),
    (f"MJ::CustomZoom::{H}", TaskAction.ZOOM, True, True),
    (f"MJ::Inpaint::1::{H}::SOLO", TaskAction.VARIATION, True, True),
    ("MJ::Job::PicReader::2", TaskAction.IMAGINE, True, True),
    ("MJ::Job::PicReader::all", TaskAction.IMAGINE, False, False),
    ("MJ::Picread::Retry", TaskAction.DESCRIBE, False, False),
    ("MJ::Job::PromptAnalyzer::5", TaskAction.IMAGINE, True, True),
    (f"MJ::BOOKMARK::{H}", None, False, False),
    (f"MJ::JOB::animate_high::1::{H}::SOLO", None, False, True),
    ("MJ::Settings::RemixMode", None, False, False),
]


@pytest.mark.parametrize(("custom_id", "action", "modal_plain", "modal_remix"), ACTION_TABLE)
def test_action_and_modal_table(custom_id: str, action: TaskAction | None, modal_plain: bool,
                                modal_remix: bool) -> None:
    parsed = parse_custom_id(custom_id)
    assert parsed is not None
    assert b.task_action_for(parsed) == action
    assert b.requires_modal(parsed, remix=False) is modal_plain
    assert b.requires_modal(parsed, remix=True) is modal_remix


def test_only_vary_region_is_an_iframe() -> None:
    assert [row[0] for row in KNOWN_IDS if b.is_iframe_modal(parse_custom_id(row[0]))] == [  # type: ignore[arg-type]
        f"MJ::Inpaint::1::{H}::SOLO"]


# ---- midjourney-bot.md §12 ----

MODAL_TABLE: list[tuple[str, bool, ModalIds | None]] = [
    (f"MJ::CustomZoom::{H}", True,
     ModalIds(f"MJ::OutpaintCustomZoomModal::{H}", "MJ::OutpaintCustomZoomModal::prompt")),
    (f"MJ::JOB::variation::3::{H}", True, ModalIds(f"MJ::RemixModal::{H}::3::1", "MJ::RemixModal::new_prompt")),
    (f"MJ::JOB::variation::3::{H}", False, ModalIds(f"MJ::RemixModal::{H}::3::0", "MJ::RemixModal::new_prompt")),
    (f"MJ::JOB::high_variation::1::{H}::SOLO", False,
     ModalIds(f"MJ::RemixModal::{H}::1::1", "MJ::RemixModal::new_prompt")),
    (f"MJ::JOB::low_variation::1::{H}::SOLO", True,
     ModalIds(f"MJ::RemixModal::{H}::1::0", "MJ::RemixModal::new_prompt")),
    (f"MJ::JOB::pan_left::1::{H}::SOLO", True, ModalIds(f"MJ::PanModal::left::{H}::1", "MJ::PanModal::prompt")),
    (f"MJ::JOB::pan_down::1::{H}::SOLO", True, ModalIds(f"MJ::PanModal::down::{H}::1", "MJ::PanModal::prompt")),
    (f"MJ::JOB::reroll::0::{H}::SOLO", True, ModalIds(f"MJ::ImagineModal::{MSG}", "MJ::ImagineModal::new_prompt")),
    ("MJ::Job::PromptAnalyzer::4", True, ModalIds(f"MJ::ImagineModal::{MSG}", "MJ::ImagineModal::new_prompt")),
    ("MJ::Job::PicReader::2", True, ModalIds("MJ::Picreader::Modal::2", "MJ::Picreader::Modal::PromptField")),
    (f"MJ::JOB::animate_low::1::{H}::SOLO", True,
     ModalIds(f"MJ::AnimateModal::{H}::1::1::0", "MJ::AnimateModal::prompt")),
    (f"MJ::JOB::animate_high_extend::1::{H}::SOLO", True,
     ModalIds(f"MJ::AnimateModal::{H}::1::0::1", "MJ::AnimateModal::prompt")),
    (f"MJ::Inpaint::1::{H}::SOLO", True, None),
    (f"MJ::JOB::upsample::1::{H}", True, None),
    (f"MJ::BOOKMARK::{H}", True, None),
]


@pytest.mark.parametrize(("custom_id", "strong", "expected"), MODAL_TABLE)
def test_modal_ids(custom_id: str, strong: bool, expected: ModalIds | None) -> None:
    parsed = parse_custom_id(custom_id)
    assert parsed is not None
    assert b.modal_custom_id(parsed, MSG, remix_strong=strong) == expected
    if expected is not None:
        assert b.modal_input_custom_id(expected.custom_id) == expected.input_custom_id


def test_modal_input_of_unknown_modal() -> None:
    assert b.modal_input_custom_id("MJ::iframe::abc") is None
