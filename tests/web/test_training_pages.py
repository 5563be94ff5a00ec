"""Drill classes on the web (Flask test client): the trainer's form and board, joining by code
(CSRF, Vietnamese messages, a wrong code refused clearly), the trainer's reset followed by
the trainee's session."""
from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest

from mailserver import api as mail_api
from sandbox.training import api as training
from sandbox.kernel.clock import FixedClock
from tests.factories import make_message

from .conftest import CSRF_FIELD

MINIMAL = str(Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml")
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture
def app(sqlite_runtime):
    from sandbox.web import create_app

    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(START)
    return create_app(sqlite_runtime)


def token(client, url: str) -> str:
    return CSRF_FIELD.search(client.get(url).get_data(as_text=True)).group(1)


def trainer(app, role: str = "trainer", login: str = "gv01"):
    from sandbox.contest.api import add_admin

    rt = app.extensions["sandbox_runtime"]
    add_admin(rt, login, "Phạm Giảng Viên", role, "matkhau-gv01")
    client = app.test_client()
    resp = client.post("/quan-tri/dang-nhap", data={"csrf_token": token(client, "/quan-tri/dang-nhap"),
                                                   "login": login, "password": "matkhau-gv01"})
    assert resp.status_code == 302
    return client


def text(resp) -> str:
    page = resp.get_data(as_text=True)
    assert unicodedata.is_normalized("NFC", page)
    return page


def test_trainer_creates_a_class_from_the_form(app):
    gv = trainer(app)
    assert gv.get("/quan-tri/").headers["Location"].endswith("/quan-tri/luyen-tap")  # a trainer starts here
    page = text(gv.get("/quan-tri/luyen-tap"))
    assert "Tạo lớp mới" in page and "luyen-gui-thu-cc-bcc" in page and "thi-2024-de-1" in page
    csrf = CSRF_FIELD.search(page).group(1)

    refused = gv.post("/quan-tri/luyen-tap", data={"csrf_token": csrf, "name": "Lớp Phong Điền", "use_code": "1"})
    assert refused.status_code == 400 and "Hãy chọn ít nhất một bài luyện hoặc một đề thi." in text(refused)
    assert 'value="Lớp Phong Điền"' in text(refused)  # what was typed is kept
    bad_code = gv.post("/quan-tri/luyen-tap", data={"csrf_token": csrf, "name": "Lớp Phong Điền", "use_code": "1",
                                                   "drill": "luyen-gui-thu-cc-bcc", "code": "mã sai"})
    assert bad_code.status_code == 400 and "Mã tham gia chỉ gồm chữ cái không dấu" in text(bad_code)
    no_csrf = gv.post("/quan-tri/luyen-tap", data={"name": "Lớp Phong Điền", "drill": "luyen-gui-thu-cc-bcc"})
    assert no_csrf.status_code == 400 and "Biểu mẫu đã hết hạn" in text(no_csrf)

    made = gv.post("/quan-tri/luyen-tap", data={"csrf_token": csrf, "name": "Lớp Phong Điền", "use_code": "1",
                                               "drill": "luyen-gui-thu-cc-bcc", "code": "pd-01"},
                   follow_redirects=True)
    board = text(made)
    assert made.status_code == 200 and "Đã tạo lớp «Lớp Phong Điền» với mã tham gia PD-01" in board
    assert "Bảng theo dõi: lớp «Lớp Phong Điền»" in board and "Chưa có học viên." in board
    assert 'http-equiv="refresh"' in board


def test_board_is_for_trainers_only(app):
    rt = app.extensions["sandbox_runtime"]
    info, _ = training.create_class(rt, "Lớp Thốt Nốt", [MINIMAL], code="TN01")
    anon = app.test_client().get(f"/quan-tri/luyen-tap/{info.id}")
    assert anon.status_code == 302 and "/quan-tri/dang-nhap" in anon.headers["Location"]
    examiner = trainer(app, "examiner", "gk01")
    assert examiner.get(f"/quan-tri/luyen-tap/{info.id}").status_code == 403
    assert text(trainer(app).get("/quan-tri/luyen-tap/999")).count("Không tìm thấy lớp luyện tập") == 1


def test_join_by_code_board_and_reset(app):
    rt = app.extensions["sandbox_runtime"]
    info, _ = training.create_class(rt, "Lớp Cờ Đỏ", [MINIMAL], code="CD-26")
    hv = app.test_client()
    page = text(hv.get("/luyen-tap/tham-gia?ma=CD-26"))
    assert "Tham gia lớp luyện tập" in page and 'value="CD-26"' in page
    csrf = CSRF_FIELD.search(page).group(1)

    wrong = hv.post("/luyen-tap/tham-gia", data={"csrf_token": csrf, "code": "cd-27", "name": "Nguyễn Văn An"})
    assert wrong.status_code == 400
    assert "Mã tham gia «CD-27» không đúng. Hãy kiểm tra lại mã do giảng viên cung cấp." in text(wrong)
    no_name = hv.post("/luyen-tap/tham-gia", data={"csrf_token": csrf, "code": "CD-26", "name": " "})
    assert no_name.status_code == 400 and "Hãy nhập họ và tên." in text(no_name)
    no_csrf = hv.post("/luyen-tap/tham-gia", data={"code": "CD-26", "name": "Nguyễn Văn An"})
    assert no_csrf.status_code == 400 and "Biểu mẫu đã hết hạn" in text(no_csrf)
    assert training.trainees(rt, info.id) == []

    joined = hv.post("/luyen-tap/tham-gia", data={"csrf_token": csrf, "code": "cd-26", "name": "Nguyễn Văn An"})
    page = text(joined)
    assert joined.status_code == 200 and joined.headers["Cache-Control"] == "no-store"
    login = training.logins(rt, training.trainees(rt, info.id)[0]["id"])[0]
    assert "bạn đã vào lớp «Lớp Cờ Đỏ»" in page and login.login in page and login.password in page
    sheet = text(hv.get("/de-bai"))  # logged straight in
    assert "Bài luyện: gửi thư có đồng gửi" in sheet and "Kiểm tra bài làm" in sheet
    again = hv.post("/luyen-tap/tham-gia", data={"csrf_token": token(hv, "/luyen-tap/tham-gia"), "code": "CD-26", "name": "Nguyễn Văn An"})
    assert again.status_code == 400 and "Trong lớp đã có học viên «Nguyễn Văn An»" in text(again)

    gv = trainer(app)
    board = text(gv.get(f"/quan-tri/luyen-tap/{info.id}"))
    assert "1. Nguyễn Văn An" in board and board.count(">Chưa làm<") == 2

    # the trainee sends the mail; the board shows it passed
    from grader.state import SandboxState
    ref = rt.mail_login(login.login, login.password, None)
    v = SandboxState(rt, ref.sandbox_id).values
    rcpt = v["recipient"]["email"]
    mail_api.submit(rt.dispatcher, rt.blobs, ref, make_message(login.address, [rcpt], subject=v["subject"]), [rcpt],
                    via="webmail")
    board = text(gv.get(f"/quan-tri/luyen-tap/{info.id}"))
    assert board.count(">Đạt<") == 2 and "10/10" in board

    # the trainer resets the trainee: recorded, and the trainee's session follows to the fresh attempt
    csrf_gv = CSRF_FIELD.search(board).group(1)
    trainee_id = training.trainees(rt, info.id)[0]["id"]
    done = gv.post(f"/quan-tri/luyen-tap/{info.id}/dat-lai",
                   data={"csrf_token": csrf_gv, "trainee_id": trainee_id, "position": "1"}, follow_redirects=True)
    page = text(done)
    assert "Đã đặt lại bài 1 của Nguyễn Văn An về trạng thái ban đầu" in page
    assert "gv01 đặt lại bài 1 của 1. Nguyễn Văn An" in page and page.count(">Chưa làm<") == 2
    followed = text(hv.get("/de-bai"))
    assert "Giảng viên (gv01) đã đặt lại bài luyện" in followed
    checked = hv.post("/de-bai/kiem-tra", data={"csrf_token": CSRF_FIELD.search(followed).group(1)})
    assert "Kết quả kiểm tra: 0/10 điểm" in text(checked)
    bad_reset = gv.post(f"/quan-tri/luyen-tap/{info.id}/dat-lai", data={"csrf_token": csrf_gv, "trainee_id": "x"},
                        headers={"Referer": f"/quan-tri/luyen-tap/{info.id}"}, follow_redirects=True)
    assert "Yêu cầu đặt lại không hợp lệ." in text(bad_reset)


def test_roster_logins_and_drill_switching(app):
    rt = app.extensions["sandbox_runtime"]
    gv = trainer(app)
    info, joined = training.create_class(rt, "Lớp Vĩnh Thạnh", [MINIMAL, "luyen-gui-thu-cc-bcc"], use_code=False,
                                         roster=[("Trần Thị Bình", "binh@example.vn")], actor="gv01")
    page = text(gv.get(f"/quan-tri/luyen-tap/{info.id}/dang-nhap"))
    assert "Trần Thị Bình" in page and joined[0].logins[1].password in page
    csrf = CSRF_FIELD.search(page).group(1)
    bad = gv.post(f"/quan-tri/luyen-tap/{info.id}/dang-nhap", data={"csrf_token": csrf, "roster": "Lê Văn C"})
    assert bad.status_code == 400 and "Dòng 1 của danh sách học viên cần có họ tên và thư điện tử" in text(bad)

    hv = app.test_client()
    first = joined[0].logins[0]
    hv.post("/login", data={"csrf_token": token(hv, "/login"), "login": first.login, "password": first.password})
    mine = text(hv.get("/luyen-tap"))
    assert "Lớp «Lớp Vĩnh Thạnh»" in mine and "Mở bài này" in mine
    moved = hv.post("/luyen-tap/bai/2", data={"csrf_token": CSRF_FIELD.search(mine).group(1)}, follow_redirects=True)
    assert "Đã chuyển sang bài luyện đã chọn." in text(moved)
    assert text(hv.get("/luyen-tap")).count("(đang làm)") == 1
    ref = rt.mail_login(joined[0].logins[1].login, joined[0].logins[1].password, None)
    with hv.session_transaction() as sess:
        assert sess["sandbox_id"] == ref.sandbox_id
