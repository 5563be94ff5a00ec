"""The report's chart: the score distribution per tier (candidates per band, one bar per tier),
drawn twice from one description: as vector graphics for the PDF (ReportLab's own charts) and
as a PNG for the DOCX (Pillow). Both use the documents' Vietnamese font
(``signing.api.font_path``), so the labels print the same on any machine."""
from __future__ import annotations

import io
from dataclasses import dataclass

from .results import FAIL_LABEL, ContestResults

COLORS = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000"]


@dataclass
class BarChart:
    title: str
    categories: list[str]
    series: list[tuple[str, list[int]]]      # (legend, one value per category)
    y_label: str = "Số bài thi"


def distribution_chart(results: ContestResults) -> BarChart:
    """Candidates per band in each tier (present candidates only)."""
    cats = [label.replace(" - ", "–").replace("<", "<") for label, _, _ in results.bands] + ["Không đạt"]
    series = [(t.label.capitalize(), list(t.band_counts)) for t in results.tiers]
    return BarChart("Phân bố điểm thi cá nhân theo cấp (số bài thi theo mức điểm, thang %)", cats, series)


def _nice_max(v: int) -> tuple[int, int]:
    v = max(int(v * 1.12) + 1, 1)   # head room for the bar labels
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if v / step <= 8:
            return step * (-(-v // step)), step
    return v, max(1, v // 8)


# --- PDF (ReportLab graphics) ---------------------------------------------------------------
def chart_drawing(chart: BarChart, width: float = 480, height: float = 240):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    from .pdf_fonts import pdf_fonts

    regular, bold = pdf_fonts()
    d = Drawing(width, height)
    d.add(String(width / 2, height - 14, chart.title, fontName=bold, fontSize=10, textAnchor="middle"))
    bc = VerticalBarChart()
    bc.x, bc.y, bc.width, bc.height = 40, 40, width - 150, height - 75
    bc.data = [tuple(v) for _, v in chart.series] or [tuple(0 for _ in chart.categories)]
    top, step = _nice_max(max((max(v) for _, v in chart.series if v), default=1))
    bc.valueAxis.valueMin, bc.valueAxis.valueMax, bc.valueAxis.valueStep = 0, top, step
    bc.valueAxis.labels.fontName = regular
    bc.valueAxis.labels.fontSize = 7
    bc.categoryAxis.categoryNames = chart.categories
    bc.categoryAxis.labels.fontName = regular
    bc.categoryAxis.labels.fontSize = 7
    bc.categoryAxis.labels.angle = 0
    bc.barLabelFormat = "%d"
    bc.barLabels.fontName = regular
    bc.barLabels.fontSize = 6
    bc.barLabels.nudge = 5
    bc.groupSpacing, bc.barSpacing = 6, 1
    for i in range(len(bc.data)):
        bc.bars[i].fillColor = colors.HexColor(COLORS[i % len(COLORS)])
        bc.bars[i].strokeColor = None
    d.add(bc)
    d.add(String(bc.x - 25, bc.y + bc.height + 6, chart.y_label, fontName=regular, fontSize=7, textAnchor="start"))
    lg = Legend()
    lg.x, lg.y = width - 100, height - 40
    lg.fontName, lg.fontSize = regular, 8
    lg.alignment = "right"
    lg.colorNamePairs = [(colors.HexColor(COLORS[i % len(COLORS)]), name) for i, (name, _) in enumerate(chart.series)]
    d.add(lg)
    return d


# --- PNG (Pillow) for the DOCX ----------------------------------------------------------------
def chart_png(chart: BarChart, width: int = 1600, height: int = 800) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    from signing.api import font_path

    scale = width / 800
    font = ImageFont.truetype(font_path("regular"), int(13 * scale))
    small = ImageFont.truetype(font_path("regular"), int(11 * scale))
    bold = ImageFont.truetype(font_path("bold"), int(15 * scale))
    img = Image.new("RGB", (width, height), "white")
    g = ImageDraw.Draw(img)
    g.text((width / 2, 14 * scale), chart.title, font=bold, fill="black", anchor="mt")
    left, right, top_px, bottom = 60 * scale, width - 150 * scale, 50 * scale, height - 50 * scale
    top, step = _nice_max(max((max(v) for _, v in chart.series if v), default=1))
    plot_h = bottom - top_px
    for y in range(0, top + 1, step):
        py = bottom - plot_h * y / top
        g.line([(left, py), (right, py)], fill="#dddddd", width=max(1, int(scale)))
        g.text((left - 6 * scale, py), str(y), font=small, fill="black", anchor="rm")
    g.line([(left, top_px), (left, bottom), (right, bottom)], fill="black", width=max(1, int(scale)))
    n_cat, n_ser = len(chart.categories), max(1, len(chart.series))
    slot = (right - left) / max(1, n_cat)
    bar_w = slot * 0.8 / n_ser
    for ci, cat in enumerate(chart.categories):
        x0 = left + ci * slot + slot * 0.1
        for si, (_, values) in enumerate(chart.series):
            v = values[ci]
            bx = x0 + si * bar_w
            by = bottom - plot_h * v / top
            g.rectangle([bx, by, bx + bar_w - 2 * scale, bottom], fill=COLORS[si % len(COLORS)])
            g.text((bx + bar_w / 2, by - 2 * scale), str(v), font=small, fill="black", anchor="mb")
        g.text((left + ci * slot + slot / 2, bottom + 8 * scale), cat, font=small, fill="black", anchor="mt")
    g.text((left, top_px - 14 * scale), chart.y_label, font=small, fill="black", anchor="lb")
    ly = top_px + 10 * scale
    for si, (name, _) in enumerate(chart.series):
        g.rectangle([right + 20 * scale, ly, right + 34 * scale, ly + 14 * scale], fill=COLORS[si % len(COLORS)])
        g.text((right + 40 * scale, ly + 7 * scale), name, font=font, fill="black", anchor="lm")
        ly += 24 * scale
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False)
    return out.getvalue()


__all__ = ["BarChart", "distribution_chart", "chart_drawing", "chart_png", "FAIL_LABEL"]
