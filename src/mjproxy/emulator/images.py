"""Deterministic Pillow images: a 2x2 grid whose quadrants differ visibly (hue, pattern, big digit)."""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import threading

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Font = ImageFont.ImageFont | ImageFont.FreeTypeFont

# Grids are rendered in worker threads, several at once. A FreeType face is not thread-safe: two threads
# drawing with the same font object corrupt memory (a segmentation fault in CI). Each thread keeps its own.
_thread_fonts = threading.local()


def _font(size: int) -> Font:
    fonts: dict[int, Font] | None = getattr(_thread_fonts, "by_size", None)
    if fonts is None:
        fonts = _thread_fonts.by_size = {}
    font = fonts.get(size)
    if font is None:
        try:
            font = ImageFont.load_default(size=size)
        except Exception:  # Pillow without FreeType: a small bitmap font still shows the digit
            font = ImageFont.load_default()
        fonts[size] = font
    return font


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


# --- derived images (button jobs, blend, describe, face swap) -----------------------------------------

Box = tuple[float, float, float, float]  # fractions (x0, y0, x1, y1) of a canvas


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def crop_quadrant(grid_png: bytes, index: int) -> Image.Image:
    """U{index}: quadrant `index` (1..4, row-major) of a grid, upscaled 2x to the grid's size."""
    grid = decode(grid_png)
    qw, qh = grid.width // 2, grid.height // 2
    x0, y0 = ((index - 1) % 2) * qw, ((index - 1) // 2) * qh
    return grid.crop((x0, y0, x0 + qw, y0 + qh)).resize((qw * 2, qh * 2), Image.Resampling.BICUBIC)


def upscale(png: bytes, factor: int, max_side: int = 4096) -> Image.Image:
    img = decode(png)
    scale = min(factor, max_side / max(img.size))
    big = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                     Image.Resampling.BICUBIC)
    return big.filter(ImageFilter.DETAIL)


def _paste_in_quadrants(grid: Image.Image, base: Image.Image, box: Box, alpha: float) -> Image.Image:
    """Paste `base` into every quadrant of `grid` at `box` (fractions of a quadrant), mixed with `alpha`."""
    qw, qh = grid.width // 2, grid.height // 2
    x0, y0, x1, y1 = box
    w, h = max(1, round((x1 - x0) * qw)), max(1, round((y1 - y0) * qh))
    piece = base.resize((w, h), Image.Resampling.BILINEAR)
    out = grid.copy()
    for i in range(4):
        ox, oy = (i % 2) * qw + round(x0 * qw), (i // 2) * qh + round(y0 * qh)
        region = out.crop((ox, oy, ox + w, oy + h))
        out.paste(Image.blend(region, piece, alpha), (ox, oy))
    return out


def derived_grid(base_png: bytes, prompt: str, seed: int, width: int, height: int, strength: float,
                 quadrant: int | None = None) -> Image.Image:
    """Variations: a fresh grid mixed with the source (a grid quadrant or a single image); the higher the
    `strength`, the less of the source shows."""
    base = crop_quadrant(base_png, quadrant) if quadrant else decode(base_png)
    return _paste_in_quadrants(render_grid(prompt, seed, width, height), base, (0, 0, 1, 1), 1 - strength)


def outpaint_grid(base_png: bytes, prompt: str, seed: int, width: int, height: int, box: Box) -> Image.Image:
    """Zoom Out / Pan: the source kept unchanged at `box` of each quadrant, new content around it."""
    return _paste_in_quadrants(render_grid(prompt, seed, width, height), decode(base_png), box, 1.0)


def inpaint_grid(base_png: bytes, mask_png: bytes, prompt: str, seed: int) -> Image.Image:
    """Vary (Region): each quadrant = the source with the mask's white area regenerated."""
    base = decode(base_png)
    grid = render_grid(prompt, seed, base.width, base.height)
    qw, qh = base.width // 2, base.height // 2
    small = base.resize((qw, qh), Image.Resampling.BILINEAR)
    with Image.open(io.BytesIO(mask_png)) as m:
        mask = m.convert("L").resize((qw, qh), Image.Resampling.NEAREST)
    out = grid.copy()
    for i in range(4):
        ox, oy = (i % 2) * qw, (i // 2) * qh
        fresh = grid.crop((ox, oy, ox + qw, oy + qh))
        out.paste(Image.composite(fresh, small, mask), (ox, oy))
    return out


def blend_grid(inputs: list[bytes], seed: int, width: int, height: int) -> Image.Image:
    """/blend: every quadrant mixes all inputs with different weights, the pattern faintly on top."""
    rng = random.Random(seed)
    qw, qh = width // 2, height // 2
    pics = [decode(d).resize((qw, qh), Image.Resampling.BILINEAR) for d in inputs]
    pattern = render_grid("blend", seed, width, height)
    out = Image.new("RGB", (width, height))
    for i in range(4):
        weights = [rng.random() + 0.2 for _ in pics]
        mixed = pics[0]
        acc = weights[0]
        for pic, w in zip(pics[1:], weights[1:], strict=True):
            acc += w
            mixed = Image.blend(mixed, pic, w / acc)
        ox, oy = (i % 2) * qw, (i // 2) * qh
        mixed = Image.blend(mixed, pattern.crop((ox, oy, ox + qw, oy + qh)), 0.25)
        out.paste(mixed, (ox, oy))
    return out


def single_image(text: str, width: int, height: int) -> Image.Image:
    """A deterministic picture for a URL we cannot fetch (describe links): quadrant 1 of a grid, scaled."""
    return render_grid(text, 0, width, height).crop((0, 0, width // 2, height // 2)).resize((width, height))


def average_color(data: bytes) -> tuple[int, int, int]:
    img = decode(data).resize((1, 1), Image.Resampling.BOX)
    r, g, b = img.getpixel((0, 0))  # type: ignore[misc]
    return int(r), int(g), int(b)


def face_overlay(target: bytes, face: bytes) -> Image.Image:
    """InsightFace /swapid stand-in: the saved face, cropped round, pasted over the target's upper centre with
    a ring whose colour derives from the face bytes."""
    img = decode(target)
    side = max(16, min(img.size) // 3)
    face_img = decode(face).resize((side, side), Image.Resampling.BILINEAR)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse([0, 0, side - 1, side - 1], fill=255)
    x, y = (img.width - side) // 2, max(0, img.height // 4 - side // 2)
    img.paste(face_img, (x, y), mask)
    digest = hashlib.sha256(face).digest()
    ring = (digest[0], digest[1], digest[2])
    ImageDraw.Draw(img).ellipse([x, y, x + side - 1, y + side - 1], outline=ring, width=max(2, side // 20))
    return img
