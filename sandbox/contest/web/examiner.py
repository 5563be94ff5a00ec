"""The examiner's live room view at /quan-tri/giam-sat: per shift and room, who is logged in,
which part, last activity and time left (the page refreshes itself every 30 seconds, no
JavaScript needed); time extensions for one candidate or a whole room, with a reason."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from sandbox.contest import examiner
from sandbox.contest.models import Contest
from sandbox.kernel.webkit import current_runtime

from sandbox.contest.web.admin_auth import admin_required

bp = Blueprint("examiner", __name__, template_folder="templates", url_prefix="/quan-tri/giam-sat")
ROLES = ("organiser", "examiner")


def _contest(code: str) -> Contest:
    from sandbox.contest.session import contest_by_code
    return contest_by_code(current_runtime(), code)


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@bp.get("/")
@admin_required(*ROLES)
def contests():
    """Các cuộc thi đang giám sát."""
    with current_runtime().db.read() as s:
        rows = [(c.code, c.name, c.year) for c in s.scalars(select(Contest).order_by(Contest.year.desc(), Contest.code))]
    return render_template("examiner/contests.html", contests=rows)


@bp.get("/<code>")
@admin_required(*ROLES)
def room(code: str):
    """Giám sát phòng thi: ai đang đăng nhập, đang làm phần nào, hoạt động lần cuối, thời gian còn lại."""
    rt = current_runtime()
    contest = _contest(code)
    shift_id, room_id = _int(request.args.get("ca")), _int(request.args.get("phong"))
    _, shifts, rooms = examiner.contest_rooms(rt, contest.id)
    rows = examiner.room_view(rt, contest.id, shift_id=shift_id, room_id=room_id)
    counts = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return render_template("examiner/room.html", contest=contest, shifts=shifts, rooms=rooms, rows=rows,
                           shift_id=shift_id, room_id=room_id, counts=counts, now=rt.clock.now(),
                           events=examiner.extensions(rt, contest.id, 20))


@bp.post("/<code>/gia-han")
@admin_required(*ROLES)
def extend(code: str):
    """Gia hạn thời gian cho một thí sinh hoặc cả phòng, có lý do."""
    rt = current_runtime()
    contest = _contest(code)
    actor = f"giamkhao:{g.admin.login}"
    minutes, reason = request.form.get("minutes", ""), request.form.get("reason", "")
    shift_id, room_id = _int(request.form.get("ca")), _int(request.form.get("phong"))
    candidate_id = _int(request.form.get("candidate_id"))
    if candidate_id is not None:
        res = examiner.extend(rt, candidate_id, minutes, reason, actor=actor)
        flash(f"Đã gia hạn {int(minutes)} phút cho thí sinh {res['number']}.", "success")
    elif room_id is not None:
        done = examiner.extend_room(rt, contest.id, room_id, minutes, reason, actor=actor, shift_id=shift_id)
        flash(f"Đã gia hạn {int(minutes)} phút cho {len(done)} thí sinh của phòng.", "success")
    else:
        flash("Chọn thí sinh hoặc phòng thi cần gia hạn.", "error")
    return redirect(url_for("examiner.room", code=code, ca=shift_id, phong=room_id))
