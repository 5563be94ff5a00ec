"""The Vietnamese serif font of the contest's PDFs (report, charts, login slips), registered
with ReportLab once per process under the names ``VN-Serif`` and ``VN-Serif-Bold``."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def pdf_fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from signing.api import font_path

    pdfmetrics.registerFont(TTFont("VN-Serif", font_path("regular")))
    pdfmetrics.registerFont(TTFont("VN-Serif-Bold", font_path("bold")))
    return "VN-Serif", "VN-Serif-Bold"
