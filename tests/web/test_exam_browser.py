"""Issue 6, acceptance 3: one exam set's golden path done in Debian's Chromium through the
UI (webmail, document workflow, signing dialog, tracking page) scores full marks."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from grader.engine import grade
from grader.state import SandboxState
from sandbox.kernel.clock import FixedClock
from scenarios.build import build, instance_of
from scenarios.library import load
from signing import api as signing_api

pytestmark = pytest.mark.browser

START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_exam_2022_golden_path_in_the_browser_scores_full_marks(page, live_server, tmp_path):
    rt = live_server.runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    loaded = load("thi-2022-de-1")
    res = build(rt, loaded, 1, "ts001")
    v, me = res.values, res.candidate
    with rt.db.read() as s:
        anchors = instance_of(s, res.sandbox_id).anchors
        own_token = next(t.id for t in signing_api.certificates_for(s, res.sandbox_id, me.address)
                         if t.owner == me.address)
    people = {p.id: p for p in loaded.scenario.world.people}

    # log in: a candidate lands on the task sheet
    page.context.clear_cookies()
    page.goto(live_server.url + "/login")
    page.fill("#login", me.address)
    page.fill("#password", me.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/de-bai")
    expect(page.locator("ol.tasks")).to_contain_text(v["subject"]["text"])

    # 1. the e-mail: download the requested file from the Director's mail, attach it, CC the office
    page.click("nav.tools >> text=Thư điện tử")
    page.locator("td.subject a", has_text="tổng hợp danh sách tham gia").first.click()
    with page.expect_download() as dl:
        page.click(f"text={v['attachment']}")
    saved = tmp_path / v["attachment"]
    dl.value.save_as(saved)
    page.click("text=Soạn thư")
    page.fill("#f-to", v["recipient"]["email"])
    page.fill("#f-cc", people["chanhvp"].email)
    page.fill("#f-subject", v["subject"]["text"])
    page.fill("#f-body", "Kính gửi đồng chí,\nĐề nghị đồng chí chỉ đạo tổng hợp danh sách công chức dự thi.\n")
    page.set_input_files("#f-files", files=[str(saved)])
    page.click("button[name=send]")
    expect(page.locator(".flash-success, .flash-info").first).to_be_visible()

    # 2. the directive and forwarding of the incoming plan
    units = anchors["units"]
    page.click("nav.tools >> text=Văn bản")
    page.click(f"tr[data-doc='{anchors['incoming']['kh98']['incoming_id']}'] td.summary a")
    page.fill("#directive", f"Giao {v['routing']['lead_name']} chủ trì triển khai Kế hoạch.")
    deadline = v["deadline"].isoformat()
    page.select_option(f"#role_u{units[v['routing']['lead']]}", "xlc")
    page.fill(f"#deadline_u{units[v['routing']['lead']]}", deadline)
    page.select_option(f"#role_u{units[v['routing']['support']]}", "ph")
    page.fill(f"#deadline_u{units[v['routing']['support']]}", deadline)
    page.select_option(f"#role_u{units['vp']}", "db")
    page.click("button:has-text('Bút phê và chuyển xử lý')")
    expect(page.locator(".flash-success")).to_contain_text("Đã bút phê và chuyển xử lý")

    # 3. sign the draft with the candidate's own certificate (the specialist's is also listed)
    page.click(".df-side >> text=Dự thảo chờ ký")
    page.click(f"tr[data-doc='{anchors['drafts']['cv_cu_thi']['outgoing_id']}'] td.summary a")
    page.check(f"#cert-{own_token}")
    page.fill("#signing-pin", me.pin)
    page.click("button:has-text('Ký số dự thảo')")
    expect(page.locator("#doc-status")).to_have_text("Lãnh đạo đã ký số")
    page.click("button[name=forward]")
    expect(page.locator("#doc-status")).to_have_text("Đã gửi")

    # 4. the status check: look at the tracking page, then report the overdue unit by mail
    page.click(".df-side >> text=Theo dõi")
    expect(page.locator("h1")).to_contain_text("Theo dõi tình hình xử lý văn bản")
    expect(page.locator("body")).to_contain_text(v["kiem_tra"]["symbol"])
    page.click("nav.tools >> text=Thư điện tử")
    page.click("text=Soạn thư")
    page.fill("#f-to", people["chanhvp"].email)
    page.fill("#f-subject", f"Tình hình xử lý văn bản {v['kiem_tra']['symbol']}")
    page.fill("#f-body", f"{v['kiem_tra']['unit_name']} đang quá hạn xử lý văn bản này.\n")
    page.click("button[name=send]")
    expect(page.locator(".flash-success, .flash-info").first).to_be_visible()

    report = grade(SandboxState(rt, res.sandbox_id), loaded.scenario)
    lost = [(c["id"], c["message"], c.get("detail")) for c in report["criteria"] if c["verdict"] != "pass"]
    assert report["total"] == 55, lost
