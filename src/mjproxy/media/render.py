"""Pure Pillow work, run in a worker thread: split a 2×2 grid into its four images, make WebP thumbnails.

The split images are lossless (PNG, or lossless WebP) so that quadrant N of the grid equals image N pixel
for pixel. A grid
with odd dimensions is split at the floor of the half: the right and bottom quadrants get the extra
column / row, exactly as Midjourney's U buttons cover the whole grid.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image

# Pillow refuses images over ~179 Mpx by default (decompression bombs); a Midjourney grid is at most
# 4096×4096, so anything far beyond that is not a Midjourney image.
MAX_PIXELS = 64 * 1024 * 1024
# PNG is lossless whatever the settings. Level 1 with zlib's run-length strategy is ~30% faster than plain
# level 1 and no larger on photographic content, and ~5× faster than Pillow's default (level 6).
PNG_COMPRESS_LEVEL = 1
PNG_STRATEGY_RLE = 3  # zlib Z_RLE
WEBP_METHOD = 0  # fastest WebP effort; a 256 px thumbnail gains little from the slower methods
# Pillow's encoders run in C; the four quadrants are encoded side by side where there are cores to spare.
_ENCODERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mjproxy-png")


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


def _displayable(image: Image.Image) -> Image.Image:
    return image if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if "A" in image.getbands() else "RGB")


def shrink(image: Image.Image, size: int, *, reducing_gap: float = 1.5) -> Image.Image:
    """A copy whose longest side is at most ``size`` (never enlarged).

    reducing_gap: shrink by an integer factor first (a fast box filter), then resample the rest (sharp);
    1.0 reduces as far as an integer factor goes, for an intermediate copy that is resampled again."""
    copy = _displayable(image).copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=reducing_gap)
    return copy


def webp(image: Image.Image, quality: int) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality, method=WEBP_METHOD)
    return Rendition(buffer.getvalue(), "image/webp", "webp", image.width, image.height)


def thumbnail(image: Image.Image, size: int, quality: int) -> Rendition:
    return webp(shrink(image, size), quality)


def _png(image: Image.Image) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_STRATEGY_RLE)
    return Rendition(buffer.getvalue(), "image/png", "png", image.width, image.height)


def _lossless_webp(image: Image.Image) -> Rendition:
    # Lossless whatever the quality; low quality/method only means less effort (~2.5x faster than PNG).
    buffer = io.BytesIO()
    _displayable(image).save(buffer, "WEBP", lossless=True, quality=25, method=0)
    return Rendition(buffer.getvalue(), "image/webp", "webp", image.width, image.height)


SPLIT_ENCODERS = {"png": _png, "webp": _lossless_webp}


def _fast_png(image: Image.Image, data: bytes) -> Image.Image:
    """The grid decoded by libspng (pyspng), about twice as fast as Pillow's PNG decoder, which is the one
    serial step of a split; Pillow's own image when the PNG is one libspng would not give us as 8-bit
    RGB(A) (16-bit, palette with odd transparency …) or when libspng refuses it."""
    if image.format != "PNG" or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        import pyspng  # type: ignore[import-untyped]  # imported on the first re-hosted grid, not at start-up (idle memory)

        pixels = pyspng.load(data)
    except Exception:
        return image
    if pixels.dtype.name != "uint8" or pixels.ndim != 3 or pixels.shape[2] != len(image.mode):
        return image
    if pixels.shape[0] != image.height or pixels.shape[1] != image.width:
        return image
    decoded = Image.fromarray(pixels, image.mode)
    image.close()
    return decoded


def decode(data: bytes) -> tuple[Image.Image, tuple[str, str]]:
    """The decoded image and its (content type, extension); ImageDecodeError for anything unreadable."""
    try:
        opened = Image.open(io.BytesIO(data))
        if opened.width * opened.height > MAX_PIXELS:
            raise ImageDecodeError(f"image of {opened.width}×{opened.height} pixels is too large")
        kind = _FORMATS.get(opened.format or "")
        if kind is None:
            raise ImageDecodeError(f"unsupported image format {opened.format!r}")
        image = _fast_png(opened, data)
        image.load()
    except ImageDecodeError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt input
        raise ImageDecodeError(f"not a readable image: {exc}") from exc
    return image, kind


def render(data: bytes, *, split: bool, thumbnail_size: int, thumbnail_quality: int,
           split_format: str = "webp") -> RenderedImages:
    """Decode once; thumbnail the original; for a grid also cut and thumbnail the four quadrants."""
    image, kind = decode(data)
    original = Rendition(data, kind[0], kind[1], image.width, image.height)
    if not split:
        result = RenderedImages(original, thumbnail(image, thumbnail_size, thumbnail_quality))
        image.close()
        return result
    boxes = quadrants(image.width, image.height)
    encode = SPLIT_ENCODERS[split_format]
    encodings = [_ENCODERS.submit(encode, image.crop(box)) for box in boxes]
    # Thumbnails come from one copy of the grid at twice the thumbnail size: each quadrant of it is a
    # quadrant's thumbnail source, so the full-size grid is resampled once instead of five times.
    middle = shrink(image, 2 * thumbnail_size, reducing_gap=1.0)
    scale_x, scale_y = middle.width / image.width, middle.height / image.height
    result = RenderedImages(original, thumbnail(middle, thumbnail_size, thumbnail_quality))
    thumbs = []
    for left, top, right, bottom in boxes:
        box = (round(left * scale_x), round(top * scale_y), round(right * scale_x), round(bottom * scale_y))
        thumbs.append(thumbnail(middle.crop(box), thumbnail_size, thumbnail_quality))
    result.parts = [(encoding.result(), thumb) for encoding, thumb in zip(encodings, thumbs, strict=True)]
    image.close()
    return result
