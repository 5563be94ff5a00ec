"""Organiser pages at /quan-tri (issue 7): contests with their parts and rules, roster / units /
scores import (upload → report → save all or the good rows), shifts and rooms, seating,
attendance, the backup set, provisioning with a progress bar, login slips.

Organisers change things; examiners see the pages and mark attendance and backup switches
(they are the ones in the room); trainers have no business here."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from sandbox.kernel.errors import SandboxError
from sandbox.kernel.webkit import current_runtime

from sandbox.contest.web.admin_auth import admin_required

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/quan-tri")

VIEW = ("organiser", "examiner")
ORGANISER = ("organiser",)
IMPORT_KINDS = {"roster": "Danh sách thí sinh", "units": "Danh sách đơn vị", "scores": "Bảng điểm"}
ATTENDANCE_VI = {"present": "Có mặt", "absent": "Vắng", "": "Chưa điểm danh"}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _actor() -> str:
    return f"admin:{g.admin.login}"


def _back(code: str, anchor: str = ""):
    return redirect(url_for("admin.contest", code=code) + (f"#{anchor}" if anchor else ""))


def _info_or_404(code: str):
    from sandbox.contest.api import contest_info
    try:
        return contest_info(current_runtime(), code)
    except SandboxError:
        abort(404)


@bp.get("/cuoc-thi")
@admin_required(*VIEW)
def contests():
    from sandbox.contest.api import list_contests
    return render_template("admin/contests.html", contests=list_contests(current_runtime()))


@bp.get("/cuoc-thi/<code>")
@admin_required(*VIEW)
def contest(code: str):
    from sandbox.contest import api
    rt = current_runtime()
    info = _info_or_404(code)
    cands = api.list_candidates(rt, code)
    shifts = api.list_shifts(rt, code)
    per_shift = {sh.name: sum(1 for c in cands if c.shift == sh.name) for sh in shifts}
    built = {sh.name: sum(1 for c in cands if c.shift == sh.name and c.sandbox_name) for sh in shifts}
    return render_template("admin/contest.html", info=info, rules=api.rules_vi(info), units=api.list_units(rt, code),
                           cands=cands, shifts=shifts, rooms=api.list_rooms(rt, code), per_shift=per_shift,
                           built=built, attendance_vi=ATTENDANCE_VI, can_edit=g.admin.role == "organiser",
                           kinds=IMPORT_KINDS)


def _run(code: str, fn, ok: str, anchor: str = ""):
    """Run an organiser action; its Vietnamese error (if any) is flashed on the contest page."""
    try:
        result = fn(current_runtime())
    except SandboxError as e:
        flash(e.message_vi, "error")
        return _back(code, anchor)
    flash(ok if not callable(ok) else ok(result), "success")
    return _back(code, anchor)


@bp.post("/cuoc-thi/<code>/ca-thi")
@admin_required(*ORGANISER)
def add_shift(code: str):
    from sandbox.contest.api import add_shift as add
    f = request.form
    name = f.get("name", "").strip()
    starts_at = None
    if f.get("starts_at"):
        from datetime import datetime

        from sandbox.kernel.clock import VN_TZ, as_utc
        try:
            starts_at = as_utc(datetime.strptime(f["starts_at"], "%Y-%m-%dT%H:%M").replace(tzinfo=VN_TZ))
        except ValueError:
            flash("Thời điểm bắt đầu không hợp lệ.", "error")
            return _back(code, "ca-thi")
    return _run(code, lambda rt: add(rt, code, name, f.get("scenario", "").strip(), f.get("backup", "").strip(),
                                     starts_at, actor=_actor()), f"Đã lưu ca thi «{name}».", "ca-thi")


@bp.post("/cuoc-thi/<code>/phong-thi")
@admin_required(*ORGANISER)
def add_room(code: str):
    from sandbox.contest.api import add_room as add
    name = request.form.get("name", "").strip()
    try:
        seats = int(request.form.get("seats", ""))
    except ValueError:
        flash("Số chỗ ngồi phải là một số nguyên.", "error")
        return _back(code, "ca-thi")
    return _run(code, lambda rt: add(rt, code, name, seats, actor=_actor()), f"Đã lưu phòng thi «{name}».", "ca-thi")


@bp.post("/cuoc-thi/<code>/xep-cho")
@admin_required(*ORGANISER)
def seat(code: str):
    from sandbox.contest.api import seat_candidates
    return _run(code, lambda rt: seat_candidates(rt, code, actor=_actor()),
                lambda r: f"Đã xếp chỗ cho {r.seated} thí sinh ({r.already} đã có chỗ từ trước).", "thi-sinh")


@bp.post("/cuoc-thi/<code>/diem-danh")
@admin_required(*VIEW)
def attendance(code: str):
    from sandbox.contest.api import mark_attendance
    number = request.form.get("number", "")
    present = request.form.get("status") == "present"
    return _run(code, lambda rt: mark_attendance(rt, code, number, present, request.form.get("reason", ""),
                                                 actor=_actor()),
                f"Đã ghi {'có mặt' if present else 'vắng'}: thí sinh {number}.", "thi-sinh")


@bp.post("/cuoc-thi/<code>/de-du-phong")
@admin_required(*VIEW)
def backup(code: str):
    from sandbox.contest.api import switch_to_backup
    f = request.form
    number = f.get("number") or None
    shift, room = (None, None) if number else (f.get("shift") or None, f.get("room") or None)
    return _run(code, lambda rt: switch_to_backup(rt, code, f.get("reason", ""), number=number, shift=shift, room=room,
                                                  actor=_actor()),
                lambda done: (f"Đã chuyển {len(done)} thí sinh sang đề dự phòng"
                              + (f" ({', '.join(done)})" if done else "") + ". Hãy tạo lại sandbox của ca thi."),
                "thi-sinh")


# --- imports: upload → report → save ------------------------------------------------------

def _importer(kind: str):
    from sandbox.contest import api
    return {"roster": api.import_roster, "units": api.import_units, "scores": api.import_scores}[kind]


@bp.route("/cuoc-thi/<code>/nhap", methods=["GET", "POST"])
@admin_required(*ORGANISER)
def upload(code: str):
    info = _info_or_404(code)
    kind = request.values.get("kind", "roster")
    if kind not in IMPORT_KINDS:
        abort(404)
    if request.method == "GET":
        return render_template("admin/import.html", info=info, kind=kind, kinds=IMPORT_KINDS, report=None)
    f = request.files.get("file")
    if f is None or not f.filename:
        flash("Hãy chọn tệp để nhập.", "error")
        return redirect(url_for("admin.upload", code=code, kind=kind))
    data = f.read()
    rt = current_runtime()
    try:
        report = _importer(kind)(rt, code, f.filename, data, dry_run=True, actor=_actor())
    except SandboxError as e:
        return render_template("admin/import.html", info=info, kind=kind, kinds=IMPORT_KINDS, report=None,
                               error=e.message_vi), 400
    digest = rt.blobs.put(data)
    return render_template("admin/import.html", info=info, kind=kind, kinds=IMPORT_KINDS, report=report,
                           digest=digest, filename=f.filename)


@bp.post("/cuoc-thi/<code>/nhap/luu")
@admin_required(*ORGANISER)
def upload_confirm(code: str):
    info = _info_or_404(code)
    f = request.form
    kind, digest, filename, mode = f.get("kind", ""), f.get("digest", ""), f.get("filename", ""), f.get("mode", "")
    rt = current_runtime()
    if kind not in IMPORT_KINDS or not _DIGEST.match(digest) or not rt.blobs.exists(digest) or mode not in ("all", "good"):
        flash("Tệp tải lên không còn; hãy tải tệp lên lại.", "error")
        return redirect(url_for("admin.upload", code=code, kind=kind if kind in IMPORT_KINDS else "roster"))
    try:
        report = _importer(kind)(rt, code, filename or "tep", rt.blobs.get(digest), partial=(mode == "good"),
                                 actor=_actor())
    except SandboxError as e:
        return render_template("admin/import.html", info=info, kind=kind, kinds=IMPORT_KINDS, report=None,
                               error=e.message_vi), 400
    if report.saved:
        flash(report.lines()[-1], "success")
        return _back(code, "thi-sinh")
    return render_template("admin/import.html", info=info, kind=kind, kinds=IMPORT_KINDS, report=report,
                           digest=digest, filename=filename), 400


# --- provisioning and slips ---------------------------------------------------------------

@bp.post("/cuoc-thi/<code>/tao-sandbox")
@admin_required(*ORGANISER)
def provision(code: str):
    from sandbox.contest.api import start_provision_job
    shift = request.form.get("shift", "")
    try:
        job_id = start_provision_job(current_runtime(), code, shift, _actor())
    except SandboxError as e:
        flash(e.message_vi, "error")
        return _back(code, "ca-thi")
    return redirect(url_for("admin.job", code=code, job_id=job_id))


@bp.get("/cuoc-thi/<code>/tao-sandbox/<int:job_id>")
@admin_required(*VIEW)
def job(code: str, job_id: int):
    from sandbox.contest.api import job_view
    info = _info_or_404(code)
    view = job_view(current_runtime(), job_id)
    if view is None:
        abort(404)
    return render_template("admin/job.html", info=info, job=view)


def _portal_url() -> str:
    from flask import current_app
    for endpoint in ("portal.login", "portal.index"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, _external=True)
    return request.host_url


@bp.get("/cuoc-thi/<code>/phieu-dang-nhap.pdf")
@admin_required(*ORGANISER)
def slips(code: str):
    from sandbox.contest.api import slips_pdf
    shift = request.args.get("ca") or None
    try:
        pdf = slips_pdf(current_runtime(), code, shift, _portal_url())
    except SandboxError as e:
        flash(e.message_vi, "error")
        return _back(code, "ca-thi")
    name = f"phieu-dang-nhap-{code}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- results: grade the whole contest, the results, the official report ----------------------
@bp.get("/cuoc-thi/<code>/ket-qua")
@admin_required(*VIEW)
def results(code: str):
    """Kết quả: từng thí sinh, từng đơn vị, từng cấp, danh sách giải; tải báo cáo."""
    from sandbox.contest.results import results_for

    info = _info_or_404(code)
    res = results_for(current_runtime(), code)
    return render_template("admin/results.html", info=info, res=res, can_edit=g.admin.role == "organiser")


@bp.post("/cuoc-thi/<code>/cham-diem")
@admin_required(*ORGANISER)
def grade_all(code: str):
    """Chấm toàn bộ phần thực hành của cuộc thi (dùng mọi lõi CPU)."""
    from sandbox.contest.grading import grade_contest

    _info_or_404(code)
    try:
        summary = grade_contest(current_runtime(), code, actor=_actor())
    except SandboxError as e:
        flash(e.message_vi, "error")
    else:
        text = f"Đã chấm phần thực hành của {summary.graded} thí sinh."
        if summary.errors:
            text += " Không chấm được: " + "; ".join(f"{n}: {m}" for n, m in summary.errors) + "."
        if summary.no_sandbox:
            text += " Chưa có bài làm: " + ", ".join(summary.no_sandbox) + "."
        if summary.grader_errors:
            text += (f" LỖI BỘ CHẤM: {len(summary.grader_errors)} bài chưa chấm được do lỗi của đề thi ("
                     + "; ".join(f"{n}: {', '.join(cid for cid, _ in rows)}" for n, rows in summary.grader_errors)
                     + "); sửa đề rồi chấm lại.")
        if summary.failed_jobs:
            text += (f" LỖI VIỆC NỀN: {len(summary.failed_jobs)} việc của văn thư tự động không thực hiện được ("
                     + "; ".join(f"{n}: {why}" for n, _kind, why in summary.failed_jobs)
                     + "); điểm các bài này chưa chính thức: chạy `sandbox jobs retry --failed --run` rồi chấm lại.")
        flash(text, "error" if summary.errors or summary.grader_errors or summary.failed_jobs else "success")
    return redirect(url_for("admin.results", code=code))


REPORT_FORMATS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bao-cao-ket-qua.docx"),
    "pdf": ("application/pdf", "bao-cao-ket-qua.pdf"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ket-qua.xlsx"),
}


@bp.get("/cuoc-thi/<code>/bao-cao.<fmt>")
@admin_required(*VIEW)
def report_file(code: str, fmt: str):
    """Tải báo cáo kết quả (DOCX, PDF) hoặc bảng kết quả (XLSX)."""
    from sandbox.contest import report
    from sandbox.contest.results import results_for

    if fmt not in REPORT_FORMATS:
        abort(404)
    _info_or_404(code)
    res = results_for(current_runtime(), code)
    data = {"docx": report.report_docx, "pdf": report.report_pdf, "xlsx": report.results_xlsx}[fmt](res)
    mime, name = REPORT_FORMATS[fmt]
    resp = Response(data, mimetype=mime)
    resp.headers["Content-Disposition"] = f'attachment; filename="{code}-{name}"'
    return resp


@bp.post("/cuoc-thi")
@admin_required(*ORGANISER)
def create_contest():
    """Tạo cuộc thi: mã, tên, năm, các phần thi và điểm, thời gian làm bài, quy định."""
    from sandbox.contest.api import create_contest as create

    form = request.form
    parts = [line.strip() for line in form.get("parts", "").splitlines() if line.strip()]
    rules = [line.strip() for line in form.get("rules", "").splitlines() if line.strip()]
    try:
        year = int(form.get("year", "0") or 0)
        duration = int(form.get("duration", "60") or 60)
    except ValueError:
        flash("Năm tổ chức và thời gian làm bài phải là số.", "error")
        return render_template("admin/contests.html", contests=_contests(), form=form), 400
    try:
        info = create(current_runtime(), form.get("code", ""), form.get("name", ""), year, parts,
                      duration_minutes=duration, rules=rules or None, actor=_actor())
    except SandboxError as e:
        flash(e.message_vi, "error")
        return render_template("admin/contests.html", contests=_contests(), form=form), 400
    flash(f"Đã tạo cuộc thi {info.code}.", "success")
    return redirect(url_for("admin.contest", code=info.code))


def _contests():
    from sandbox.contest.api import list_contests
    return list_contests(current_runtime())
