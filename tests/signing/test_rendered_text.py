"""Acceptance 4 of the signing issue, by pixels: text in the page and in the appearances
renders at its natural width (no spread-apart letters, SIGNING.md pitfall 1).

Poppler renders the issued PDF; for each text line we crop its box (from ``pdftotext
-bbox``), measure the ink's width, and compare it with the same string drawn by Pillow in
the same font at the same pixel size. Spread letters (wrong /W widths) come out far wider."""
from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest
from PIL import Image, ImageFont

from signing import fonts
from tests.signing.test_document import DATE, NUMBER, flow, world  # noqa: F401  (fixtures)

DPI = 200
pytestmark = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
                                reason="Poppler utilities not installed")


def _ink_width(img: Image.Image, threshold: int = 140) -> int:
    ink = img.convert("L").point(lambda v: 255 if v < threshold else 0).getbbox()
    return ink[2] - ink[0] if ink else 0


def _natural_width(text: str, style: str, size_pt: float) -> int:
    font = ImageFont.truetype(fonts.font_path(style), round(size_pt * DPI / 72))
    img = Image.new("L", (len(text) * DPI, DPI), 255)
    from PIL import ImageDraw
    ImageDraw.Draw(img).text((10, 10), text, font=font, fill=0)
    return _ink_width(img)


@pytest.fixture(scope="module")
def rendered(flow, tmp_path_factory):  # noqa: F811
    """(pdftotext -bbox of page 1, page 1 rendered by Poppler at DPI) of the issued PDF."""
    tmp = tmp_path_factory.mktemp("render")
    pdf = tmp / "issued.pdf"
    pdf.write_bytes(flow["issued"])
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=30).stdout
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(tmp / "page")], check=True, timeout=60)
    return bbox, Image.open(tmp / "page.png")


@pytest.mark.parametrize("text,style,size", [
    ("Nguyễn Văn An", "bold", 13),     # page content (signature block)
    (DATE, "italic", 13),              # NgayVB field appearance, filled by the clerk
    (NUMBER, "regular", 13),           # SoVB field appearance
])
def test_rendered_text_has_natural_width(rendered, text, style, size):
    bbox, page = rendered
    boxes = [(html.unescape(m.group(5)), *map(float, m.group(1, 2, 3, 4))) for m in re.finditer(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox)]
    run = None
    for i in range(len(boxes)):  # a "word" of pdftotext may hold spaces: join runs of boxes
        for j in range(i + 1, min(len(boxes), i + 12) + 1):
            if " ".join(b[0] for b in boxes[i:j]) == text:
                run = boxes[i:j]
                break
        if run:
            break
    if run is None:
        raise AssertionError(f"{text!r} not found by pdftotext")
    x0, y0 = min(b[1] for b in run), min(b[2] for b in run)
    x1, y1 = max(b[3] for b in run), max(b[4] for b in run)
    k = DPI / 72
    pad = 2 * k
    crop = page.crop((int(x0 * k - pad), int(y0 * k), int(x1 * k + pad), int(y1 * k)))
    measured, natural = _ink_width(crop), _natural_width(text, style, size)
    assert measured == pytest.approx(natural, rel=0.1), (measured, natural)
