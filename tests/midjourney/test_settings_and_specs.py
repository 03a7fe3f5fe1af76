from __future__ import annotations

from mjproxy.midjourney.interactions import (
    ButtonSpec,
    FaceSwapSpec,
    ModalSpec,
    SlashSpec,
    Upload,
    spec_from_json,
    spec_to_json,
)
from mjproxy.midjourney.settings import parse_settings_message

SETTINGS = {
    "id": "42", "flags": 64, "content": "Adjust your settings here. Current suffix: ` --v 6.1`",
    "components": [
        {"type": 1, "components": [{"type": 3, "custom_id": "MJ::Settings::VersionSelector", "options": [
            {"label": "Midjourney Model V6.0", "value": "a"},
            {"label": "Midjourney Model V6.1", "value": "b", "default": True}]}]},
        {"type": 1, "components": [
            {"type": 2, "style": 3, "label": "Remix mode", "custom_id": "MJ::Settings::RemixMode"},
            {"type": 2, "style": 2, "label": "RAW Mode", "custom_id": "MJ::Settings::Style::raw"},
            {"type": 2, "style": 5, "label": "Docs", "url": "https://docs.midjourney.com"}]},
    ],
}


def test_settings_message_is_read_into_data() -> None:
    view = parse_settings_message(SETTINGS)
    assert view.remix is True
    assert view.version == "Midjourney Model V6.1"
    assert view.version_values == {"Midjourney Model V6.0": "a", "Midjourney Model V6.1": "b"}
    assert view.suffix == "--v 6.1"
    assert view.toggle("RAW Mode") is not None and view.toggle("RAW Mode").on is False  # type: ignore[union-attr]
    assert [t.label for t in view.toggles] == ["Remix mode", "RAW Mode"], "link buttons are not toggles"
    assert view.message_flags == 64


def test_remix_unknown_without_the_toggle() -> None:
    assert parse_settings_message({"id": "1", "components": []}).remix is None


def test_interaction_specs_survive_json() -> None:
    upload = Upload(path="/d/u/0.png", filename="t_0.png", content_type="image/png", option="image1")
    for spec in (SlashSpec("blend", [{"type": 3, "name": "dimensions", "value": "--ar 1:1"}], uploads=[upload]),
                 SlashSpec("imagine", [{"type": 3, "name": "prompt", "value": "x"}], reference_images=[upload]),
                 ButtonSpec("m1", "MJ::JOB::upsample::1::h", 0),
                 ModalSpec("m2", "MJ::Inpaint::1::h::SOLO", "a hat", mask_path="/d/u/mask.png"),
                 FaceSwapSpec(upload, upload, face_id="abc")):
        assert spec_from_json(spec_to_json(spec)) == spec
