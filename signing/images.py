"""Signature and seal images generated from the world's data (Decree 30, Phụ lục I II.7–8).

* :func:`signature_png` - the leader's handwritten signature: **blue**, PNG, transparent
  background. A flowing pen stroke derived from the name and a seed (loops, a final
  underline flourish, pressure-varying width) plus the given name in an italic face.
* :func:`seal_png` - the organisation's seal: **red**, round, transparent background, double
  ring, the organisation name (upper case, Vietnamese diacritics) around the ring and a star in
  the middle. The pixel size follows ``diameter_mm`` and ``dpi`` so the PDF layer can place it
  at actual size (a 36 mm seal at 300 dpi is 425 px wide; place it in a 36 mm box).

Both are drawn at 4x and downsampled (anti-aliasing) and are deterministic: the same
arguments give the same PNG bytes (with the same Pillow build and the same font). Pillow is
required. The lettering (the given name in italic, the seal's name in bold) uses the fonts
the documents use (:func:`signing.fonts.find_font`: Times New Roman, else Liberation
Serif, ...).
"""
from __future__ import annotations

import hashlib
import io
import math
import random
import unicodedata

from PIL import Image, ImageDraw, ImageFont

from .fonts import find_font  # the one font finder (Times New Roman, Liberation Serif, ...)

__all__ = ["SIGNATURE_BLUE", "SEAL_RED", "signature_png", "seal_png", "seal_size_px",
           "find_font"]

SIGNATURE_BLUE = (0x1F, 0x3A, 0x93)
SEAL_RED = (0xD0, 0x10, 0x1B)
_SS = 4  # supersampling factor


