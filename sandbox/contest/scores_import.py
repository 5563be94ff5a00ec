"""Scores of one or more parts imported from Excel (or CSV): a part taken elsewhere, or a
past contest whose report is to be produced. Columns: "Số báo danh", one column per part
named as the part ("Lý thuyết", "Thực hành", …), and "Vắng" (the absence reason; empty
when the candidate was present).

Every problem is listed by row and column before anything is saved; nothing is saved when
anything is wrong unless ``partial`` (then the good rows are saved). A saved row writes
``PartScore(source="import")`` for each part column present and the candidate's attendance."""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from .models import Candidate, ContestPart, PartScore
from .roster import ImportReport, _load
from .tables import ImportFileError, Problem, header_key, is_nfc, kind_of, open_workbook, read_csv, read_sheet, text_of


def _parse_points(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return None


def _fmt(x: float) -> str:
    from sandbox.kernel import vnformat
    return vnformat.number(x, 0) if float(x).is_integer() else vnformat.number(x, 2).rstrip("0")


def import_scores(runtime, code: str, path, data: bytes | None = None, *, partial: bool = False,
                  dry_run: bool = False, actor: str = "cli") -> ImportReport:
    from .contests import get_contest, record_event
    name, data = _load(path, data)
    with runtime.db.read() as s:
        c = get_contest(s, code)
        parts = s.scalars(select(ContestPart).where(ContestPart.contest_id == c.id).order_by(ContestPart.position)).all()
    columns = {"number": ("Số báo danh", "SBD"), "absent": ("Vắng", "Lý do vắng")}
    part_keys = {}
    for p in parts:
        key = f"part:{p.id}"
        columns[key] = (p.name,)
        part_keys[key] = p
    if kind_of(name) == "csv":
        table = read_csv(name, data, columns, ("number",))
    else:
        wb = open_workbook(name, data)
        table = read_sheet(name, wb.active, columns, ("number",))
    present_parts = [k for k in part_keys if k in table.columns]
    if not present_parts:
        raise ImportFileError(f"Tệp {name}: không có cột điểm nào mang tên phần thi của cuộc thi "
                              f"({', '.join('«' + p.name + '»' for p in parts)}).")
    report = ImportReport(name, rows=len(table.rows), dry_run=dry_run, partial=partial, what="thí sinh")
    if table.ignored_columns:
        report.warnings.append("bỏ qua các cột không phải phần thi của cuộc thi: "
                               + ", ".join(f"«{x}»" for x in table.ignored_columns) + ".")
    with runtime.db.write() as s:
        c = get_contest(s, code)
        cands = {x.number.casefold(): x for x in s.scalars(select(Candidate).where(Candidate.contest_id == c.id))}
        seen: dict[str, int] = {}
        good = []
        for row in table.rows:
            probs = []
            number = text_of(row.values.get("number"))
            absent = unicodedata.normalize("NFC", text_of(row.values.get("absent")))
            if not is_nfc(text_of(row.values.get("absent"))):
                probs.append(Problem(row.number, "Vắng", "chữ tiếng Việt không ở dạng Unicode dựng sẵn (NFC)."))
            cand = None
            if not number:
                probs.append(Problem(row.number, "Số báo danh", "số báo danh để trống."))
            elif number.casefold() in seen:
                probs.append(Problem(row.number, "Số báo danh", f"số báo danh «{number}» trùng với dòng {seen[number.casefold()]}."))
            elif number.casefold() not in cands:
                probs.append(Problem(row.number, "Số báo danh", f"không có thí sinh số báo danh «{number}» trong cuộc thi."))
            else:
                seen[number.casefold()] = row.number
                cand = cands[number.casefold()]
            scores = {}
            for key in present_parts:
                p = part_keys[key]
                raw = row.values.get(key)
                col = table.columns[key]
                if raw in (None, ""):
                    if not absent:
                        probs.append(Problem(row.number, col, "chưa có điểm (thí sinh vắng thì ghi lý do ở cột «Vắng»)."))
                    continue
                if absent:
                    probs.append(Problem(row.number, col, "thí sinh vắng nhưng lại có điểm; hãy xóa điểm hoặc xóa lý do vắng."))
                    continue
                pts = _parse_points(raw)
                if pts is None:
                    probs.append(Problem(row.number, col, f"điểm «{text_of(raw)}» không phải là số."))
                elif not 0 <= pts <= p.points:
                    probs.append(Problem(row.number, col, f"điểm {_fmt(pts)} nằm ngoài khoảng 0 – {_fmt(p.points)}."))
                else:
                    scores[p.id] = pts
            if probs:
                report.problems += probs
                report.rejected_rows.append(row.number)
            elif cand is not None:
                good.append((cand, absent, scores))
        if dry_run or (report.problems and not partial) or not good:
            return report
        now = runtime.clock.now()
        for cand, absent, scores in good:
            cand.attendance, cand.absence_reason = ("absent", absent) if absent else ("present", "")
            for part_id, pts in scores.items():
                ps = s.scalar(select(PartScore).where(PartScore.candidate_id == cand.id, PartScore.part_id == part_id))
                if ps is None:
                    ps = PartScore(candidate_id=cand.id, part_id=part_id)
                    s.add(ps)
                ps.points, ps.source, ps.report, ps.at = pts, "import", None, now
            report.numbers.append(cand.number)
        report.saved, report.saved_count = True, len(good)
        record_event(s, runtime, c.id, "import_scores", actor,
                     detail={"file": name, "saved": len(good), "parts": [part_keys[k].name for k in present_parts],
                             "rejected_rows": report.rejected_rows, "partial": partial})
    return report


__all__ = ["import_scores", "header_key"]
