"""Signed score sheets of a contest (issue 8): one candidate's (parts, total, band, and the
practical part's criteria with their points) and one unit's (its candidates, absentees with
reasons, the collective score, band and rank). Signed with the organiser's organisation
certificate (``grader.sheets.sign_sheet``) so anyone can check later with ``sandbox verify``
that a sheet was not altered."""
from __future__ import annotations

from grader.report import num, pdf_document, pdf_paragraph, pdf_styles, pdf_table
from grader.sheets import DEFAULT_ORGANISER, sign_sheet
from sandbox.kernel.errors import NotFound

from .results import results_for

VERDICTS_VI = {"pass": "Đạt", "partial": "Một phần", "fail": "Không đạt", "skipped": "Không xét"}


def _points(value) -> str:
    return "—" if value is None else num(value)


def candidate_sheet_pdf(runtime, contest_code: str, number: str) -> bytes:
    from reportlab.lib.units import mm
    res = results_for(runtime, contest_code)
    c = next((c for c in res.candidates if c.number == number), None)
    if c is None:
        raise NotFound(f"Không có thí sinh số báo danh {number} trong cuộc thi {contest_code}.", f"no {number}")
    st, p = pdf_styles(), pdf_paragraph
    story = [p("PHIẾU ĐIỂM THÍ SINH", st["title"]),
             p(f"{res.name} · Năm {res.year}", st["sub"]),
             p(f"Số báo danh: {c.number} · Họ và tên: {c.full_name} · Chức vụ: {c.title} · Đơn vị: {c.unit}", st["cell"])]
    rows = [[p(h, st["head"]) for h in ("Phần thi", "Điểm tối đa", "Điểm đạt")]]
    for part in c.parts:
        rows.append([p(part.name, st["cell"]), p(num(part.max), st["cell"]), p(_points(part.points), st["cell"])])
    total = "Vắng" + (f" ({c.absence_reason})" if c.absence_reason else "") if c.absent else _points(c.total)
    rows.append([p("Tổng điểm", st["head"]), p(num(c.max), st["head"]), p(total, st["head"])])
    story.append(pdf_table(rows, [90 * mm, 35 * mm, 50 * mm]))
    if not c.absent:
        verdict = c.band_label + (f" - {c.fail_reason}" if c.fail_reason else "")
        story.append(p(f"Xếp loại: {verdict}", st["cell"]))
    for part in c.parts:
        if part.report:
            story.append(p(f"Chi tiết chấm {part.name.lower()} (đề {part.report.get('scenario', '')})", st["h2"]))
            rows = [[p(h, st["head"]) for h in ("Mã", "Tiêu chí", "Tối đa", "Đạt", "Kết quả")]]
            for cr in part.report.get("criteria", []):
                rows.append([p(cr["id"], st["cell"]), p(cr["description"], st["cell"]), p(num(cr["points"]), st["cell"]),
                             p(num(cr["awarded"]), st["cell"]),
                             p(f"{VERDICTS_VI.get(cr['verdict'], cr['verdict'])}: {cr['message']}", st["small"])])
            story.append(pdf_table(rows, [12 * mm, 60 * mm, 14 * mm, 12 * mm, 77 * mm]))
    return pdf_document(story, f"Phiếu điểm {c.number}")


def unit_sheet_pdf(runtime, contest_code: str, unit_name: str) -> bytes:
    from reportlab.lib.units import mm
    res = results_for(runtime, contest_code)
    unit = next((u for u in res.units if u.name == unit_name), None)
    if unit is None:
        raise NotFound(f"Không có đơn vị «{unit_name}» trong cuộc thi {contest_code}.", f"no unit {unit_name!r}")
    st, p = pdf_styles(), pdf_paragraph
    story = [p("BẢNG ĐIỂM ĐƠN VỊ", st["title"]), p(f"{res.name} · Năm {res.year}", st["sub"]),
             p(f"Đơn vị: {unit.name} · Dự thi {unit.present}/{unit.registered} người", st["cell"])]
    heads = ["SBD", "Họ và tên"] + [part["name"] for part in res.parts] + ["Tổng", "Xếp loại"]
    rows = [[p(h, st["head"]) for h in heads]]
    for c in res.candidates:
        if c.unit_id != unit.id:
            continue
        if c.absent:
            cells = ["—" for _ in res.parts] + ["Vắng", c.absence_reason]
        else:
            cells = [_points(pt.points) for pt in c.parts] + [_points(c.total), c.band_label]
        rows.append([p(c.number, st["cell"]), p(c.full_name, st["cell"])] + [p(x, st["cell"]) for x in cells])
    width = 175 * mm
    fixed = [22 * mm, 45 * mm]
    rest = (width - sum(fixed)) / (len(heads) - 2)
    story.append(pdf_table(rows, fixed + [rest] * (len(heads) - 2)))
    score = "—" if unit.score is None else num(unit.score)
    line = f"Điểm của đơn vị: {score} · Xếp loại: {unit.band_label or '—'} · Hạng: {unit.rank or '—'}"
    if unit.exclusion_reason:
        line += f" · {unit.exclusion_reason}"
    story.append(p(line, st["cell"]))
    return pdf_document(story, f"Bảng điểm {unit.name}")


def signed(runtime, pdf: bytes, label: str, organiser: str | None = None) -> bytes:
    return sign_sheet(runtime, pdf, label, organiser=organiser or DEFAULT_ORGANISER)
