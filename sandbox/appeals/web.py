"""Examiner pages for appeals (phúc khảo) and re-grades at /quan-tri/phuc-khao (issue 8): the
list of appeals and applied re-grades, one appeal with the disputed criteria's evidence and a
link to the session's timeline/replay, the second examiner's review, the decision with any
manual adjustment (each with its reason), and the signed answer PDF.

The work is done by :mod:`sandbox.appeals.api`; the pages only collect and show."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from sandbox.appeals import api as appeals
from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.webkit import current_runtime

from sandbox.contest.web.admin_auth import admin_required

bp = Blueprint("appeals", __name__, template_folder="templates", url_prefix="/quan-tri/phuc-khao")


def register(app) -> None:
    app.register_blueprint(bp)
ROLES = ("organiser", "examiner")


def _who() -> str:
    return g.admin.full_name or g.admin.login


def _appeal_or_404(appeal_id: int):
    try:
        return appeals.get_appeal(current_runtime(), appeal_id)
    except NotFound:
        abort(404)


@bp.get("/")
@admin_required(*ROLES)
def index():
    """Danh sách đơn phúc khảo và các lần chấm lại đã áp dụng."""
    rt = current_runtime()
    status = request.args.get("trang-thai") or None
    if status not in (None, *appeals.APPEAL_STATUS_VI):
        status = None
    return render_template("appeals/list.html", rows=appeals.list_appeals(rt, status), runs=appeals.runs(rt),
                           status=status, status_vi=appeals.APPEAL_STATUS_VI, decision_vi=appeals.DECISION_VI)


@bp.post("/")
@admin_required(*ROLES)
def create():
    """Nhận đơn phúc khảo của thí sinh (giám khảo nhập thay thí sinh)."""
    f = request.form
    try:
        a = appeals.request_appeal(current_runtime(), f.get("sandbox", "").strip(), f.get("criteria", "").split(","),
                                   f.get("reason", ""), by=f.get("by", ""))
    except SandboxError as e:
        flash(e.message_vi, "error")
        return redirect(url_for("appeals.index"))
    flash(f"Đã nhận đơn phúc khảo số {a.id}.", "success")
    return redirect(url_for("appeals.show", appeal_id=a.id))


@bp.get("/<int:appeal_id>")
@admin_required(*ROLES)
def show(appeal_id: int):
    """Một đơn: tiêu chí khiếu nại và bằng chứng, phát lại phiên làm bài, phúc khảo, kết luận."""
    rt = current_runtime()
    a = _appeal_or_404(appeal_id)
    name = next(n for x, n in appeals.list_appeals(rt) if x.id == a.id)
    timeline = (url_for("timeline.show", name=name) if "timeline.show" in current_app.view_functions else None)
    return render_template("appeals/show.html", a=a, name=name, evidence=appeals.disputed_evidence(rt, a),
                           timeline=timeline, status_vi=appeals.APPEAL_STATUS_VI, decision_vi=appeals.DECISION_VI,
                           history=appeals.history(rt, name))


@bp.post("/<int:appeal_id>/phuc-khao")
@admin_required(*ROLES)
def review(appeal_id: int):
    """Giám khảo thứ hai ghi nhận kết quả phúc khảo."""
    _appeal_or_404(appeal_id)
    try:
        appeals.review(current_runtime(), appeal_id, reviewer=_who(), note=request.form.get("note", ""),
                       run_replay=request.form.get("replay") == "1")
    except SandboxError as e:
        flash(e.message_vi, "error")
    else:
        flash("Đã ghi nhận kết quả phúc khảo.", "success")
    return redirect(url_for("appeals.show", appeal_id=appeal_id))


@bp.post("/<int:appeal_id>/ket-luan")
@admin_required(*ROLES)
def decide(appeal_id: int):
    """Kết luận; điều chỉnh điểm từng tiêu chí (nếu có) phải kèm lý do."""
    a = _appeal_or_404(appeal_id)
    f = request.form
    adjustments = []
    for cid in a.criteria:
        pts, why = f.get(f"points_{cid}", "").strip(), f.get(f"reason_{cid}", "")
        if pts:
            adjustments.append({"criterion": cid, "points": pts, "reason": why})
    try:
        d = appeals.decide(current_runtime(), appeal_id, by=_who(), text=f.get("text", ""), adjustments=adjustments)
    except SandboxError as e:
        flash(e.message_vi, "error")
    else:
        flash(f"Đã kết luận: {appeals.DECISION_VI[d.decision]}.", "success")
    return redirect(url_for("appeals.show", appeal_id=appeal_id))


@bp.get("/<int:appeal_id>/tra-loi.pdf")
@admin_required(*ROLES)
def answer(appeal_id: int):
    """Văn bản trả lời phúc khảo (PDF có chữ ký số của đơn vị tổ chức)."""
    _appeal_or_404(appeal_id)
    try:
        pdf = appeals.answer_bytes(current_runtime(), appeal_id)
    except SandboxError as e:
        flash(e.message_vi, "error")
        return redirect(url_for("appeals.show", appeal_id=appeal_id))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="tra-loi-phuc-khao-{appeal_id}.pdf"'})
