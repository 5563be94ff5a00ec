"""The candidate portal at /thi: login with candidate number and password, the start page
with the contest's rules, the theory part (autosaved answers, review, submission), the
practical part (the task sheet and the tools, opened as the candidate's in-world person) and
the end of the exam. The clock is the server's (``sandbox.contest.session``); every page
records the candidate's activity and enforces the deadline."""
from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape

from sandbox.contest import session as exam
from sandbox.contest import theory
from sandbox.kernel import storage
from sandbox.kernel.errors import Forbidden, NotFound, RateLimited, SandboxError
from sandbox.kernel.webkit import current_runtime

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/thi")
log = logging.getLogger(__name__)

SESSION_KEY = "candidate_id"
#: where "open the tool" may lead (the practical part's tools, signed in as the candidate)
TOOLS = {"de-bai": "/de-bai", "mail": "/mail/", "van-ban": "/van-ban/", "ky-so": "/ky-so/"}


def _seat() -> str:
    return (request.remote_addr or "")[:200]


@bp.app_context_processor
def inject_candidate():
    """For the bar on every page (tools included): the candidate's number and time left."""
    cid = session.get(SESSION_KEY)
    if cid is None:
        return {"portal_candidate": None}
    st = g.get("portal_state")
    if st is None:
        try:
            st = exam.state(current_runtime(), cid)
        except Exception:  # never break a tool's page for the bar
            return {"portal_candidate": None}
    return {"portal_candidate": {"number": session.get("candidate_number", ""), "state": st}}


def candidate_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        cid = session.get(SESSION_KEY)
        ref = exam.candidate_ref(current_runtime(), cid) if cid is not None else None
        if ref is None:
            session.pop(SESSION_KEY, None)
            if request.method == "POST" and request.is_json:
                return jsonify(error="Phiên đăng nhập đã hết, vui lòng đăng nhập lại."), 401
            return redirect(url_for("portal.login"))
        g.candidate = ref
        return view(*args, **kwargs)

    return wrapped


def _touch(part: str | None = None):
    """Record the activity and enforce the deadline (``session.touch``). A page that only
    shows (GET) is shown even when that write fails on storage (a full disk): the state is
    then read as it is, the failure logged."""
    rt = current_runtime()
    if request.method == "GET":
        st = None
        with storage.best_effort(f"activity of candidate {g.candidate.id}"):
            st = exam.touch(rt, g.candidate.id, seat=_seat(), part=part)
        if st is None:
            st = exam.state(rt, g.candidate.id)
    else:
        st = exam.touch(rt, g.candidate.id, seat=_seat(), part=part)
    g.portal_state = st
    return st


def _page(part: str | None = None, **what) -> exam.Page:
    """The page's data in one read (``session.page``), the activity recorded as ``_touch``."""
    pg = exam.page(current_runtime(), g.candidate.id, seat=_seat(), part=part, **what)
    g.portal_state = pg.state
    return pg


def _no_paper():
    return NotFound("Chưa có đề lý thuyết.", f"candidate {g.candidate.id} has no paper")


