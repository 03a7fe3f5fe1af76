"""Pure Pillow work, run in a worker thread: split a 2×2 grid into its four images, make WebP thumbnails.

The split images are lossless PNG so that quadrant N of the grid equals image N pixel for pixel. A grid
with odd dimensions is split at the floor of the half: the right and bottom quadrants get the extra
column / row, exactly as Midjourney's U buttons cover the whole grid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image

# Pillow refuses images over ~179 Mpx by default (decompression bombs); a Midjourney grid is at most
# 4096×4096, so anything far beyond that is not a Midjourney image.
MAX_PIXELS = 64 * 1024 * 1024
PNG_COMPRESS_LEVEL = 1  # PNG is lossless at every level; level 1 is ~5× faster than the default 6


class ImageDecodeError(ValueError):
    """The downloaded bytes are not an image we can read."""


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(slots=True)
class RenderedImages:
    """Everything stored for one result: the original, its thumbnail, and for grids the four parts."""

    original: Rendition
    thumbnail: Rendition
    parts: list[tuple[Rendition, Rendition]] = field(default_factory=list)  # (image, thumbnail), U1..U4


_FORMATS = {"PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"), "JPEG": ("image/jpeg", "jpg"),
            "GIF": ("image/gif", "gif")}


def quadrants(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Boxes of U1..U4: top-left, top-right, bottom-left, bottom-right."""
    half_w, half_h = width // 2, height // 2
    return [(0, 0, half_w, half_h), (half_w, 0, width, half_h),
            (0, half_h, half_w, height), (half_w, half_h, width, height)]


def thumbnail(image: Image.Image, size: int, quality: int) -> Rendition:
    copy = image.copy() if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if "A" in image.mode else "RGB")
    # reducing_gap: shrink by an integer factor first (fast), then resample the rest (sharp).
    copy.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    copy.save(buffer, "WEBP", quality=quality, method=2)
    return Rendition(buffer.getvalue(), "image/webp", "webp", copy.width, copy.height)


def _png(image: Image.Image) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return Rendition(buffer.getvalue(), "image/png", "png", image.width, image.height)


def render(data: bytes, *, split: bool, thumbnail_size: int, thumbnail_quality: int) -> RenderedImages:
    """Decode once; thumbnail the original; for a grid also cut and thumbnail the four quadrants."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageDecodeError(f"image of {image.width}×{image.height} pixels is too large")
        kind = _FORMATS.get(image.format or "")
        if kind is None:
            raise ImageDecodeError(f"unsupported image format {image.format!r}")
        image.load()
    except ImageDecodeError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt input
        raise ImageDecodeError(f"not a readable image: {exc}") from exc
    original = Rendition(data, kind[0], kind[1], image.width, image.height)
    result = RenderedImages(original, thumbnail(image, thumbnail_size, thumbnail_quality))
    if split:
        for box in quadrants(image.width, image.height):
            part = image.crop(box)
            result.parts.append((_png(part), thumbnail(part, thumbnail_size, thumbnail_quality)))
    image.close()
    return result
