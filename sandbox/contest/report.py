"""The contest's official report in Vietnamese, with its results section in the shape of the
2023 report (seed 000): candidates, absentees with reasons, the individual bands ("Có 72/536 bài
thi đạt điểm tối đa 100 điểm (cấp sở: 43 bài, cấp huyện: 19 bài, cấp xã: 10 bài), đạt tỷ lệ
13,43%."), the collective bands, the award list with ties explained, and the chart of the
score distribution per tier.

One document model (``report_blocks``) is rendered four ways: plain text, DOCX (python-docx),
PDF (ReportLab, the documents' Vietnamese font) and XLSX (openpyxl: the tables behind it).
Nothing here reads the clock: the same results give the same report."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from .charts import BarChart, chart_drawing, chart_png, distribution_chart
from .pdf_fonts import pdf_fonts
from .results import (FAIL_LABEL, ContestResults, share, vn_count, vn_num, vn_percent)
from .rules import LEVEL_VI, LEVELS, TIER_VI, band_phrase, describe_rules

DOC_TITLE = "BÁO CÁO"
BLANK = "\u00a0" * 8      # left for the number and the day, filled in when the report is issued


@dataclass
class Block:
    kind: str          # meta (number and place/date, tab-separated) | title | subtitle | h1 | h2 | h3 | p | bullet | table | chart
    text: str = ""
    header: list[str] | None = None
    rows: list[list[str]] | None = None
    widths: list[float] | None = None     # table column shares (sum 1)
    chart: BarChart | None = None


# --- sentences ---------------------------------------------------------------------------------
def _tiers_paren(results: ContestResults, counts: list[int], unit: str = " bài", only_nonzero: bool = False) -> str:
    pairs = [(t.label.replace("Cấp", "cấp"), n) for t, n in zip(results.tiers, counts)]
    if only_nonzero:
        pairs = [(lbl, n) for lbl, n in pairs if n]
    return ", ".join(f"{lbl}: {vn_count(n)}{unit}" for lbl, n in pairs)


def candidate_band_sentences(results: ContestResults) -> list[str]:
    """One sentence per band, then the failed papers with their reasons."""
    total = len(results.present)
    out = []
    for i, (_, low, high) in enumerate(results.bands):
        counts = [t.band_counts[i] for t in results.tiers]
        n = sum(counts)
        phrase = band_phrase(low, high, results.max_total)
        phrase = ("đạt " + phrase) if phrase.startswith("điểm tối đa") else ("đạt điểm " + phrase)
        if n == 0:
            out.append(f"Không có bài thi nào {phrase}.")
            continue
        out.append(f"Có {vn_count(n)}/{total} bài thi {phrase} ({_tiers_paren(results, counts)}), "
                   f"đạt tỷ lệ {vn_percent(share(n, total))}.")
    fail = len(results.bands)
    counts = [t.band_counts[fail] for t in results.tiers]
    n = sum(counts)
    if n:
        nonzero = [(t.label.replace("Cấp", "cấp"), c) for t, c in zip(results.tiers, counts) if c]
        paren = (f"({nonzero[0][0]})" if len(nonzero) == 1 else f"({_tiers_paren(results, counts)})")
        reasons: dict[str, int] = {}
        for c in results.present:
            if c.failed:
                reasons[c.fail_reason] = reasons.get(c.fail_reason, 0) + 1
        why = "; ".join(f"{r} ({vn_count(k)} bài)" if len(reasons) > 1 else r for r, k in reasons.items())
        out.append(f"Có {vn_count(n)}/{total} {paren} bài thi không đạt yêu cầu, chiếm {vn_percent(share(n, total))}. "
                   f"Do {why}.")
    else:
        out.append("Không có bài thi nào không đạt yêu cầu.")
    return out


def unit_band_sentences(results: ContestResults) -> list[str]:
    scored = [u for u in results.units if u.band is not None]
    total = len(scored)
    out = []
    bands = results.unit_bands
    for i in range(len(bands) + 1):
        counts = [t.unit_band_counts[i] for t in results.tiers]
        n = sum(counts)
        if not n:
            continue
        if i < len(bands):
            phrase = "đạt " + band_phrase(bands[i][1], bands[i][2], results.max_total, top_open=True)
        else:
            phrase = f"đạt dưới {vn_num(bands[-1][1] * results.max_total / 100)} điểm"
        out.append(f"Có {vn_count(n)}/{total} đơn vị, địa phương {phrase} "
                   f"({_tiers_paren(results, counts, unit='', only_nonzero=True)}), "
                   f"{'đạt' if i < len(bands) else 'chiếm'} tỷ lệ {vn_percent(share(n, total))}.")
    return out


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " và " + names[-1]


def award_sentences(results: ContestResults) -> list[tuple[str, list[str], list[str]]]:
    """Per award group: (heading, one line per level, the notes on ties and exclusions)."""
    out = []
    for g in results.awards:
        tiers = ", ".join(TIER_VI.get(t, t) for t in g.tiers)
        head = f"Giải tập thể {g.label} (đơn vị {tiers})"
        lines = []
        for lv in LEVELS:
            if not g.counts.get(lv):
                continue
            ws = [w for w in g.winners if w["level"] == lv]
            if ws:
                lines.append(f"Giải {LEVEL_VI[lv]}: "
                             + "; ".join(f"{w['unit']} ({vn_num(w['score'])} điểm)" for w in ws) + ".")
            else:
                lines.append(f"Giải {LEVEL_VI[lv]}: không trao.")
        out.append((head, lines, list(g.notes)))
    return out


# --- the document ------------------------------------------------------------------------------
def report_blocks(results: ContestResults, *, appendix: bool = True) -> list[Block]:
    r = results
    present, absent = r.present, r.absentees
    b: list[Block] = [Block("meta", f"Số:{BLANK}/BC-BTC\tCần Thơ, ngày{BLANK}tháng{BLANK}năm {r.year}"),
                      Block("title", DOC_TITLE),
                      Block("subtitle", f"Kết quả tổ chức {r.name} năm {r.year}"),
                      Block("h1", "I. QUY ĐỊNH ÁP DỤNG KHI TÍNH KẾT QUẢ")]
    parts = [(p["name"], p["points"]) for p in r.parts]
    b += [Block("bullet", line) for line in describe_rules(r.rules, r.max_total, parts)]
    b.append(Block("h1", "II. KẾT QUẢ CUỘC THI"))
    b.append(Block("h2", "1. Số lượng thí sinh"))
    b.append(Block("bullet", f"Tổng số thí sinh đăng ký tham dự: {vn_count(len(r.candidates))} người."))
    by_tier = ", ".join(f"{t.label.replace('Cấp', 'cấp')}: {vn_count(t.present)}" for t in r.tiers)
    line = f"Tổng số thí sinh tham gia dự thi: {vn_count(len(present))} người" + (f" ({by_tier})" if by_tier else "")
    if absent:
        line += f"; Số thí sinh vắng mặt: {vn_count(len(absent))} người."
    else:
        line += "; không có thí sinh vắng mặt."
    b.append(Block("bullet", line))
    if absent:
        b.append(Block("p", "Danh sách thí sinh vắng mặt và lý do:"))
        for c in absent:
            reason = c.absence_reason or "không rõ lý do"
            b.append(Block("bullet", f"{c.full_name} (số báo danh {c.number}, {c.unit}): {reason}."))
    backup = [c for c in present if c.backup_reason]
    if backup:
        b.append(Block("bullet", f"Số thí sinh làm bộ đề dự phòng: {vn_count(len(backup))} người."))
        for c in backup:
            b.append(Block("bullet", f"{c.full_name} (số báo danh {c.number}, {c.unit}): {c.backup_reason}."))
    b.append(Block("h2", "2. Kết quả điểm thi"))
    b.append(Block("h3", "a) Điểm cá nhân"))
    b += [Block("bullet", s) for s in candidate_band_sentences(r)]
    if present and len(r.bands) >= 3:
        low = r.bands[2][1]
        n = sum(1 for c in present if not c.failed and round(c.percent, 2) >= low)
        b.append(Block("p", f"Qua kết quả cuộc thi, {vn_percent(share(n, len(present)))} thí sinh có điểm thi cá nhân đạt từ "
                            f"{vn_num(low * r.max_total / 100)} điểm trở lên."))
    if present:
        not_comm = [c for c in present if not c.commendable]
        ratio = r.rules["commendation_min_ratio"]
        b.append(Block("p", f"Có {vn_count(len(not_comm))}/{len(present)} thí sinh không đạt yêu cầu hoặc đạt dưới "
                            f"{vn_num(ratio * 100)}% tổng điểm, chưa được xem xét khen thưởng."))
    b.append(Block("chart", chart=distribution_chart(r)))
    header = ["Cấp", "Dự thi"] + [lbl for lbl, _, _ in r.bands] + ["Không đạt"]
    rows = [[t.label.capitalize(), str(t.present)] + [str(n) for n in t.band_counts] for t in r.tiers]
    rows.append(["Tổng", str(len(present))] + [str(r.band_total(i)) for i in range(len(r.bands) + 1)])
    b.append(Block("table", "Bảng 1. Số bài thi theo mức điểm và theo cấp", header=header, rows=rows))
    b.append(Block("h3", "b) Điểm tập thể"))
    b += [Block("bullet", s) for s in unit_band_sentences(r)]
    header = ["Đơn vị", "Cấp", "Dự thi/Đăng ký", "Điểm", "Xếp loại", "Hạng", "Giải"]
    rows = []
    for u in sorted(r.units, key=lambda u: (u.group or "", u.rank or 10**6, u.name)):
        award = f"Giải {LEVEL_VI[u.award]}" if u.award else ("" if u.eligible else
                                                             ("Không xét: " + u.exclusion_reason))
        rows.append([u.name, TIER_VI.get(u.tier, u.tier).capitalize(), f"{u.present}/{u.registered}",
                     "" if u.score is None else vn_num(u.score), u.band_label, "" if u.rank is None else str(u.rank),
                     award])
    b.append(Block("table", "Bảng 2. Điểm tập thể (hạng trong nhóm giải)", header=header, rows=rows,
                   widths=[0.32, 0.09, 0.1, 0.08, 0.1, 0.07, 0.24]))
    b.append(Block("h2", "3. Giải thưởng tập thể"))
    for head, lines, notes in award_sentences(r):
        b.append(Block("h3", head))
        b += [Block("bullet", s) for s in lines]
        b += [Block("bullet", "Ghi chú: " + n) for n in notes]
    if r.warnings:
        b.append(Block("h2", "4. Lưu ý về dữ liệu"))
        b += [Block("bullet", w) for w in r.warnings]
    if appendix:
        b.append(Block("h1", "PHỤ LỤC. KẾT QUẢ TỪNG THÍ SINH"))
        header = ["SBD", "Họ và tên", "Đơn vị"] + [p["name"] for p in r.parts] + ["Tổng", "Xếp loại"]
        rows = []
        for c in r.candidates:
            if c.absent:
                rows.append([c.number, c.full_name, c.unit] + [""] * len(r.parts) + ["", "Vắng"])
            else:
                rows.append([c.number, c.full_name, c.unit]
                            + ["—" if p.points is None else vn_num(p.points) for p in c.parts]
                            + [vn_num(c.total), c.band_label])
        n = len(r.parts)
        rest = 1 - 0.09 - 0.22 - 0.29 - 0.08 - 0.16
        b.append(Block("table", "", header=header, rows=rows,
                       widths=[0.09, 0.22, 0.29] + [rest / max(1, n)] * n + [0.08, 0.16]))
    return b


# --- plain text ------------------------------------------------------------------------------------
def report_text(results: ContestResults, *, appendix: bool = False) -> str:
    out: list[str] = []
    for blk in report_blocks(results, appendix=appendix):
        if blk.kind == "meta":
            left, _, right = blk.text.partition("\t")
            out += [f"{left:<30}{right}", ""]
        elif blk.kind == "title":
            out.append(blk.text)
        elif blk.kind == "subtitle":
            out += [blk.text, ""]
        elif blk.kind in ("h1", "h2", "h3"):
            out += ["", blk.text] if blk.kind == "h1" else [blk.text]
        elif blk.kind == "p":
            out.append(blk.text)
        elif blk.kind == "bullet":
            out.append("- " + blk.text)
        elif blk.kind == "table":
            if blk.text:
                out.append(blk.text)
            widths = [max(len(str(x)) for x in col) for col in zip(blk.header, *blk.rows)]
            for row in [blk.header] + blk.rows:
                out.append("  " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
        elif blk.kind == "chart":
            continue
    return "\n".join(out) + "\n"


# --- PDF (ReportLab) ---------------------------------------------------------------------------------
def report_pdf(results: ContestResults, *, appendix: bool = True) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    regular, bold = pdf_fonts()
    st = {
        "title": ParagraphStyle("t", fontName=bold, fontSize=14, leading=18, alignment=1),
        "subtitle": ParagraphStyle("s", fontName=bold, fontSize=12, leading=16, alignment=1, spaceAfter=10),
        "h1": ParagraphStyle("h1", fontName=bold, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=6, spaceAfter=3),
        "h3": ParagraphStyle("h3", fontName=bold, fontSize=11, leading=15, spaceBefore=4, spaceAfter=2),
        "p": ParagraphStyle("p", fontName=regular, fontSize=11, leading=15, firstLineIndent=8 * mm,
                            alignment=4, spaceAfter=3),
        "bullet": ParagraphStyle("b", fontName=regular, fontSize=11, leading=15, leftIndent=8 * mm,
                                 firstLineIndent=-4 * mm, alignment=4, spaceAfter=3),
        "cell": ParagraphStyle("c", fontName=regular, fontSize=8.5, leading=10.5),
        "head": ParagraphStyle("hd", fontName=bold, fontSize=8.5, leading=10.5),
        "p_left": ParagraphStyle("pl", fontName=regular, fontSize=11, leading=14),
        "p_right": ParagraphStyle("pr", fontName=regular, fontSize=11, leading=14, alignment=2),
        "caption": ParagraphStyle("cap", fontName=bold, fontSize=10, leading=13, alignment=1, spaceBefore=4,
                                  spaceAfter=4),
    }
    width = A4[0] - 35 * mm
    story: list[Any] = []
    for blk in report_blocks(results, appendix=appendix):
        if blk.kind == "meta":
            left, _, right = blk.text.partition("\t")
            meta = LongTable([[Paragraph(escape(left), st["p_left"]), Paragraph(escape(right), st["p_right"])]],
                             colWidths=[width * 0.4, width * 0.6])
            story += [meta, Spacer(1, 10)]
        elif blk.kind == "bullet":
            story.append(Paragraph("- " + escape(blk.text), st["bullet"]))
        elif blk.kind == "table":
            if blk.text:
                story.append(Paragraph(escape(blk.text), st["caption"]))
            n = len(blk.header)
            shares = blk.widths or [1 / n] * n
            rows = [[Paragraph(escape(h), st["head"]) for h in blk.header]]
            rows += [[Paragraph(escape(str(x)), st["cell"]) for x in row] for row in blk.rows]
            t = LongTable(rows, colWidths=[width * s for s in shares], repeatRows=1)
            t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [t, Spacer(1, 6)]
        elif blk.kind == "chart":
            story += [chart_drawing(blk.chart, width=width, height=230), Spacer(1, 6)]
        else:
            story.append(Paragraph(escape(blk.text), st[blk.kind]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"Báo cáo kết quả - {results.name} năm {results.year}",
                            author="Ban Tổ chức Cuộc thi", creator="cantho-sandbox", invariant=1)
    doc.build(story)
    return buf.getvalue()


# --- DOCX (python-docx) ------------------------------------------------------------------------------
def report_docx(results: ContestResults, *, appendix: bool = True) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21)
    sec.left_margin, sec.right_margin, sec.top_margin, sec.bottom_margin = Cm(3), Cm(2), Cm(2), Cm(2)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(13)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    core = doc.core_properties
    core.title = f"Báo cáo kết quả - {results.name} năm {results.year}"
    core.author = "Ban Tổ chức Cuộc thi"
    # a fixed date keeps the document a function of the results
    import datetime as _dt
    core.created = core.modified = _dt.datetime(results.year, 1, 1)
    core.revision = 1
    usable = sec.page_width - sec.left_margin - sec.right_margin

    def para(text: str, *, bold=False, align=None, size=None, indent=None, space_after=Pt(4)):
        p = doc.add_paragraph()
        run = p.add_run(text)
        run.bold = bold
        if size:
            run.font.size = size
        if align is not None:
            p.alignment = align
        if indent is not None:
            p.paragraph_format.first_line_indent = indent
        p.paragraph_format.space_after = space_after
        return p

    for blk in report_blocks(results, appendix=appendix):
        if blk.kind == "meta":
            from docx.enum.text import WD_TAB_ALIGNMENT
            p = para(blk.text, size=Pt(12), space_after=Pt(12))
            p.paragraph_format.tab_stops.add_tab_stop(usable, WD_TAB_ALIGNMENT.RIGHT)
        elif blk.kind == "title":
            para(blk.text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=Pt(14), space_after=Pt(0))
        elif blk.kind == "subtitle":
            para(blk.text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=Pt(12))
        elif blk.kind in ("h1", "h2", "h3"):
            para(blk.text, bold=True)
        elif blk.kind == "p":
            para(blk.text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=Cm(1))
        elif blk.kind == "bullet":
            para("- " + blk.text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=Cm(1))
        elif blk.kind == "chart":
            doc.add_picture(io.BytesIO(chart_png(blk.chart)), width=usable)
        elif blk.kind == "table":
            if blk.text:
                para(blk.text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=Pt(12))
            _docx_table(doc, blk, usable, WD_TABLE_ALIGNMENT.CENTER)
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip_times(buf.getvalue(), results.year)   # zip entries carry the time of writing


def _docx_table(doc, blk: Block, usable, align) -> None:
    """A table written straight as WordprocessingML (python-docx's cell API is slow for the
    hundreds of rows of the appendix); the document stays plain python-docx otherwise."""
    from xml.sax.saxutils import escape

    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    n = len(blk.header)
    shares = blk.widths or [1 / n] * n
    twips = [int(usable.twips * s) for s in shares] if hasattr(usable, "twips") else [int(usable / 635 * s)
                                                                                       for s in shares]

    def cell(text: str, w: int, bold: bool, shade: bool) -> str:
        rpr = "<w:rPr>" + ("<w:b/>" if bold else "") + '<w:sz w:val="20"/></w:rPr>'
        shd = '<w:shd w:val="clear" w:color="auto" w:fill="EEEEEE"/>' if shade else ""
        return (f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/>{shd}</w:tcPr><w:p><w:pPr><w:spacing w:after="0"/>'
                f'</w:pPr><w:r>{rpr}<w:t xml:space="preserve">{escape(str(text))}</w:t></w:r></w:p></w:tc>')

    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    rows = ['<w:tr><w:trPr><w:tblHeader/></w:trPr>' + "".join(cell(h, w, True, True)
                                                              for h, w in zip(blk.header, twips)) + "</w:tr>"]
    rows += ["<w:tr>" + "".join(cell(x, w, False, False) for x, w in zip(row, twips)) + "</w:tr>" for row in blk.rows]
    xml = (f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:jc w:val="center"/>'
           f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>'
           + "".join(f'<w:gridCol w:w="{w}"/>' for w in twips) + "</w:tblGrid>" + "".join(rows) + "</w:tbl>")
    body = doc.element.body
    body.insert(len(body) - 1, parse_xml(xml))   # before the section properties
    doc.add_paragraph()


# --- XLSX (openpyxl) ---------------------------------------------------------------------------------
def results_xlsx(results: ContestResults) -> bytes:
    """The tables behind the report: sheets per candidate, per unit, per tier, awards."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    r = results
    wb = Workbook()
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="EEEEEE")

    def sheet(ws, header: list[str], rows: list[list], widths: list[int]):
        ws.append(header)
        for c in ws[1]:
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            ws.append(row)
        for i, w in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = "Thí sinh"
    parts = [p["name"] for p in r.parts]
    rows = []
    for c in r.candidates:
        rows.append([c.number, c.full_name, c.title, c.unit, TIER_VI.get(c.tier, c.tier)]
                    + [p.points for p in c.parts]
                    + [c.total, c.band_label if not c.absent else "",
                       c.fail_reason, "" if c.absent else ("Có" if c.commendable else "Không"), c.rank,
                       "Vắng" if c.absent else "Dự thi", c.absence_reason, c.scenario_id, c.backup_reason])
    sheet(ws, ["Số báo danh", "Họ và tên", "Chức vụ", "Đơn vị", "Cấp"] + parts
          + ["Tổng điểm", "Xếp loại", "Không đạt do", "Được xét khen thưởng", "Hạng", "Dự thi", "Lý do vắng",
             "Bộ đề", "Lý do làm bộ đề dự phòng"],
          rows, [12, 26, 22, 34, 10] + [11] * len(parts) + [10, 16, 30, 12, 7, 9, 30, 16, 30])
    for col in range(6, 7 + len(parts)):
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = "0.##"

    ws = wb.create_sheet("Đơn vị")
    rows = [[u.name, TIER_VI.get(u.tier, u.tier), (r.rules["awards"].get(u.group, {}).get("label")
                                                    or {"city": "cấp thành phố", "district": "cấp huyện"}.get(u.group, ""))
             if u.group else "", u.registered, u.present, u.absent, u.score, u.band_label, u.rank,
             "Có" if u.eligible else "Không", u.exclusion_reason, f"Giải {LEVEL_VI[u.award]}" if u.award else ""]
            for u in r.units]
    sheet(ws, ["Đơn vị", "Cấp", "Nhóm giải", "Đăng ký", "Dự thi", "Vắng", "Điểm tập thể", "Xếp loại",
               "Hạng trong nhóm", "Được xét giải", "Lý do không xét", "Giải"], rows,
          [36, 10, 16, 9, 9, 8, 12, 12, 10, 12, 28, 12])

    ws = wb.create_sheet("Theo cấp")
    labels = [lbl for lbl, _, _ in r.bands] + [FAIL_LABEL]
    header = ["Cấp", "Đăng ký", "Dự thi", "Vắng"] + [f"{lbl} (bài)" for lbl in labels] + [f"{lbl} (%)" for lbl in labels]
    rows = []
    for t in r.tiers:
        rows.append([t.label, t.registered, t.present, t.absent] + list(t.band_counts)
                    + [share(n, t.present) for n in t.band_counts])
    tot = len(r.present)
    totals = [r.band_total(i) for i in range(len(labels))]
    rows.append(["Tổng", len(r.candidates), tot, len(r.absentees)] + totals + [share(n, tot) for n in totals])
    sheet(ws, header, rows, [12, 9, 9, 8] + [12] * (2 * len(labels)))

    ws = wb.create_sheet("Chấm thực hành")
    from grader.report import VERDICTS_VI, evidence_text
    rows = []
    for c in r.candidates:
        for p in c.parts:
            rep = p.report
            if not rep or p.kind != "practical" or not ("criteria" in rep or "error" in rep):
                continue
            if "criteria" not in rep:
                rows.append([c.number, c.full_name, c.scenario_id, "", rep.get("error", ""), None, None, "", ""])
                continue
            for crit in rep["criteria"]:
                result = f"{VERDICTS_VI.get(crit['verdict'], crit['verdict'])}: {crit.get('message', '')}"
                if crit.get("detail"):
                    result += f" ({crit['detail']})"
                rows.append([c.number, c.full_name, rep.get("scenario", c.scenario_id), crit["id"], crit["description"],
                             crit["points"], crit["awarded"], result, evidence_text(crit.get("evidence") or {})])
    sheet(ws, ["Số báo danh", "Họ và tên", "Bộ đề", "Mã", "Tiêu chí", "Tối đa", "Đạt", "Kết quả", "Bằng chứng"], rows,
          [12, 24, 18, 6, 40, 8, 8, 50, 60])

    ws = wb.create_sheet("Giải thưởng")
    rows = []
    for g in r.awards:
        for w in g.winners:
            rows.append([g.label, f"Giải {LEVEL_VI[w['level']]}", w["unit"], TIER_VI.get(w["tier"], w["tier"]),
                         w["score"], w["rank"]])
    sheet(ws, ["Nhóm giải", "Giải", "Đơn vị", "Cấp", "Điểm tập thể", "Hạng"], rows, [16, 10, 36, 10, 12, 8])
    notes = [(g.label, n) for g in r.awards for n in g.notes]
    if notes:
        ws.append([])
        ws.append(["Ghi chú (đồng hạng, đơn vị không được xét)"])
        ws.cell(ws.max_row, 1).font = head_font
        for label, n in notes:
            ws.append([label, n])
    buf = io.BytesIO()
    wb.properties.creator = "cantho-sandbox"
    import datetime as _dt
    wb.properties.created = wb.properties.modified = _dt.datetime(r.year, 1, 1)
    wb.save(buf)
    return _fixed_zip_times(buf.getvalue(), r.year)


def _fixed_zip_times(data: bytes, year: int) -> bytes:
    """The same workbook bytes for the same results: openpyxl stamps each zip entry with the
    time of writing, and writes the current time as the document's "modified" property
    whatever was set; rewrite both with a fixed time."""
    import re
    import zipfile
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = f"{year:04d}-01-01T00:00:00Z".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(year, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>",
                                 content)
            dst.writestr(fixed, content)
    return out.getvalue()


__all__ = ["Block", "report_blocks", "report_text", "report_pdf", "report_docx", "results_xlsx",
           "candidate_band_sentences", "unit_band_sentences", "award_sentences", "pdf_fonts"]
