"""The candidate portal through the Flask test client: login (throttled), start page, the
server's clock, theory autosave and review, submission, practical tools opened as the
candidate's person, resuming on another seat, the end of the exam."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from sandbox.kernel.clock import FixedClock, as_utc
from sandbox.contest import session as exam
from sandbox.contest import theory
from sandbox.contest.models import Attempt, Question

from .portal_factory import AT, make_portal_world

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Seat:
    """One browser on one seat (its own cookies)."""

    def __init__(self, app, address="10.0.0.1"):
        self.client = app.test_client()
        self.address = address
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, environ_base={"REMOTE_ADDR": self.address}, **kw)
        m = CSRF_FIELD.search(resp.get_data(as_text=True))
        if m:
            self.token = m.group(1)
        return resp

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get("/thi")
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, environ_base={"REMOTE_ADDR": self.address}, **kw)

    def login(self, number, password):
        self.get("/thi")
        resp = self.post("/thi", {"number": number, "password": password})
        if resp.status_code == 302:
            self.get("/thi/bat-dau")      # a fresh CSRF token for the new session
        return resp


@pytest.fixture
def portal(sqlite_runtime):
    from sandbox.web import create_app
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    world = make_portal_world(rt, n=2, questions=8)
    app = create_app(rt)
    return app, rt, world


def text(resp):
    return resp.get_data(as_text=True)


def test_login_wrong_password_throttled_and_right_one(portal):
    app, rt, w = portal
    seat = Seat(app)
    resp = seat.login("TS001", "sai-mat-khau")
    assert resp.status_code == 401 and "Số báo danh hoặc mật khẩu không đúng." in text(resp)
    resp = seat.client.post("/thi", data={"number": "TS001", "password": w.passwords["TS001"]})
    assert resp.status_code == 400          # no CSRF token: refused
    for _ in range(10):
        seat.login("TS002", "sai")
    resp = seat.login("TS002", "sai")                     # the eleventh wrong one: told to wait, ask the examiner
    assert resp.status_code == 401 and "Đăng nhập sai quá nhiều lần" in text(resp) and "giám thị" in text(resp)
    resp = seat.login("TS002", w.passwords["TS002"])      # the right password still opens (issue 16)
    assert resp.status_code == 302
    resp = seat.login("ts001", w.passwords["TS001"])      # number case does not matter
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/thi/bat-dau")


def test_start_page_clock_and_resume_on_another_seat(portal):
    app, rt, w = portal
    seat = Seat(app, "10.0.0.1")
    seat.login("TS001", w.passwords["TS001"])
    page = text(seat.get("/thi/bat-dau"))
    assert "Bắt đầu làm bài" in page and "Lý thuyết" in page and "Thực hành" in page
    assert "điểm liệt" in page and "60 phút" in page
    assert seat.get("/thi/bai-thi").headers["Location"].endswith("/thi/bat-dau")   # not started yet
    resp = seat.post("/thi/bat-dau")
    assert resp.status_code == 302
    page = text(seat.get("/thi/bai-thi"))
    assert 'data-remaining="3600"' in page and "hạn nộp bài: <span class=\"deadline\">09:00 03/06/2024</span>" in page
    rt.clock.advance(minutes=5)
    page = text(seat.get("/thi/bai-thi"))         # reload: the clock keeps running, deadline unchanged
    assert 'data-remaining="3300"' in page and "09:00 03/06/2024" in page
    # another seat: log in again, press start again: same attempt, same deadline
    other = Seat(app, "10.0.0.99")
    other.login("TS001", w.passwords["TS001"])
    assert other.get("/thi/bat-dau").headers["Location"].endswith("/thi/bai-thi")
    other.post("/thi/bat-dau")
    assert 'data-remaining="3300"' in text(other.get("/thi/bai-thi"))
    with rt.db.read() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == w.candidates["TS001"]))
        assert att.last_seat == "10.0.0.99" and s.scalar(select(Attempt.id).where(Attempt.id != att.id)) is None
    assert exam.state(rt, w.candidates["TS001"]).remaining_seconds == 3300
    # the countdown's poll (every 30 s, from any page) keeps the candidate "seen"
    rt.clock.advance(minutes=1)
    assert seat.get("/thi/trang-thai").get_json() == {"remaining": 3240, "open": True, "finished": False,
                                                      "deadline": "2024-06-03T02:00:00+00:00"}
    with rt.db.read() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == w.candidates["TS001"]))
        assert att.last_seat == "10.0.0.1" and as_utc(att.last_seen) == AT + dt.timedelta(minutes=6)


def test_theory_autosave_without_js_review_and_submit(portal):
    app, rt, w = portal
    cid = w.candidates["TS001"]
    seat = Seat(app)
    seat.login("TS001", w.passwords["TS001"])
    seat.post("/thi/bat-dau")
    page = text(seat.get("/thi/ly-thuyet"))
    paper = theory.review(rt, cid)
    assert page.count('class="question') == 8 and "Lưu câu trả lời" in page
    q1, q2 = paper.questions[0], paper.questions[1]
    # the autosave endpoint (what the page's script posts at every click), with the CSRF header
    resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": q1.question_id, "chosen": [q1.options[2][0]]},
                            headers={"X-CSRFToken": seat.token})
    assert resp.status_code == 200 and resp.get_json()["answered"] == 1
    assert seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": q1.question_id, "chosen": [0]}).status_code == 400
    # without JavaScript: the form's "Lưu câu trả lời" saves every question on the page
    resp = seat.post("/thi/ly-thuyet/luu", {f"q{q1.question_id}": str(q1.options[0][0]),
                                            f"q{q2.question_id}": str(q2.options[1][0])})
    assert resp.status_code == 302
    page = text(seat.get("/thi/ly-thuyet"))
    assert "Đã lưu câu trả lời (2/8 câu đã trả lời)." in page
    assert f'name="q{q1.question_id}" value="{q1.options[0][0]}"\n           checked' in page
    review = text(seat.get("/thi/ly-thuyet/xem-lai"))
    assert 'id="unanswered-count">6<' in review and "còn 6 câu chưa trả lời" in review
    # submitting needs the confirmation
    resp = seat.post("/thi/ly-thuyet/nop", {})
    assert resp.headers["Location"].endswith("/thi/ly-thuyet/xem-lai")
    resp = seat.post("/thi/ly-thuyet/nop", {"confirm": "1"})
    assert resp.status_code == 302
    page = text(seat.get("/thi/bai-thi"))
    assert "Đã nộp bài lý thuyết" in page and "Đã nộp" in page
    resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": q1.question_id, "chosen": []},
                            headers={"X-CSRFToken": seat.token})
    assert resp.status_code == 403 and "đã nộp" in resp.get_json()["error"]


def test_after_the_deadline_the_portal_refuses_and_auto_submits(portal):
    app, rt, w = portal
    cid = w.candidates["TS002"]
    seat = Seat(app)
    seat.login("TS002", w.passwords["TS002"])
    seat.post("/thi/bat-dau")
    seat.get("/thi/ly-thuyet")
    q = theory.review(rt, cid).questions[0]
    with rt.db.read() as s:
        correct = s.get(Question, q.question_id).correct
    seat.post("/thi/ly-thuyet/luu", {f"q{q.question_id}": [str(c) for c in correct]})
    rt.clock.advance(minutes=60)
    resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": q.question_id, "chosen": []},
                            headers={"X-CSRFToken": seat.token})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa."
    resp = seat.post("/thi/ly-thuyet/luu", {f"q{q.question_id}": "0"}, headers={"Referer": "/thi/ly-thuyet"})
    assert resp.status_code == 302
    page = text(seat.get("/thi/ly-thuyet"))
    assert "Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa." in page
    assert "tự động khi hết giờ" in page and "disabled" in page
    assert theory.score(rt, cid) == pytest.approx(60 / 8, abs=1e-3)
    assert 'id="finished"' in text(seat.get("/thi/bai-thi"))


def test_finish_and_practical_without_a_sandbox(portal):
    app, rt, w = portal
    seat = Seat(app)
    seat.login("TS001", w.passwords["TS001"])
    seat.post("/thi/bat-dau")
    page = text(seat.get("/thi/thuc-hanh"))
    assert "chưa được chuẩn bị" in page
    resp = seat.get("/thi/thuc-hanh/mo/mail")
    assert resp.headers["Location"].endswith("/thi/thuc-hanh")
    assert seat.post("/thi/ket-thuc", {}).headers["Location"].endswith("/thi/ket-thuc")
    seat.post("/thi/ket-thuc", {"confirm": "1"})
    page = text(seat.get("/thi/bai-thi"))
    assert "Bạn đã kết thúc bài thi lúc 08:00 03/06/2024" in page
    assert exam.state(rt, w.candidates["TS001"]).theory_submitted