@bp.route("", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
def login():
    """Đăng nhập thí sinh."""
    if request.method == "GET" and session.get(SESSION_KEY) is not None:
        return redirect(url_for("portal.start"))
    error, number = None, ""
    if request.method == "POST":
        number = request.form.get("number", "").strip()
        try:
            ref = exam.login(current_runtime(), number, request.form.get("password", ""), request.remote_addr)
        except RateLimited as e:
            error = e.message_vi
        else:
            if ref is None:
                error = "Số báo danh hoặc mật khẩu không đúng."
            else:
                session.clear()
                session[SESSION_KEY] = ref.id
                session["candidate_number"] = ref.number
                session.permanent = False
                return redirect(url_for("portal.start"))
    return render_template("portal/login.html", error=error, number=number), (200 if error is None else 401)


@bp.post("/dang-xuat")
def logout():
    """Đăng xuất (thời gian làm bài vẫn tiếp tục tính)."""
    session.clear()
    flash("Bạn đã đăng xuất. Thời gian làm bài vẫn được tính; có thể đăng nhập lại ở bất kỳ máy nào.", "info")
    return redirect(url_for("portal.login"))


@bp.get("/bat-dau")
@candidate_required
def start():
    """Trang bắt đầu: thể lệ, các phần thi, nút «Bắt đầu làm bài»."""
    pg = _page(contest_code=g.candidate.contest_code)
    if pg.state.started:
        return redirect(url_for("portal.exam_home"))
    return render_template("portal/start.html", cand=g.candidate, contest=pg.contest, parts=pg.parts,
                           st=pg.state, rules=_rules_text(pg.contest))


@bp.post("/bat-dau")
@candidate_required
def begin():
    exam.start_attempt(current_runtime(), g.candidate.id, seat=_seat())
    return redirect(url_for("portal.exam_home"))


@bp.get("/bai-thi")
@candidate_required
def exam_home():
    """Bài thi: các phần, thời gian còn lại, kết thúc."""
    pg = _page(contest_code=g.candidate.contest_code, paper="summary", practical=True)
    if not pg.state.started:
        return redirect(url_for("portal.start"))
    return render_template("portal/exam.html", cand=g.candidate, contest=pg.contest, parts=pg.parts,
                           st=pg.state, paper=pg.paper, practical_ready=pg.practical_ready)


@bp.get("/trang-thai")
@candidate_required
def status():
    """Thời gian còn lại (JSON, cho đồng hồ đếm ngược). Polled every 30 s by the bar on every
    page, tools included, so it also tells the examiner the candidate is still there."""
    st = _touch()
    return jsonify(remaining=st.remaining_seconds, open=st.open, finished=st.finished_at is not None,
                   deadline=st.deadline.isoformat() if st.deadline else None)


# --- theory -----------------------------------------------------------------------------------

def _started_paper():
    """(state, the full theory paper) of a started attempt; (state, None) when not started yet
    (the page sends the candidate to the start)."""
    pg = _page("theory", paper="full")
    if not pg.state.started:
        return pg.state, None
    if pg.paper is None:
        raise _no_paper()
    return pg.state, pg.paper


@bp.get("/ly-thuyet")
@candidate_required
def theory_page():
    """Phần thi lý thuyết: câu hỏi, lưu tự động mỗi lần chọn."""
    st, paper = _started_paper()
    if paper is None:
        return redirect(url_for("portal.start"))
    locked = not st.open or paper.submitted_at is not None
    return render_template("portal/theory.html", cand=g.candidate, st=st, paper=paper, locked=locked,
                           questions_html=questions_html(paper.questions, locked))


def questions_html(questions, locked: bool) -> Markup:
    """The questions of the theory page: the markup of ``portal/_question.html`` for each,
    built directly (a page of 30 questions and 120 options is the portal's largest page,
    shown at the start of the exam by every candidate at once)."""
    disabled = "disabled" if locked else ""
    out = []
    for q in questions:
        kind = "checkbox" if q.multiple else "radio"
        chosen = set(q.chosen)
        parts = [f'<fieldset class="question{" answered" if q.chosen else ""}" id="cau-{q.position}" '
                 f'data-question="{q.question_id}">\n  <legend>Câu {q.position}',
                 ' <span class="muted small">(có thể chọn nhiều phương án)</span>' if q.multiple else "",
                 f'</legend>\n  <p class="qtext">{escape(q.text)}</p>\n  ']
        for orig, letter, text in q.options:
            parts.append(f'\n  <label class="option">\n    <input type="{kind}" name="q{q.question_id}" value="{orig}"'
                         f'\n           {"checked" if orig in chosen else ""} {disabled}>\n'
                         f'    <span class="letter">{letter}.</span> {escape(text)}\n  </label>\n  ')
        parts.append('\n  <span class="save-status small muted" aria-live="polite"></span>\n</fieldset>')
        out.append("".join(parts))
    return Markup("".join(out))


def _chosen_from_form(paper) -> dict[int, list[int]]:
    return {q.question_id: [int(v) for v in request.form.getlist(f"q{q.question_id}") if v.isdigit()]
            for q in paper.questions}


@bp.post("/ly-thuyet/luu")
@candidate_required
def theory_save():
    """«Lưu câu trả lời» (không cần JavaScript)."""
    rt = current_runtime()
    paper = theory.review(rt, g.candidate.id)
    chosen = _chosen_from_form(paper)
    try:
        res = theory.save_answers(rt, g.candidate.id, chosen, seat=_seat())
    except Forbidden:
        _touch()
        raise
    except Exception as e:  # storage failed (a full disk): the page again, with the options chosen
        kind = storage.classify(e)
        if kind is None:
            raise
        return _theory_not_saved(paper, chosen, kind, e)
    flash(f"Đã lưu câu trả lời ({res['answered']}/{res['total']} câu đã trả lời).", "success")
    return redirect(url_for("portal.review") if request.form.get("next") == "review" else url_for("portal.theory_page"))


def _theory_not_saved(paper, chosen: dict[int, list[int]], kind: str, e: Exception):
    """The theory page with the options the candidate had chosen (not the saved ones) and why
    they were not saved: the candidate presses «Lưu câu trả lời» again later."""
    from dataclasses import replace

    storage.log_failure(log, f"theory answers of candidate {g.candidate.id}", e, kind)
    st = exam.state(current_runtime(), g.candidate.id)
    shown = replace(paper, questions=[replace(q, chosen=sorted(chosen.get(q.question_id, [])))
                                      for q in paper.questions])
    flash(storage.kept_message_vi(kind, "Câu trả lời chưa được lưu"), "error")
    return render_template("portal/theory.html", cand=g.candidate, st=st, paper=shown, locked=False,
                           questions_html=questions_html(shown.questions, False)), storage.http_status(kind)


@bp.post("/ly-thuyet/tra-loi")
@candidate_required
def theory_answer():
    """Lưu tự động một câu trả lời (JavaScript, mỗi lần bấm chọn)."""
    rt = current_runtime()
    data = request.get_json(silent=True) if request.is_json else None
    if data is None:
        data = {"question": request.form.get("question"), "chosen": request.form.getlist("chosen")}
    try:
        qid = int(data.get("question"))
        chosen = [int(c) for c in (data.get("chosen") or [])]
    except (TypeError, ValueError):
        return jsonify(error="Dữ liệu câu trả lời không hợp lệ."), 400
    try:
        res = theory.save_answer(rt, g.candidate.id, qid, chosen, seat=_seat())
    except SandboxError as e:
        if isinstance(e, Forbidden):
            exam.touch(rt, g.candidate.id)   # enforce the deadline: auto-submit now
        return jsonify(error=e.message_vi), e.status
    return jsonify(ok=True, **res)


@bp.get("/ly-thuyet/xem-lai")
@candidate_required
def review():
    """Xem lại: câu đã trả lời, câu chưa trả lời; nộp bài có xác nhận."""
    st, paper = _started_paper()
    if paper is None:
        return redirect(url_for("portal.start"))
    return render_template("portal/review.html", cand=g.candidate, st=st, paper=paper,
                           locked=not st.open or paper.submitted_at is not None)


@bp.post("/ly-thuyet/nop")
@candidate_required
def theory_submit():
    """Nộp bài lý thuyết (sau khi xác nhận)."""
    rt = current_runtime()
    st = _touch("theory")
    if not st.open:
        raise Forbidden("Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa.", "closed")
    if request.form.get("confirm") != "1":
        flash("Hãy đánh dấu ô xác nhận trước khi nộp bài lý thuyết.", "error")
        return redirect(url_for("portal.review"))
    theory.submit(rt, g.candidate.id)
    flash("Đã nộp bài lý thuyết. Câu trả lời không thay đổi được nữa.", "success")
    return redirect(url_for("portal.exam_home"))


# --- practical --------------------------------------------------------------------------------

@bp.get("/thuc-hanh")
@candidate_required
def practical():
    """Phần thi thực hành: đề bài và các phần mềm mô phỏng."""
    pg = _page("practical", practical=True)
    if not pg.state.started:
        return redirect(url_for("portal.start"))
    return render_template("portal/practical.html", cand=g.candidate, st=pg.state, ready=pg.practical_ready)


@bp.get("/thuc-hanh/mo/<tool>")
@candidate_required
def open_tool(tool: str):
    """Mở phần mềm, đã đăng nhập sẵn bằng tài khoản của nhân vật thí sinh đóng vai."""
    target = TOOLS.get(tool)
    if target is None:
        return redirect(url_for("portal.practical"))
    st = _touch("practical")
    if not st.started:
        return redirect(url_for("portal.start"))
    with storage.best_effort(f"closing time of candidate {g.candidate.id}'s sandbox"):
        exam.sync_closing(current_runtime(), g.candidate.id)
    ref = exam.mail_account_of(current_runtime(), g.candidate.id)
    if ref is None:
        flash("Bài thực hành của bạn chưa được chuẩn bị; vui lòng báo giám khảo phòng thi.", "error")
        return redirect(url_for("portal.practical"))
    session["account_id"], session["sandbox_id"] = ref.id, ref.sandbox_id
    if not st.open:
        flash("Đã hết thời gian làm bài: bạn chỉ xem được, không thay đổi được bài làm.", "warn")
    return redirect(target)


# --- the end ----------------------------------------------------------------------------------

@bp.get("/ket-thuc")
@candidate_required
def finish_page():
    """Xác nhận kết thúc bài thi."""
    pg = _page(paper="summary")
    if not pg.state.started:
        return redirect(url_for("portal.start"))
    return render_template("portal/finish.html", cand=g.candidate, st=pg.state, paper=pg.paper)


@bp.post("/ket-thuc")
@candidate_required
def finish():
    if request.form.get("confirm") != "1":
        flash("Hãy đánh dấu ô xác nhận trước khi kết thúc bài thi.", "error")
        return redirect(url_for("portal.finish_page"))
    exam.finish(current_runtime(), g.candidate.id)
    flash("Bạn đã kết thúc bài thi. Bài làm đã được ghi nhận.", "success")
    return redirect(url_for("portal.exam_home"))


def _rules_text(contest) -> list[str]:
    """The declared rules in Vietnamese, for the start page."""
    from sandbox.kernel import vnformat

    rules = contest.rules or {}
    out = [f"Thời gian làm bài: {contest.duration_minutes} phút, tính từ khi bấm «Bắt đầu làm bài»; "
           "đồng hồ do máy chủ tính, tải lại trang hay đổi máy không làm thay đổi hạn nộp bài."]
    if rules.get("zero_part_fails", True):
        out.append("Phần thi nào bị 0 điểm thì bài thi không đạt (điểm liệt).")
    ratio = rules.get("commendation_min_ratio")
    if ratio:
        out.append(f"Bài thi dưới {vnformat.percent(ratio * 100, 0)} tổng điểm không được xét khen thưởng.")
    out.append("Câu trả lời phần lý thuyết được lưu tự động mỗi lần chọn; hết giờ, bài được nộp tự động.")
    out.append("Nếu mất kết nối, đăng nhập lại ở bất kỳ máy nào để làm tiếp; báo ngay giám khảo phòng thi.")
    return out
