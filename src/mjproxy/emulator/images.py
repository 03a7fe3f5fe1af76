"""Deterministic Pillow images: a 2x2 grid whose quadrants differ visibly (hue, pattern, big digit)."""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except Exception:  # Pillow without FreeType: a small bitmap font still shows the digit
        return ImageFont.load_default()


def grid_dimensions(base: int, aspect: tuple[int, int] | None) -> tuple[int, int]:
    """Longest side = `base`; the other side follows --ar, rounded to a multiple of 8 like MJ outputs."""
    if aspect is None:
        return base, base
    w, h = aspect
    if w >= h:
        return base, max(8, round(base * h / w / 8) * 8)
    return max(8, round(base * w / h / 8) * 8), base


def _rng(prompt: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def render_grid(prompt: str, seed: int, width: int, height: int) -> Image.Image:
    rng = _rng(prompt, seed)
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    qw, qh = width // 2, height // 2
    base_hue = rng.random()
    pattern_offset = rng.randrange(4)
    font = _font(max(12, min(qw, qh) // 2))
    for i in range(4):
        x0, y0 = (i % 2) * qw, (i // 2) * qh
        hue = (base_hue + i * 0.25 + rng.uniform(-0.05, 0.05)) % 1.0
        r, g, b = (int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.65, 0.85))
        draw.rectangle([x0, y0, x0 + qw - 1, y0 + qh - 1], fill=(r, g, b))
        dark = (r // 3, g // 3, b // 3)
        pattern = (i + pattern_offset) % 4  # four distinct patterns per grid
        step = max(8, min(qw, qh) // rng.randint(6, 12))
        if pattern == 0:  # stripes
            for k in range(0, qw + qh, step):
                draw.line([(x0 + k, y0), (x0 + k - qh, y0 + qh)], fill=dark, width=max(2, step // 4))
        elif pattern == 1:  # circles
            for _ in range(12):
                cx, cy, rad = x0 + rng.randrange(qw), y0 + rng.randrange(qh), rng.randint(step, step * 3)
                draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=dark, width=max(2, step // 5))
        elif pattern == 2:  # checker
            for yy in range(0, qh, step):
                for xx in range((yy // step % 2) * step, qw, step * 2):
                    draw.rectangle([x0 + xx, y0 + yy, x0 + xx + step - 1, y0 + yy + step - 1], fill=dark)
        else:  # concentric frames
            for k in range(0, min(qw, qh) // 2, step):
                draw.rectangle([x0 + k, y0 + k, x0 + qw - 1 - k, y0 + qh - 1 - k], outline=dark,
                               width=max(2, step // 4))
        draw.text((x0 + qw // 2, y0 + qh // 2), str(i + 1), font=font, fill=(255, 255, 255), anchor="mm",
                  stroke_width=max(1, qw // 100), stroke_fill=(0, 0, 0))
    # Thin seams between quadrants, like MJ grids.
    draw.line([(qw, 0), (qw, height)], fill=(0, 0, 0), width=2)
    draw.line([(0, qh), (width, qh)], fill=(0, 0, 0), width=2)
    return img


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)  # level 1: the sandbox values speed over size
    return buf.getvalue()


def preview_webp(img: Image.Image, longest: int, percent: int) -> tuple[bytes, int, int]:
    """Low-res, blurred preview; less blur as progress advances."""
    scale = longest / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    small = img.resize((w, h), Image.Resampling.BOX)
    radius = max(0.0, (100 - percent) / 12)
    if radius:
        small = small.filter(ImageFilter.GaussianBlur(radius))
    buf = io.BytesIO()
    small.save(buf, "WEBP", quality=60)
    return buf.getvalue(), w, h


def make_grid_png(prompt: str, seed: int, width: int, height: int) -> tuple[Image.Image, bytes]:
    img = render_grid(prompt, seed, width, height)
    return img, encode_png(img)
