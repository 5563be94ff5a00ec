"""Drill classes on the web (issue 8): the trainer's classes and live board at
/quan-tri/luyen-tap, the trainee's join page and drill list at /luyen-tap.

A trainee is logged in as their in-world person of one drill (the ordinary mail-account
session); the drill list finds the trainee from that sandbox's name and switches the
session to another of their drills. After a reset (the trainer's, or "Làm lại" in another
tab) a session still on the set-aside attempt follows to the fresh one."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from sandbox.training import api as tr
from sandbox.kernel.errors import RateLimited, SandboxError
from sandbox.kernel.throttle import LoginThrottle
from sandbox.kernel.webkit import current_runtime, login_required

from sandbox.contest.web.admin_auth import admin_required

bp = Blueprint("training", __name__, template_folder="templates")

TRAINER_ROLES = ("trainer", "organiser")
_JOIN_THROTTLE = LoginThrottle(per_login="30/5 minutes", per_address="300/minute")


def register(app) -> None:
    app.register_blueprint(bp)


def _log_in(ref) -> None:
    session.pop("account_id", None)
    session.pop("sandbox_id", None)
    session["account_id"], session["sandbox_id"] = ref.id, ref.sandbox_id
    g.account = ref


@bp.before_app_request
def follow_reset():
    """A session on a set-aside attempt of a drill-class sandbox moves to the live attempt."""
    sandbox_id, account_id = session.get("sandbox_id"), session.get("account_id")
    if sandbox_id is None or account_id is None:
        return
    from sandbox.kernel.models import Sandbox

    rt = current_runtime()
    with rt.db.read() as s:
        row = s.execute(select(Sandbox.name, Sandbox.archived_at).where(Sandbox.id == sandbox_id)).first()
    if row is None or row.archived_at is None:
        return
    slot = tr.slot_of_sandbox(rt, row.name)
    if slot is None:
        return
    try:
        ref = tr.account_for_slot(rt, slot["trainee"]["id"], slot["position"])
    except SandboxError:
        return
    if ref is None:
        return
    _log_in(ref)
    by = next((r["by"] for r in reversed(tr.resets(rt, slot["class"].id)) if r["archived_as"] == row.name), None)
    flash(f"Giảng viên ({by}) đã đặt lại bài luyện: bạn làm lại từ trạng thái ban đầu, bài làm cũ vẫn được lưu."
          if by else "Bài luyện đã được làm lại từ đầu: bạn đang ở bài làm mới.", "info")


@bp.before_app_request
def trainer_home():
    """A trainer's start page is the list of drill classes (the admin home shows contests)."""
    if request.endpoint == "admin_auth.home" and getattr(g.get("admin"), "role", None) == "trainer":
        return redirect(url_for("training.classes"))


# --- trainee ------------------------------------------------------------------------------------
@bp.route("/luyen-tap/tham-gia", methods=["GET", "POST"])
def join():
    """Tham gia lớp luyện tập bằng mã."""
    rt = current_runtime()
    error, code, name = None, request.args.get("ma", ""), ""
    status = 200
    if request.method == "POST":
        code, name = request.form.get("code", ""), request.form.get("name", "")
        key = "join:" + (request.remote_addr or "")
        try:
            _JOIN_THROTTLE.check(key, None)
            joined = tr.join(rt, code, name)
        except RateLimited:
            error, status = "Nhập sai mã tham gia quá nhiều lần. Vui lòng chờ vài phút rồi thử lại.", 429
        except SandboxError as e:
            if "Mã tham gia" in e.message_vi:
                _JOIN_THROTTLE.failed(key, None)
            error, status = e.message_vi, 400
        else:
            _log_in(tr.account_for_slot(rt, joined.trainee_id, 1))  # an admin login in this browser stays
            info = tr.get_class(rt, joined.class_id)
            # the logins are shown this once (this response is not a page one can come back to)
            resp = render_template("training/joined.html", joined=joined, klass=info)
            return resp, 200, {"Cache-Control": "no-store"}
    return render_template("training/join.html", error=error, code=code, name=name), status


def _my_slot():
    slot = tr.slot_of_sandbox(current_runtime(), g.account.sandbox_name)
    if slot is None:
        return None
    from scenarios.build import instance_of

    with current_runtime().db.read() as s:
        inst = instance_of(s, g.account.sandbox_id)
    if inst is None or inst.candidate_address != g.account.address:
        return None
    return slot


@bp.get("/luyen-tap")
@login_required
def mine():
    """Các bài luyện của học viên."""
    slot = _my_slot()
    if slot is None:
        return render_template("training/mine.html", slot=None, items=[])
    items = [{"position": x["position"], "title": tr.load_item(x["ref"]).scenario.title,
              "current": x["position"] == slot["position"]} for x in slot["slots"]]
    return render_template("training/mine.html", slot=slot, items=items)


@bp.post("/luyen-tap/bai/<int:position>")
@login_required
def open_drill(position: int):
    """Chuyển sang một bài luyện khác của học viên."""
    slot = _my_slot()
    if slot is None:
        abort(404)
    ref = tr.account_for_slot(current_runtime(), slot["trainee"]["id"], position)
    if ref is None:
        abort(404)
    _log_in(ref)
    flash("Đã chuyển sang bài luyện đã chọn.", "info")
    return redirect(url_for("tasks.index"))


