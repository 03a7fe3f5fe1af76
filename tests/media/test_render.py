"""Grid splitting and thumbnails: pure Pillow, checked pixel for pixel."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops

from mjproxy.media import render as render_module
from mjproxy.media.render import ImageDecodeError, quadrants, render


def noisy(width: int, height: int, mode: str = "RGB", fmt: str = "PNG") -> bytes:
    rng = random.Random(width * 31 + height)
    image = Image.frombytes(mode, (width, height), rng.randbytes(width * height * len(mode)))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("split_format", ["png", "webp"])
@pytest.mark.parametrize(("width", "height", "mode", "fmt"), [
    (512, 512, "RGB", "PNG"), (1025, 771, "RGB", "PNG"), (300, 200, "RGBA", "PNG"), (256, 384, "RGB", "WEBP")])
def test_each_split_image_is_its_quadrant_pixel_for_pixel(width: int, height: int, mode: str, fmt: str,
                                                          split_format: str) -> None:
    data = noisy(width, height, mode, fmt)
    result = render(data, split=True, thumbnail_size=64, thumbnail_quality=80, split_format=split_format)
    grid = decode(data)
    assert result.original.data == data, "the original is stored as it came"
    assert (result.original.width, result.original.height) == (width, height)
    assert len(result.parts) == 4
    covered = 0
    for (part, thumb), box in zip(result.parts, quadrants(width, height), strict=True):
        image = decode(part.data)
        assert image.format == split_format.upper() and part.content_type == f"image/{split_format}"
        assert ImageChops.difference(grid.crop(box).convert("RGBA"), image.convert("RGBA")).getbbox() is None
        covered += image.width * image.height
        small = decode(thumb.data)
        assert small.format == "WEBP" and max(small.size) == 64
    assert covered == width * height, "the four quadrants cover the grid exactly"


def test_quadrants_are_u1_to_u4_in_reading_order() -> None:
    assert quadrants(100, 60) == [(0, 0, 50, 30), (50, 0, 100, 30), (0, 30, 50, 60), (50, 30, 100, 60)]


def test_single_images_are_thumbnailed_not_split() -> None:
    result = render(noisy(400, 200), split=False, thumbnail_size=100, thumbnail_quality=70)
    assert result.parts == []
    assert (result.thumbnail.width, result.thumbnail.height) == (100, 50)


def test_small_images_are_not_enlarged() -> None:
    result = render(noisy(40, 30), split=False, thumbnail_size=256, thumbnail_quality=70)
    assert (result.thumbnail.width, result.thumbnail.height) == (40, 30)


def test_garbage_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ImageDecodeError, match="not a readable image"):
        render(b"<html>rate limited</html>", split=True, thumbnail_size=64, thumbnail_quality=80)


def test_oversized_images_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "MAX_PIXELS", 100 * 100)
    with pytest.raises(ImageDecodeError, match="too large"):
        render(noisy(101, 100), split=True, thumbnail_size=64, thumbnail_quality=80)


def test_unsupported_formats_are_refused() -> None:
    with pytest.raises(ImageDecodeError, match="unsupported image format"):
        render(noisy(20, 20, fmt="BMP"), split=False, thumbnail_size=64, thumbnail_quality=80)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_the_fast_png_decoder_gives_pillows_pixels(mode: str) -> None:
    data = noisy(333, 222, mode)
    fast, kind = render_module.decode(data)
    assert kind == ("image/png", "png")
    assert fast.mode == mode and fast.size == (333, 222)
    assert fast.tobytes() == decode(data).tobytes()


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "LA"])
def test_pngs_libspng_would_change_fall_back_to_pillow(mode: str) -> None:
    image = Image.new(mode, (64, 48))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    decoded, _ = render_module.decode(buffer.getvalue())
    assert decoded.mode == decode(buffer.getvalue()).mode
    result = render(buffer.getvalue(), split=True, thumbnail_size=16, thumbnail_quality=80)
    assert len(result.parts) == 4


def test_a_png_libspng_refuses_is_still_decoded_by_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyspng

    def refuse(data: bytes) -> None:
        raise RuntimeError("libspng: invalid chunk")

    monkeypatch.setattr(pyspng, "load", refuse)
    data = noisy(64, 64)
    decoded, _ = render_module.decode(data)
    assert decoded.tobytes() == decode(data).tobytes()
