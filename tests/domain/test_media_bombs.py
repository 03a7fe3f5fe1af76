"""Pillow's decompression-bomb guard is on for every client image, and its warning is a refusal."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from mjproxy.domain.media import MAX_IMAGE_PIXELS, InvalidImage, check_image_bytes, decode_image_data_url, image_size


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG of a few dozen bytes whose header claims width × height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def real_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_limit_is_sane_and_set_in_pillow() -> None:
    assert 4096 * 4096 < MAX_IMAGE_PIXELS <= 100_000_000
    assert Image.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS


@pytest.mark.parametrize(("width", "height"), [
    (100_000, 100_000),  # beyond twice the limit: Pillow's DecompressionBombError
    (9000, 9000),  # between the limit and twice it: only a warning in Pillow, a refusal here
])
def test_a_tiny_png_declaring_a_huge_size_is_refused(width: int, height: int) -> None:
    bomb = png_declaring(width, height)
    assert len(bomb) < 100
    with pytest.raises(InvalidImage, match="pixels"):
        check_image_bytes(bomb, field="base64")
    with pytest.raises(InvalidImage, match="pixels"):
        decode_image_data_url("data:image/png;base64," + base64.b64encode(bomb).decode())
    with pytest.raises(InvalidImage, match="pixels"):
        image_size(bomb)


def test_ordinary_images_pass() -> None:
    assert image_size(real_png(1024, 512)) == (1024, 512)
    assert check_image_bytes(real_png(64, 64), field="base64").content_type == "image/png"


def test_a_signature_followed_by_garbage_is_not_an_image() -> None:
    with pytest.raises(InvalidImage, match="cannot be read"):
        check_image_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, field="base64")