# --- trainer ------------------------------------------------------------------------------------
def _form_state(form=None) -> dict:
    form = form or {}
    return {"name": form.get("name", ""), "drills": form.getlist("drill") if hasattr(form, "getlist") else [],
            "exam": form.get("exam", ""), "code": form.get("code", ""),
            "use_code": (form.get("use_code") == "1") if form else True, "roster": form.get("roster", "")}


@bp.route("/quan-tri/luyen-tap", methods=["GET", "POST"])
@admin_required(*TRAINER_ROLES)
def classes():
    """Lớp luyện tập: danh sách và tạo lớp."""
    rt = current_runtime()
    error, state, status = None, _form_state(), 200
    if request.method == "POST":
        state = _form_state(request.form)
        items = list(state["drills"]) + ([state["exam"]] if state["exam"] else [])
        choices = tr.library_choices()
        known = {sid for sid, _ in choices["drills"] + choices["exams"]}
        try:
            bad = [x for x in items if x not in known]
            if bad:
                raise SandboxError(f"Không tìm thấy bài luyện hay đề thi «{bad[0]}».")
            roster = tr.parse_roster(state["roster"])
            info, joined = tr.create_class(rt, state["name"], items, code=state["code"] or None,
                                           use_code=state["use_code"], roster=roster, actor=g.admin.login)
        except SandboxError as e:
            error, status = e.message_vi, 400
        else:
            flash(f"Đã tạo lớp «{info.name}»" + (f" với mã tham gia {info.join_code}" if info.join_code else "")
                  + (f" và {len(joined)} học viên theo danh sách." if joined else "."), "info")
            if joined:
                return redirect(url_for("training.roster_logins", class_id=info.id))
            return redirect(url_for("training.board", class_id=info.id))
    return render_template("training/classes.html", classes=tr.list_classes(rt), choices=tr.library_choices(),
                           error=error, form=state), status


def _refresh() -> int:
    try:
        return max(2, min(120, int(request.args.get("lam-moi", "10"))))
    except ValueError:
        return 10


@bp.get("/quan-tri/luyen-tap/<int:class_id>")
@admin_required(*TRAINER_ROLES)
def board(class_id: int):
    """Bảng theo dõi trực tiếp của lớp."""
    rt = current_runtime()
    data = tr.board(rt, class_id)
    return render_template("training/board.html", b=data, klass=tr.get_class(rt, class_id), refresh=_refresh(),
                           status_vi=tr.STATUS_VI, resets=tr.resets(rt, class_id), now=rt.clock.now())


@bp.post("/quan-tri/luyen-tap/<int:class_id>/dat-lai")
@admin_required(*TRAINER_ROLES)
def reset(class_id: int):
    """Đặt lại bài của một học viên về trạng thái ban đầu."""
    rt = current_runtime()
    try:
        trainee_id = int(request.form.get("trainee_id", ""))
        position = int(request.form["position"]) if request.form.get("position") else None
    except ValueError:
        raise SandboxError("Yêu cầu đặt lại không hợp lệ.", "bad reset form") from None
    done = tr.reset(rt, class_id, trainee_id, position, by=g.admin.login)
    name = next((t["name"] for t in tr.trainees(rt, class_id) if t["id"] == trainee_id), "")
    flash(f"Đã đặt lại {'bài ' + str(position) if position else 'các bài'} của {name} về trạng thái ban đầu "
          f"({len(done)} bài); bài làm cũ được lưu lại.", "info")
    return redirect(url_for("training.board", class_id=class_id))


@bp.post("/quan-tri/luyen-tap/<int:class_id>/dong")
@admin_required(*TRAINER_ROLES)
def close(class_id: int):
    """Đóng / mở lại việc tham gia bằng mã."""
    closed = request.form.get("closed") == "1"
    tr.set_closed(current_runtime(), class_id, closed)
    flash("Đã đóng lớp: không nhận thêm học viên." if closed else "Đã mở lại lớp cho học viên tham gia.", "info")
    return redirect(url_for("training.board", class_id=class_id))


@bp.route("/quan-tri/luyen-tap/<int:class_id>/dang-nhap", methods=["GET", "POST"])
@admin_required(*TRAINER_ROLES)
def roster_logins(class_id: int):
    """Phiếu đăng nhập của học viên theo danh sách (in ra phát cho học viên); thêm học viên."""
    rt = current_runtime()
    klass = tr.get_class(rt, class_id)
    error, roster_text, status = None, "", 200
    if request.method == "POST":
        roster_text = request.form.get("roster", "")
        try:
            rows = tr.parse_roster(roster_text)
            if not rows:
                raise SandboxError("Hãy nhập ít nhất một học viên (mỗi dòng: Họ và tên, thư điện tử).")
            added = tr.add_roster(rt, class_id, rows, actor=g.admin.login)
        except SandboxError as e:
            error, status = e.message_vi, 400
        else:
            flash(f"Đã thêm {len(added)} học viên vào lớp.", "info")
            return redirect(url_for("training.roster_logins", class_id=class_id))
    people = [t | {"logins": tr.logins(rt, t["id"])} for t in tr.trainees(rt, class_id) if t["via"] == "roster"]
    return render_template("training/logins.html", klass=klass, people=people, error=error,
                           roster=roster_text), status
