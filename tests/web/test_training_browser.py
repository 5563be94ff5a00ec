"""Issue 8, acceptance 5 in Debian's Chromium: a trainer's board updates as two trainees work.
Each trainee joins with the class code, sends the drill's mail in the webmail and checks it
("Kiểm tra"); the trainer's board (reloading itself) shows one passed, one failed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from grader.state import SandboxState
from sandbox.training import api as training
from sandbox.kernel.clock import FixedClock
from sandbox.contest.api import add_admin

pytestmark = pytest.mark.browser

MINIMAL = str(Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml")
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def join_and_send(page, url: str, name: str, rt, info, to: str | None) -> None:
    page.goto(url + "/luyen-tap/tham-gia?ma=" + info.join_code)
    page.fill("#name", name)
    page.click("button[type=submit]")
    expect(page.locator("#joined h1")).to_contain_text(f"Chào {name}")
    page.click("#start")
    me = next(t for t in training.trainees(rt, info.id) if t["name"] == name)
    login = training.logins(rt, me["id"])[0]
    values = SandboxState(rt, rt.mail_login(login.login, login.password, None).sandbox_id).values
    page.click("nav.tools >> text=Thư điện tử")
    page.click("text=Soạn thư")
    page.fill("#f-to", to or values["recipient"]["email"])
    page.fill("#f-subject", values["subject"])
    page.fill("#f-body", "Kính gửi đồng chí,\nĐề nghị tổng hợp danh sách dự thi.\n")
    page.click("button[name=send]")
    expect(page.locator(".flash-success, .flash-info").first).to_be_visible()
    page.click("nav.tools >> text=Đề bài")
    page.click("button:has-text('Kiểm tra bài làm')")


def test_board_updates_as_two_trainees_work(browser, live_server):
    rt = live_server.runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    info, _ = training.create_class(rt, "Lớp Ninh Kiều", [MINIMAL], code="NK-01", actor="gv01")
    add_admin(rt, "gv01", "Phạm Giảng Viên", "trainer", "matkhau-gv01")

    board = browser.new_context().new_page()
    board.goto(live_server.url + "/quan-tri/dang-nhap")
    board.fill("#login", "gv01")
    board.fill("#password", "matkhau-gv01")
    board.click("button[type=submit]")
    board.goto(f"{live_server.url}/quan-tri/luyen-tap/{info.id}?lam-moi=2")
    expect(board.locator("#board-1")).to_contain_text("Chưa có học viên.")

    an = browser.new_context().new_page()
    join_and_send(an, live_server.url, "Nguyễn Văn An", rt, info, to=None)
    expect(an.locator("#ket-qua")).to_contain_text("Kết quả kiểm tra: 10/10 điểm")
    expect(an.locator("#ket-qua tr.verdict-pass").first).to_contain_text("Đạt")
    row_an = board.locator("#board-1 tr[data-trainee='1']")
    expect(row_an.locator("td[data-criterion='M1']")).to_have_text("Đạt", timeout=20000)
    expect(row_an.locator("td[data-criterion='M2']")).to_have_text("Đạt")

    binh = browser.new_context().new_page()
    join_and_send(binh, live_server.url, "Trần Thị Bình", rt, info, to="vanthu@snv.cantho.test")
    expect(binh.locator("#ket-qua")).to_contain_text("Kết quả kiểm tra: 0/10 điểm")
    row_binh = board.locator("#board-1 tr[data-trainee='2']")
    expect(row_binh.locator("td[data-criterion='M1']")).to_have_text("Chưa đạt", timeout=20000)
    expect(board.locator("#mistakes")).to_contain_text("M1. Thư gửi đúng người nhận chính")
    expect(row_an.locator("td[data-criterion='M1']")).to_have_text("Đạt")
