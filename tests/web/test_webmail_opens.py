"""The webmail records a clicked link or a downloaded attachment (the evidence of the
information-security tasks): links never leave the sandbox, the click is kept."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailserver import api as mail_api
from tests.factories import make_world, minimal_pdf

from .conftest import folder_rows, login, send

PHISH_HTML = '<p>Hộp thư sắp bị khoá. <a href="http://cantho-gov-vn.example/xac-minh">Xác minh ngay</a></p>'


def _opens(rt, ref):
    with mail_api.open_view(rt.db, ref) as view:
        return [(o.kind, o.target, o.subject) for o in view.opens()]


def test_plain_text_links_go_through_the_link_page_and_are_recorded(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Xác minh mật khẩu",
         body="Bấm vào http://cantho-gov-vn.example/xac-minh?id=1 để xác minh.\n",
         attachments=[("hoa-don.pdf", "application/pdf", minimal_pdf())])
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    web.login(world["lanhdao"])
    page = web.get(f"/mail/message/{item_id}").get_data(as_text=True)
    assert f'href="/mail/message/{item_id}/link?u=http://cantho-gov-vn.example/xac-minh?id%3D1"' in page
    assert _opens(web.rt, world["lanhdao"]) == []  # reading the mail is not opening its link
    resp = web.get(f"/mail/message/{item_id}/link?u=http://cantho-gov-vn.example/xac-minh?id%3D1")
    assert resp.status_code == 200 and "Máy thi không kết nối Internet" in resp.get_data(as_text=True)
    web.get(f"/mail/message/{item_id}/part/2")
    assert _opens(web.rt, world["lanhdao"]) == [
        ("link", "http://cantho-gov-vn.example/xac-minh?id=1", "Xác minh mật khẩu"),
        ("attachment", "hoa-don.pdf", "Xác minh mật khẩu")]
    assert web.get(f"/mail/message/{item_id}/link?u=javascript:alert(1)").status_code == 404
    assert _opens(web.rt, world["truongphong"]) == []


@pytest.mark.browser
def test_clicking_a_link_in_an_html_mail_opens_the_link_page(page, live_server, mail_world):
    rt = live_server.runtime
    send(rt, mail_world["vanthu"], [mail_world["lanhdao"]], subject="[KHẨN] Xác minh hộp thư", html=PHISH_HTML)
    item_id = folder_rows(rt, mail_world["lanhdao"])[0]["id"]
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.goto(f"{live_server.url}/mail/message/{item_id}")
    page.frame_locator("iframe.body-html").get_by_text("Xác minh ngay").click()
    expect(page.locator("h1")).to_have_text("Không mở được trang này")
    assert _opens(rt, mail_world["lanhdao"]) == [("link", "http://cantho-gov-vn.example/xac-minh",
                                                  "[KHẨN] Xác minh hộp thư")]


def test_a_closed_sandbox_still_shows_mail_and_records_nothing(web):
    """After the deadline (or in an examiner's read-only copy) reading works; opening a mail,
    a link or a file records nothing and changes nothing."""
    from datetime import datetime, timezone

    from sandbox.kernel.sandboxes import set_closing_time

    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Giấy mời họp",
         body="Xem tại http://cantho-gov-vn.example/a\n", attachments=[("giay-moi.pdf", "application/pdf", minimal_pdf())])
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    web.login(world["lanhdao"])
    set_closing_time(web.rt.db, world.sandbox_id, datetime(2000, 1, 1, tzinfo=timezone.utc))
    page = web.get(f"/mail/message/{item_id}")
    assert page.status_code == 200 and "Giấy mời họp" in page.get_data(as_text=True)
    assert web.get(f"/mail/message/{item_id}/link?u=http://cantho-gov-vn.example/a").status_code == 200
    assert web.get(f"/mail/message/{item_id}/part/2").status_code == 200
    assert "\\Seen" not in folder_rows(web.rt, world["lanhdao"])[0]["flags"]
    assert _opens(web.rt, world["lanhdao"]) == []
