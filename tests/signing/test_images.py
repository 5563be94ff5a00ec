"""Signature and seal PNGs: transparency, colour, size at dpi, determinism."""
from __future__ import annotations

import io

import pytest

PIL = pytest.importorskip("PIL", reason="Pillow is needed for signing.images")
from PIL import Image  # noqa: E402

from signing.images import (SEAL_RED, SIGNATURE_BLUE, find_font, seal_png,  # noqa: E402
                            seal_size_px, signature_png)

ORG = "Ủy ban nhân dân tỉnh Sơn Hà"


def _open(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _corners_transparent(img: Image.Image) -> bool:
    w, h = img.size
    return all(img.getpixel(p)[3] == 0 for p in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)])


def _pixels(img: Image.Image) -> list[tuple[int, int, int, int]]:
    flat = getattr(img, "get_flattened_data", None) or img.getdata   # Pillow 12+ / older
    return list(flat())


def _dominant(img: Image.Image) -> tuple[float, float, float]:
    """Mean colour of the clearly opaque pixels."""
    px = [p for p in _pixels(img) if p[3] > 200]
    assert len(px) > 200
    return tuple(sum(p[i] for p in px) / len(px) for i in range(3))


def test_signature_is_blue_transparent_rgba():
    img = _open(signature_png("Nguyễn Văn An", seed=1))
    assert img.mode == "RGBA" and img.size == (600, 260)
    assert _corners_transparent(img)
    r, g, b = _dominant(img)
    assert b > 120 and b > r + 60 and b > g + 60
    assert max(abs(a - e) for a, e in zip((r, g, b), SIGNATURE_BLUE)) < 12
    alphas = [p[3] for p in _pixels(img)]
    assert 0.02 < sum(a > 0 for a in alphas) / len(alphas) < 0.5   # ink, mostly background


def test_signature_is_deterministic_per_seed_and_name():
    a = signature_png("Nguyễn Văn An", seed=3)
    assert a == signature_png("Nguyễn Văn An", seed=3)
    assert a != signature_png("Nguyễn Văn An", seed=4)
    assert a != signature_png("Trần Thị Bình", seed=3)
    # decomposed and precomposed spellings give the same image
    import unicodedata
    assert a == signature_png(unicodedata.normalize("NFD", "Nguyễn Văn An"), seed=3)


def test_seal_is_red_round_transparent_and_sized_at_dpi():
    img = _open(seal_png(ORG))
    assert img.mode == "RGBA"
    assert img.size == (425, 425) == (seal_size_px(36, 300),) * 2   # 36 mm at 300 dpi
    assert _corners_transparent(img)
    r, g, b = _dominant(img)
    assert r > 150 and r > g + 100 and r > b + 100
    assert max(abs(a - e) for a, e in zip((r, g, b), SEAL_RED)) < 12
    w = img.size[0]
    # round: the outer ring is inked on the four compass points, the centre holds the star
    for p in [(w // 2, 3), (w // 2, w - 4), (3, w // 2), (w - 4, w // 2)]:
        assert img.getpixel(p)[3] > 0, p
    assert img.getpixel((w // 2, w // 2))[3] > 200
    # double ring: along a horizontal radius, alpha goes on-off-on (outer, gap, inner ring)
    row = [img.getpixel((x, w // 2))[3] > 128 for x in range(0, w // 2 - 60)]
    runs = sum(1 for i in range(1, len(row)) if row[i] and not row[i - 1]) + row[0]
    assert runs >= 2


@pytest.mark.parametrize("mm,dpi", [(36, 300), (40, 300), (36, 150), (32, 600)])
def test_seal_pixels_follow_diameter_and_dpi(mm, dpi):
    img = _open(seal_png("Sở Nội vụ", diameter_mm=mm, dpi=dpi))
    expected = round(mm / 25.4 * dpi)
    assert img.size == (expected, expected)
    assert abs(img.size[0] / dpi * 25.4 - mm) < 0.1


def test_seal_is_deterministic_and_depends_on_the_name():
    a = seal_png(ORG)
    assert a == seal_png(ORG)
    assert a != seal_png("Sở Nội vụ tỉnh Sơn Hà")
    # a very long name still fits (font shrinks) and stays transparent at the corners
    long = _open(seal_png("Trung tâm Phục vụ hành chính công và Xúc tiến đầu tư tỉnh Sơn Hà"))
    assert _corners_transparent(long)


def test_a_vietnamese_capable_font_is_found():
    path = find_font("bold")
    assert path and path.endswith((".ttf", ".otf"))
    from PIL import ImageFont
    font = ImageFont.truetype(path, 40)
    # the precomposed letters of the name exist in the font (not drawn as .notdef boxes)
    notdef = font.getmask("\uffff").getbbox()
    for ch in "ỦỶẬĐƠƯ":
        assert font.getmask(ch).getbbox() != notdef
