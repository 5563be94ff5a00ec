"""Score reports and the published rubric as HTML (Vietnamese, printable) and PDF.

The PDF is laid out with ReportLab in the same Vietnamese-capable serif font the signed
documents use (``signing.api.font_path``), so it prints the same on any machine."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from scenarios import templates
from scenarios.schema import Scenario

VERDICTS_VI = {"pass": "Đạt", "partial": "Đạt một phần", "fail": "Không đạt", "skipped": "Không xét",
               "error": "Lỗi bộ chấm"}
#: at the head of a report with criteria the grader could not judge (``"verdict": "error"``)
NOT_GRADABLE_VI = ("CHƯA PHẢI ĐIỂM CHÍNH THỨC: bộ chấm không chấm được {n} tiêu chí ({ids}) do lỗi của đề thi, "
                   "không phải lỗi của thí sinh. Ban tổ chức sửa đề rồi chấm lại.")
EVIDENCE_VI = {"message_id": "Message-ID", "at": "lúc", "subject": "tiêu đề", "to": "đến", "cc": "CC",
               "bcc": "BCC", "bounced": "bị trả lại", "attachment": "tệp", "sha256": "SHA-256",
               "field": "trường ký", "signer": "người ký", "fingerprint": "dấu vân tay chứng thư",
               "kind": "loại", "signing_time": "thời điểm ký", "target": "nơi nhận", "role": "vai trò",
               "deadline": "hạn", "assigned_by": "người giao", "assigned_at": "lúc giao", "directive": "ý kiến",
               "directive_by": "người ghi", "status": "trạng thái", "symbol": "số, ký hiệu", "value": "giá trị"}


def num(x: Any) -> str:
    """Vietnamese number: decimal comma, no trailing zeros (``7,5``, ``55``)."""
    if isinstance(x, (int, float)):
        x = round(float(x), 2)
        return str(int(x)) if x.is_integer() else f"{x:g}".replace(".", ",")
    return str(x)


def evidence_text(ev: dict) -> str:
    parts = []
    for key, value in ev.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) if not isinstance(v, dict) else "; ".join(f"{k}={w}" for k, w in v.items())
                              for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}={w}" for k, w in value.items())
        parts.append(f"{EVIDENCE_VI.get(key, key)}: {value}")
    return " · ".join(parts)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
                             autoescape=True)
    env.filters["num"] = num
    env.filters["evidence"] = evidence_text
    return env


def errored(report: dict) -> list[dict]:
    """The criteria the grader could not judge (read from the rows: one scored by hand since
    no longer counts)."""
    return [c for c in report.get("criteria", []) if c.get("verdict") == "error"]


def not_gradable_text(report: dict) -> str:
    rows = errored(report)
    return NOT_GRADABLE_VI.format(n=len(rows), ids=", ".join(c["id"] for c in rows)) if rows else ""


def report_html(report: dict) -> str:
    return _env().get_template("report.html").render(r=report, verdicts=VERDICTS_VI,
                                                     not_gradable=not_gradable_text(report))


# --- the published rubric -------------------------------------------------------------------
def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else ""


def published_rubric(sc: Scenario) -> dict:
    """What candidates may see before the exam: tasks' titles (without drawn values),
    criteria descriptions, points, how each is checked in general words; never parameters."""
    from .checks import REGISTRY, load_all
    load_all()
    tasks = []
    by_task: dict[str | None, list] = {}
    for c in sc.rubric.criteria:
        by_task.setdefault(c.task, []).append({
            "id": c.id, "description": c.description, "points": c.points,
            "how": _sentence(REGISTRY[c.check.type].summary_vi) if c.check.type in REGISTRY else "",
            "partial": [p.points for p in c.partial], "requires": c.requires})
    for i, t in enumerate(sc.tasks, 1):
        title = t.title if not templates.references(t.title) else f"Nhiệm vụ {i}"
        if t.id in by_task:
            tasks.append({"title": title, "criteria": by_task.pop(t.id)})
    if by_task:
        tasks.append({"title": "Tiêu chí chung", "criteria": [c for rows in by_task.values() for c in rows]})
    return {"title": sc.title, "year": sc.year, "points": sc.points, "duration": sc.duration_minutes,
            "version": sc.rubric.version, "tasks": tasks}


def rubric_html(sc: Scenario) -> str:
    return _env().get_template("rubric.html").render(**published_rubric(sc))


# --- PDF ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from signing.api import font_path

    pdfmetrics.registerFont(TTFont("VN-Serif", font_path("regular")))
    pdfmetrics.registerFont(TTFont("VN-Serif-Bold", font_path("bold")))
    return "VN-Serif", "VN-Serif-Bold"


def pdf_styles():
    from reportlab.lib.styles import ParagraphStyle
    regular, bold = _fonts()
    return {
        "title": ParagraphStyle("t", fontName=bold, fontSize=14, leading=18, alignment=1, spaceAfter=4),
        "sub": ParagraphStyle("s", fontName=regular, fontSize=10, leading=13, alignment=1, spaceAfter=10),
        "cell": ParagraphStyle("c", fontName=regular, fontSize=9, leading=11.5),
        "small": ParagraphStyle("e", fontName=regular, fontSize=7.5, leading=9.5, textColor="#333333"),
        "head": ParagraphStyle("h", fontName=bold, fontSize=9, leading=11.5),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4),
        "alert": ParagraphStyle("a", fontName=bold, fontSize=10, leading=13, textColor="#aa0000", borderColor="#aa0000",
                                borderWidth=1, borderPadding=4, spaceBefore=2, spaceAfter=10),
    }


def pdf_document(story, title: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=15 * mm, topMargin=30 * mm,
                            bottomMargin=15 * mm, title=title, author="Sandbox thi thực hành", creator="cantho-sandbox",
                            invariant=1)
    doc.build(story)
    return buf.getvalue()


def pdf_table(rows, widths):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle
    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (2, 1), (3, -1), "RIGHT")]))
    return t


def pdf_paragraph(text: str, style):
    from reportlab.platypus import Paragraph
    from xml.sax.saxutils import escape
    return Paragraph(escape(text or ""), style)


def report_pdf(report: dict) -> bytes:
    from reportlab.lib.units import mm
    st = pdf_styles()
    story = [pdf_paragraph("PHIẾU CHẤM ĐIỂM PHẦN THỰC HÀNH", st["title"]),
             pdf_paragraph(f"{report['title']} · Năm {report['year']} · Thí sinh: {report['candidate']} · Đề: "
                f"{report['scenario']} (hạt giống {report['seed']}) · Phiên bản đáp án {report['rubric_version']}",
                st["sub"])]
    if not_gradable_text(report):
        story.append(pdf_paragraph(not_gradable_text(report), st["alert"]))
    rows = [[pdf_paragraph(h, st["head"]) for h in ("Mã", "Tiêu chí", "Tối đa", "Đạt", "Kết quả và bằng chứng")]]
    for c in report["criteria"]:
        from reportlab.platypus import Paragraph  # noqa: F401
        result = [pdf_paragraph(f"{VERDICTS_VI[c['verdict']]}: {c['message']}", st["cell"])]
        if c.get("error"):
            result.append(pdf_paragraph(f"Lỗi của đề thi: {c['error']}", st["small"]))
        if c.get("detail"):
            result.append(pdf_paragraph(c["detail"], st["small"]))
        if c.get("evidence"):
            result.append(pdf_paragraph(evidence_text(c["evidence"]), st["small"]))
        awarded = "—" if c["verdict"] == "error" else num(c["awarded"])
        rows.append([pdf_paragraph(c["id"], st["cell"]), pdf_paragraph(c["description"], st["cell"]), pdf_paragraph(num(c["points"]), st["cell"]),
                     pdf_paragraph(awarded, st["cell"]), result])
    for t in report["tasks"]:
        rows.append(["", pdf_paragraph(t["title"], st["cell"]), pdf_paragraph(num(t["points"]), st["cell"]),
                     pdf_paragraph(num(t["awarded"]), st["cell"]), ""])
    total_label = "Tổng điểm phần thực hành" + (" (chưa chính thức)" if errored(report) else "")
    rows.append(["", pdf_paragraph(total_label, st["head"]), pdf_paragraph(num(report["max"]), st["head"]),
                 pdf_paragraph(num(report["total"]), st["head"]), ""])
    table = pdf_table(rows, [12 * mm, 48 * mm, 14 * mm, 12 * mm, 89 * mm])
    from reportlab.lib import colors
    from reportlab.platypus import TableStyle
    table.setStyle(TableStyle([("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fdecea"))
                               for i, c in enumerate(report["criteria"], 1) if c["verdict"] == "error"]))
    story.append(table)
    return pdf_document(story, f"Phiếu chấm điểm - {report['candidate']}")


def rubric_pdf(sc: Scenario) -> bytes:
    from reportlab.lib.units import mm
    st = pdf_styles()
    pub = published_rubric(sc)
    story = [pdf_paragraph("HƯỚNG DẪN CHẤM PHẦN THỰC HÀNH", st["title"]),
             pdf_paragraph(f"{pub['title']} · Năm {pub['year']} · Tổng {num(pub['points'])} điểm · "
                f"Thời gian {pub['duration']} phút · Phiên bản {pub['version']}", st["sub"])]
    for task in pub["tasks"]:
        story.append(pdf_paragraph(task["title"], st["h2"]))
        rows = [[pdf_paragraph(h, st["head"]) for h in ("Mã", "Tiêu chí", "Điểm", "Cách chấm")]]
        for c in task["criteria"]:
            how = c["how"] + "".join(f" Chấm một phần: {num(p)} điểm khi đạt một phần yêu cầu." for p in c["partial"])
            if c["requires"]:
                how += f" Chỉ xét khi đạt tiêu chí {c['requires']}."
            rows.append([pdf_paragraph(c["id"], st["cell"]), pdf_paragraph(c["description"], st["cell"]), pdf_paragraph(num(c["points"]), st["cell"]),
                         pdf_paragraph(how, st["small"])])
        story.append(pdf_table(rows, [12 * mm, 70 * mm, 14 * mm, 79 * mm]))
    return pdf_document(story, f"Hướng dẫn chấm - {pub['title']}")
