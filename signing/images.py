"""Development images: a handwritten-looking signature and a round red seal.

Real deployments upload scanned signature and seal images; these stand in
for them in the demo and the tests.
"""

from __future__ import annotations

import hashlib
import io
import math
import random

from PIL import Image, ImageDraw, ImageFont

from .stamps import font_bytes, nfc

__all__ = ["make_signature_image", "make_seal_image"]

_INK = (20, 40, 140, 255)
_SEAL_RED = (200, 16, 30, 255)


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(io.BytesIO(font_bytes("bold" if bold else "regular")), size)


def _rng(*parts: str) -> random.Random:
    seed = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def make_signature_image(full_name: str, title: str) -> bytes:
    """PNG (transparent background) of a scribbled signature above the
    signer's full name and title, deterministic for the same inputs."""
    full_name, title = nfc(full_name).strip(), nfc(title).strip()
    width, height = 600, 240
    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    rng = _rng("signature", full_name, title)

    # a looping, slanted scribble (a prolate trochoid with varying height)
    points = []
    loops = rng.randint(5, 8)
    steps = 60 * loops
    x0, baseline = 80.0, 100.0
    span = width - 2 * x0
    for i in range(steps + 1):
        t = i / steps
        k = 2 * math.pi * loops * t
        amp = 38 * (0.55 + 0.45 * math.sin(math.pi * t + rng.random() * 0.3))
        x = x0 + span * t - 16 * math.sin(k)
        y = baseline - amp * math.cos(k)
        points.append((x - 0.25 * (y - baseline), y))  # slant to the right
    draw.line(points, fill=_INK, width=4, joint="curve")
    # underline flourish
    draw.line([(x0 + 10, 152), (width - x0, 140 + rng.uniform(-6, 6))], fill=_INK, width=3)

    name_font = _font(30, bold=True)
    title_font = _font(24)
    draw.text((width / 2, 180), full_name, font=name_font, fill=(0, 0, 0, 255), anchor="mm")
    draw.text((width / 2, 216), title, font=title_font, fill=(40, 40, 40, 255), anchor="mm")
    return _png(img)


def make_seal_image(agency_name: str) -> bytes:
    """PNG (transparent background) of a round red seal with the agency name
    around the rim and a star in the middle."""
    agency_name = nfc(agency_name).strip().upper()
    size = 480
    c = size / 2
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, size - 8, size - 8), outline=_SEAL_RED, width=12)
    draw.ellipse((92, 92, size - 92, size - 92), outline=_SEAL_RED, width=5)

    # text along the rim, starting at the lower left and going clockwise
    text = agency_name or "CƠ QUAN"
    radius = c - 52
    font_size = 34 if len(text) <= 40 else max(20, int(34 * 40 / len(text)))
    font = _font(font_size, bold=True)
    advances = [font.getlength(ch) for ch in text]
    total = sum(advances)
    circumference_span = min(300.0, math.degrees(total / radius) * 1.08)
    spacing = circumference_span / max(total, 1)
    # screen coordinates: angles grow clockwise, -90 degrees is the top
    angle = -90 - circumference_span / 2
    for ch, adv in zip(text, advances, strict=True):
        mid = angle + adv * spacing / 2
        x = c + radius * math.cos(math.radians(mid))
        y = c + radius * math.sin(math.radians(mid))
        glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text(
            (font_size, font_size), ch, font=font, fill=_SEAL_RED, anchor="mm"
        )
        # PIL rotates counter-clockwise; the glyph's top must face outwards
        glyph = glyph.rotate(-(mid + 90), resample=Image.BICUBIC)
        img.alpha_composite(glyph, (int(x - font_size), int(y - font_size)))
        angle += adv * spacing

    # five-pointed star
    star = []
    for i in range(10):
        r = 62 if i % 2 == 0 else 25
        a = math.radians(-90 + i * 36)
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(star, fill=_SEAL_RED)
    return _png(img)