def _font(style: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = find_font(style)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _colourise(mask: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    """An RGBA image of one colour whose alpha is ``mask`` (mode L)."""
    img = Image.new("RGBA", mask.size, (*rgb, 0))
    img.putalpha(mask)
    return img


def _rng(*parts) -> random.Random:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


# --- signature --------------------------------------------------------------------------
def _catmull_rom(points: list[tuple[float, float]], steps: int = 24):
    """A smooth curve through ``points`` (centripetal-free, uniform Catmull-Rom)."""
    pts = [points[0], *points, points[-1]]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for s in range(steps):
            t = s / steps
            t2, t3 = t * t, t * t * t
            yield tuple(0.5 * ((2 * p1[k]) + (-p0[k] + p2[k]) * t
                               + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                               + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                        for k in (0, 1))
    yield pts[-2]


def _stroke(draw: ImageDraw.ImageDraw, curve: list[tuple[float, float]], w_max: float,
            w_min: float) -> None:
    """Draw a pen stroke whose width swells in the middle and tapers at both ends."""
    n = len(curve)
    for i in range(n - 1):
        t = i / max(1, n - 2)
        w = w_min + (w_max - w_min) * math.sin(math.pi * min(1.0, max(0.0, t))) ** 0.6
        (x0, y0), (x1, y1) = curve[i], curve[i + 1]
        draw.line([(x0, y0), (x1, y1)], fill=255, width=max(1, round(w)))
        r = w / 2
        draw.ellipse([x1 - r, y1 - r, x1 + r, y1 + r], fill=255)


def signature_png(full_name: str, seed: int | str = 0, *, width_px: int = 600,
                  height_px: int = 260, colour: tuple[int, int, int] = SIGNATURE_BLUE) -> bytes:
    """A blue handwritten-looking signature on a transparent background, as PNG bytes.

    The default 600x260 px fits a 50x22 mm box at 300 dpi. The strokes depend on the name
    and ``seed``; the given name (last word, e.g. "An" for "Nguyễn Văn An") is written in an
    italic face over the flourish."""
    name = unicodedata.normalize("NFC", full_name).strip()
    rng = _rng("signature", name, seed)
    W, H = width_px * _SS, height_px * _SS
    mask = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(mask)
    pen = max(2.0, H * 0.022)

    # 1. the main flourish: loops whose count follows the name, drifting slightly upwards
    words = name.split() or ["X"]
    loops = 3 + min(4, len("".join(words)) // 4)
    x0, x1 = W * 0.08, W * 0.80
    base = H * (0.62 + rng.uniform(-0.04, 0.04))
    slope = rng.uniform(0.04, 0.12) * H
    pts: list[tuple[float, float]] = [(x0, base - H * rng.uniform(0.0, 0.15))]
    for i in range(loops):
        t = (i + 0.5) / loops
        cx = x0 + (x1 - x0) * t
        cy = base - slope * t
        amp = H * rng.uniform(0.16, 0.30)
        lean = W * rng.uniform(0.01, 0.035)
        pts += [(cx - lean, cy - amp), (cx + lean * 1.5, cy - amp * rng.uniform(0.7, 1.0)),
                (cx + lean * 0.3, cy + amp * rng.uniform(0.15, 0.35))]
    pts.append((x1 + W * 0.05, base - slope - H * rng.uniform(0.05, 0.12)))
    _stroke(d, list(_catmull_rom(pts)), pen * 1.25, pen * 0.35)

    # 2. the underline swoosh from right to left
    ux0, ux1 = W * rng.uniform(0.80, 0.92), W * rng.uniform(0.06, 0.18)
    uy = H * rng.uniform(0.78, 0.86)
    swoosh = [(ux0, uy - H * 0.10), (W * 0.55, uy + H * 0.03),
              (W * 0.30, uy + H * rng.uniform(0.0, 0.05)), (ux1, uy - H * 0.04)]
    _stroke(d, list(_catmull_rom(swoosh)), pen * 0.95, pen * 0.25)

    # 3. the given name in an italic face, slightly tilted, over the flourish
    given = words[-1]
    fsize = int(H * 0.36)
    font = _font("italic", fsize)
    tw = int(font.getlength(given)) + fsize
    text_img = Image.new("L", (tw, int(fsize * 1.8)), 0)
    ImageDraw.Draw(text_img).text((fsize // 2, int(fsize * 0.2)), given, font=font, fill=255)
    # a hand leans forward more than an italic face: shear, then tilt
    shear = rng.uniform(0.25, 0.4)
    text_img = text_img.transform(text_img.size, Image.AFFINE, (1, shear, -shear * fsize, 0, 1, 0),
                                  resample=Image.BICUBIC)
    text_img = text_img.rotate(rng.uniform(4, 10), resample=Image.BICUBIC, expand=True)
    tx = int(W * rng.uniform(0.42, 0.52))
    ty = int(H * rng.uniform(0.02, 0.10))
    mask.paste(255, (tx, ty), text_img.crop((0, 0, min(text_img.width, W - tx),
                                             min(text_img.height, H - ty))))

    mask = mask.resize((width_px, height_px), Image.LANCZOS)
    return _png(_colourise(mask, colour))


# --- seal -------------------------------------------------------------------------------
def seal_size_px(diameter_mm: float = 36, dpi: int = 300) -> int:
    """The seal image's width and height in pixels."""
    return max(16, round(diameter_mm / 25.4 * dpi))


def _star(cx: float, cy: float, r_out: float, r_in: float) -> list[tuple[float, float]]:
    pts = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def seal_png(org_name: str, diameter_mm: float = 36, dpi: int = 300, *,
             colour: tuple[int, int, int] = SEAL_RED, span_deg: float = 300) -> bytes:
    """A red round seal: outer thick ring, inner thin ring, the organisation name in capitals
    around the ring (reading clockwise, centred on the top, over ``span_deg`` degrees at
    most), a five-pointed star in the middle. Transparent background; the image is
    :func:`seal_size_px` pixels square, i.e. ``diameter_mm`` wide at ``dpi``."""
    text = unicodedata.normalize("NFC", " ".join(org_name.split())).upper()
    size = seal_size_px(diameter_mm, dpi)
    S = size * _SS
    c = S / 2
    mm = S / diameter_mm  # supersampled pixels per millimetre
    mask = Image.new("L", (S, S), 0)
    d = ImageDraw.Draw(mask)

    r_outer = c - 0.3 * mm
    outer_w = max(2, round(1.0 * mm))
    d.ellipse([c - r_outer, c - r_outer, c + r_outer, c + r_outer], outline=255,
              width=outer_w)
    r_inner = r_outer - 5.6 * mm
    inner_w = max(1, round(0.35 * mm))
    d.ellipse([c - r_inner, c - r_inner, c + r_inner, c + r_inner], outline=255,
              width=inner_w)
    d.polygon(_star(c, c, r_inner * 0.42, r_inner * 0.42 * 0.382), fill=255)

    # text band between the rings: baseline just outside the inner ring
    band = (r_outer - outer_w) - (r_inner + inner_w)
    baseline_r = r_inner + inner_w + band * 0.20
    fsize = max(6, int(band * 0.62))
    if text:
        font = _font("bold", fsize)
        gap = font.getlength(" ") * 0.35
        widths = [font.getlength(ch) for ch in text]
        total = sum(widths) + gap * (len(text) - 1)
        max_arc = math.radians(span_deg) * baseline_r
        if total > max_arc:  # shrink to fit
            scale = max_arc / total
            fsize = max(6, int(fsize * scale))
            font = _font("bold", fsize)
            gap = font.getlength(" ") * 0.35
            widths = [font.getlength(ch) for ch in text]
            total = sum(widths) + gap * (len(text) - 1)
        else:  # short names spread over at least half the circle
            min_arc = math.radians(min(span_deg, 180)) * baseline_r
            if total < min_arc and len(text) > 1:
                gap += (min_arc - total) / (len(text) - 1)
                total = min_arc
        angle = -total / 2 / baseline_r  # radians from the top, clockwise positive
        box = int(fsize * 2.2)
        for ch, w in zip(text, widths):
            mid = angle + (w / 2) / baseline_r
            if not ch.isspace():
                g = Image.new("L", (box, box), 0)
                ImageDraw.Draw(g).text((box / 2, box / 2), ch, font=font, fill=255,
                                       anchor="ms")
                g = g.rotate(-math.degrees(mid), resample=Image.BICUBIC, center=(box / 2,
                                                                                  box / 2))
                px = c + baseline_r * math.sin(mid)
                py = c - baseline_r * math.cos(mid)
                mask.paste(255, (round(px - box / 2), round(py - box / 2)), g)
            angle += (w + gap) / baseline_r

    mask = mask.resize((size, size), Image.LANCZOS)
    return _png(_colourise(mask, colour))
