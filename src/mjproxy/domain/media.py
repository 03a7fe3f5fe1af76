"""Images supplied by clients: data URLs decoded, types sniffed from the bytes, sizes checked.

The name or declared MIME type of an upload is never trusted: the first bytes decide (DESIGN: bad
input gets a clear error). Every image is also opened by Pillow (header only) so that one declaring
more than ``MAX_IMAGE_PIXELS`` is refused: a few kilobytes of PNG can unpack to gigabytes, in Discord's
pipeline or in ours (a decompression bomb). Pillow's own guard is set to the same limit and its
warning is turned into a refusal rather than a log line.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# 8192 × 8192: above anything Midjourney takes or makes (its largest upscales are 4096 on a side), far
# below what would exhaust memory when decoded (4 bytes a pixel: 256 MB).
MAX_IMAGE_PIXELS = 8192 * 8192
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,(?P<data>.*)$",
    re.DOTALL | re.IGNORECASE)

_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)


class InvalidImage(ValueError):
    """The text of the error is shown to the client as-is."""


@dataclass(frozen=True, slots=True)
class ImageData:
    content: bytes
    content_type: str
    extension: str

    def filename(self, stem: str) -> str:
        return f"{stem}.{self.extension}"


def sniff_image_type(content: bytes) -> tuple[str, str] | None:
    for signature, offset, mime, extension in _SIGNATURES:
        if content[offset:offset + len(signature)] == signature:
            if mime == "image/webp" and content[:4] != b"RIFF":
                continue
            return mime, extension
    return None


def decode_image_data_url(value: str, *, field: str = "base64", max_bytes: int = MAX_IMAGE_BYTES) -> ImageData:
    """A data URL (``data:image/png;base64,...``, RFC 2397) carrying an image, checked by content."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidImage(f"{field} is empty")
    match = _DATA_URL.match(value.strip())
    if match is None or not match.group("b64"):
        raise InvalidImage(f"{field} must be a base64 data URL such as data:image/png;base64,...")
    payload = match.group("data")
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise InvalidImage(f"{field} is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage(f"{field} is not valid base64") from None
    return check_image_bytes(content, field=field, max_bytes=max_bytes)


def check_image_bytes(content: bytes, *, field: str, max_bytes: int = MAX_IMAGE_BYTES) -> ImageData:
    if not content:
        raise InvalidImage(f"{field} is empty")
    if len(content) > max_bytes:
        raise InvalidImage(f"{field} is larger than {max_bytes // (1024 * 1024)} MB ({len(content)} bytes)")
    sniffed = sniff_image_type(content)
    if sniffed is None:
        raise InvalidImage(f"{field} is not an image (PNG, JPEG, GIF or WEBP expected)")
    image_size(content, field=field)  # refuses unreadable headers and decompression bombs
    return ImageData(content, *sniffed)


def image_size(content: bytes, *, field: str = "the image") -> tuple[int, int]:
    """Width and height, reading only the header; an image over MAX_IMAGE_PIXELS is refused."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here it is an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InvalidImage(f"{field} declares more than {MAX_IMAGE_PIXELS} pixels and is refused "
                           f"(a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"{field} cannot be read as an image: {exc}") from None
    if int(width) * int(height) > MAX_IMAGE_PIXELS:
        raise InvalidImage(f"{field} is {width}×{height}, more than {MAX_IMAGE_PIXELS} pixels")
    return int(width), int(height)


def check_mask(mask: ImageData, expected_size: tuple[int, int] | None) -> None:
    """Vary (Region) masks: a PNG of exactly the parent image's size (white = repaint)."""
    if mask.content_type != "image/png":
        raise InvalidImage("maskBase64 must be a PNG image")
    size = image_size(mask.content)
    if expected_size is not None and size != tuple(expected_size):
        raise InvalidImage(f"maskBase64 is {size[0]}×{size[1]} but the image is "
                           f"{expected_size[0]}×{expected_size[1]}; the mask must have the image's size")


def is_http_url(value: str) -> bool:
    return bool(re.match(r"^https?://[^\s/$.?#].[^\s]*$", value.strip(), re.IGNORECASE))
