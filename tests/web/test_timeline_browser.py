"""Issue 8, acceptance 3: in Debian's Chromium an examiner opens a candidate's timeline,
steps to the moment before the signature and sees the unsigned draft, steps on and sees the
verifier's report; the candidate's pages open read-only on the replayed copy."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sandbox.kernel.clock import FixedClock
from sandbox.contest.api import add_admin
from scenarios.library import load
from tests.scenarios.harness import START, Candidate
from tests.scenarios.test_exam_sets import SETS

pytestmark = pytest.mark.browser


def test_examiner_steps_through_a_session(page, live_server):
    rt = live_server.runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    c = Candidate(rt, load("thi-2022-de-1"), 2, "ts002")
    spec = SETS["thi-2022-de-1"]
    c.send([c.v["recipient"]["email"]], c.v["subject"]["text"], spec.body)
    c.sign(spec.draft, forward=True)
    add_admin(rt, "giamkhao1", "Nguyễn Thị Giám Khảo", "examiner", "GiamKhao@2026")

    page.context.clear_cookies()
    page.goto(live_server.url + "/quan-tri/dang-nhap")
    page.fill("input[name=login]", "giamkhao1")
    page.fill("input[name=password]", "GiamKhao@2026")
    page.click("button[type=submit]")
    page.goto(live_server.url + "/quan-tri/phat-lai/ts002")
    expect(page.locator("h1")).to_contain_text("Dòng thời gian bài làm: ts002")
    sign_row = page.locator("tr[data-action='docflow.leader_signed']")
    expect(sign_row).to_contain_text("Ký số dự thảo bằng chứng thư Nguyễn Thanh Tùng")
    expect(sign_row).to_contain_text("S1")
    expect(page.locator("tr[data-action='mail.submit']")).to_contain_text("Gửi thư tới")

    # the step before the signature: the draft is there, unsigned
    before = page.locator("tr[data-action='docflow.leader_signed']").locator("xpath=preceding-sibling::tr[1]")
    before.get_by_text("Xem tại bước này").click()
    expect(page.locator("article.draft .doc-status")).to_have_text("Đã trình lãnh đạo")
    expect(page.locator("article.draft .no-signature")).to_be_visible()

    # one step on: the signature and the verifier's report
    page.click("#next-step")
    expect(page.locator("#step-action")).to_contain_text("Ký số dự thảo")
    expect(page.locator("article.draft")).to_contain_text("SigLanhDao")
    expect(page.locator("article.draft")).to_contain_text("Nguyễn Thanh Tùng")

    # the candidate's own pages, read-only, on the copy
    page.click("text=Mở các trang của thí sinh (chỉ xem)")
    page.wait_for_url("**/de-bai")
    expect(page.locator("ol.tasks")).to_be_visible()
