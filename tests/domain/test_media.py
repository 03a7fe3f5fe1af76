from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from mjproxy.domain.media import InvalidImage, check_mask, decode_image_data_url, image_size, sniff_image_type


def encoded(fmt: str, size: tuple[int, int] = (8, 6), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
                                           ("WEBP", "image/webp")])
def test_types_are_sniffed_from_the_bytes(fmt: str, mime: str) -> None:
    content = encoded(fmt)
    assert sniff_image_type(content) is not None and sniff_image_type(content)[0] == mime  # type: ignore[index]
    # the declared type is ignored: a JPEG labelled PNG is still a JPEG
    url = "data:image/png;base64," + base64.b64encode(content).decode()
    assert decode_image_data_url(url).content_type == mime


@pytest.mark.parametrize(("value", "message"), [
    ("", "empty"), ("https://x/y.png", "data URL"), ("data:image/png,rawtext", "data URL"),
    ("data:image/png;base64,%%%", "not valid base64"), ("data:image/png;base64," + base64.b64encode(b"GIF8").decode(),
                                                        "not an image"),
])
def test_bad_data_urls_are_explained(value: str, message: str) -> None:
    with pytest.raises(InvalidImage, match=message):
        decode_image_data_url(value)


def test_size_limit() -> None:
    content = encoded("PNG")
    url = "data:image/png;base64," + base64.b64encode(content).decode()
    with pytest.raises(InvalidImage, match="larger than"):
        decode_image_data_url(url, max_bytes=10)


def test_mask_must_be_a_png_of_the_image_size() -> None:
    png = decode_image_data_url("data:image/png;base64," + base64.b64encode(encoded("PNG", (20, 10))).decode())
    check_mask(png, (20, 10))
    with pytest.raises(InvalidImage, match="size"):
        check_mask(png, (10, 10))
    jpeg = decode_image_data_url("data:image/jpeg;base64," + base64.b64encode(encoded("JPEG")).decode())
    with pytest.raises(InvalidImage, match="PNG"):
        check_mask(jpeg, None)
    assert image_size(png.content) == (20, 10)
