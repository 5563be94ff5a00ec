"""Issue 7, acceptance 3, in Debian's Chromium: a candidate logs in at /thi, starts, answers
theory questions (autosaved at each click), reloads (answers and deadline kept), does a
practical task in the webmail opened as their in-world person, and a second browser context
("another seat") resumes the same candidate, who then finishes and is shown as finished."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sandbox.contest import session as exam
from sandbox.contest import theory
from sandbox.contest.models import Attempt
from tests.contest.portal_factory import make_portal_world

pytestmark = pytest.mark.browser


def _login(page, base: str, number: str, password: str) -> None:
    page.goto(base + "/thi")
    page.fill("#number", number)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_candidate_takes_the_exam_and_resumes_on_another_seat(page, browser, live_server):
    rt = live_server.runtime
    w = make_portal_world(rt, n=1, questions=5, scenario="thi-2024-de-1")
    cid, password = w.candidates["TS001"], w.passwords["TS001"]
    me = w.builds["TS001"].candidate
    base = live_server.url

    _login(page, base, "TS001", password)
    expect(page.locator("h1")).to_contain_text("Cuộc thi đánh giá kỹ năng chuyển đổi số")
    page.click("#begin")
    page.wait_for_url("**/thi/bai-thi")
    deadline = page.locator("#exam-clock .deadline").inner_text()
    expect(page.locator("#exam-clock .left")).to_have_text(re.compile(r"^(60:00|59:\d\d)$"))

    # theory: two answers, each autosaved at the click
    page.click("#go-theory")
    for pos in (1, 2):
        page.locator(f"#cau-{pos} label.option").nth(1).click()
        expect(page.locator(f"#cau-{pos} .save-status")).to_have_text("Đã lưu")
    expect(page.locator("#answered-count")).to_have_text("2")
    chosen = {q.position: q.chosen for q in theory.review(rt, cid).questions if q.chosen}
    assert set(chosen) == {1, 2}
    page.reload()
    expect(page.locator("#cau-1 label.option").nth(1).locator("input")).to_be_checked()
    expect(page.locator("#cau-2 label.option").nth(1).locator("input")).to_be_checked()
    expect(page.locator("#answered-count")).to_have_text("2")
    assert page.locator("#exam-clock .deadline").inner_text() == deadline

    # practical: the webmail opens signed in as the candidate's person; send a mail
    page.click(".exam-bar >> text=Bài thi")
    page.click("#go-practical")
    page.click("#open-mail")
    expect(page.locator(".who")).to_contain_text(me.address)
    page.click("text=Soạn thư")
    page.fill("#f-to", me.address)
    page.fill("#f-subject", "Báo cáo tình hình chuyển đổi số")
    page.fill("#f-body", "Kính gửi đồng chí,\nBáo cáo tình hình thực hiện.\n")
    page.click("button[name=send]")
    expect(page.locator(".flash-success").first).to_contain_text("Đã gửi thư.")
    expect(page.locator(".exam-bar")).to_contain_text("TS001")        # the exam bar on the tool's page

    # another seat: a fresh browser context logs in and continues where the candidate was
    other = browser.new_context()
    try:
        page2 = other.new_page()
        _login(page2, base, "TS001", password)
        page2.wait_for_url("**/thi/bai-thi")
        assert page2.locator("#exam-clock .deadline").inner_text() == deadline
        page2.click("#go-theory")
        expect(page2.locator("#cau-1 label.option").nth(1).locator("input")).to_be_checked()
        page2.locator("#cau-3 label.option").nth(0).click()
        expect(page2.locator("#cau-3 .save-status")).to_have_text("Đã lưu")
        page2.goto(base + "/thi/ket-thuc")
        page2.check("#confirm-finish")
        page2.click("#finish")
        expect(page2.locator("#finished")).to_contain_text("Bạn đã kết thúc bài thi")
        expect(page2.locator("#exam-over")).to_be_visible()
    finally:
        other.close()

    # the first seat sees the finished exam too; its answers are locked
    page.goto(base + "/thi/ly-thuyet")
    expect(page.locator("#cau-1 input").first).to_be_disabled()
    st = exam.state(rt, cid)
    assert st.finished_at is not None and st.theory_submitted
    assert theory.review(rt, cid).answered == 3
    with rt.db.read() as s:
        assert s.scalar(select(Attempt.part).where(Attempt.candidate_id == cid)) == "finished"
