"""The webmail in Debian's Chromium: what a candidate does with official mail, checked both
on screen and in the store (through MailView)."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import minimal_pdf

from .conftest import attachment_bytes, folder_rows, login, send

pytestmark = pytest.mark.browser

PDF_NAME = "Công văn số 12 về chuyển đổi số.pdf"
SUBJECT = "Công văn số 12 về chuyển đổi số"


def pdf_upload(name: str = PDF_NAME) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": minimal_pdf()}


def open_message(page, subject: str) -> None:
    page.locator("td.subject a", has_text=subject).first.click()
    expect(page.locator("h1.subject")).to_have_text(subject)


def test_leader_sends_to_two_recipients_with_cc_and_vietnamese_attachment(page, live_server, mail_world):
    rt = live_server.runtime
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Soạn thư")
    page.fill("#f-to", "truongphong@cantho.gov.vn; ")
    page.locator("#f-to").press_sequentially("chanh")  # the address suggestions from the world's directory
    page.click(".suggest li >> text=Phạm Thị Hoa")
    expect(page.locator("#f-to")).to_have_value("truongphong@cantho.gov.vn; Phạm Thị Hoa <chanhvanphong@cantho.gov.vn>, ")
    page.fill("#f-cc", "vanthu@cantho.gov.vn")
    page.fill("#f-subject", SUBJECT)
    page.fill("#f-body", "Kính gửi các đồng chí,\nĐề nghị triển khai công văn đính kèm.\n")
    page.set_input_files("#f-files", files=[pdf_upload()])
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")

    for key in ("truongphong", "chanhvp", "vanthu"):
        (row,) = folder_rows(rt, mail_world[key])
        assert row["subject"] == SUBJECT
        assert row["headers"]["from"] == [("Nguyễn Văn An", "lanhdao@cantho.gov.vn")]
        assert [a for _, a in row["headers"]["to"]] == ["truongphong@cantho.gov.vn", "chanhvanphong@cantho.gov.vn"]
        assert [a for _, a in row["headers"]["cc"]] == ["vanthu@cantho.gov.vn"]
        assert row["headers"]["date"].utcoffset().total_seconds() == 7 * 3600
        assert row["headers"]["message_id"].endswith("@cantho.gov.vn>")
        assert attachment_bytes(row, PDF_NAME) == minimal_pdf()
    (sent,) = folder_rows(rt, mail_world["lanhdao"], "\\Sent")
    assert sent["subject"] == SUBJECT

    for address in ("truongphong@cantho.gov.vn", "chanhvanphong@cantho.gov.vn", "vanthu@cantho.gov.vn"):
        login(page, live_server.url, address)
        expect(page.locator("tr.unread td.subject a")).to_have_text(SUBJECT)
        expect(page.locator(".folders a.active .badge")).to_have_text("1")
        open_message(page, SUBJECT)
        expect(page.locator(".headers")).to_contain_text("Nguyễn Văn An <lanhdao@cantho.gov.vn>")
        with page.expect_download() as download_info:
            page.click(f"text={PDF_NAME}")
        download = download_info.value
        assert download.suggested_filename == PDF_NAME
        assert Path(download.path()).read_bytes() == minimal_pdf()
    assert "\\Seen" in folder_rows(rt, mail_world["vanthu"])[0]["flags"]


def test_recipient_replies_to_all_and_the_thread_is_kept(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    original = send(rt, w["lanhdao"], [w["truongphong"], w["chanhvp"]], cc=[w["vanthu"]], subject="Lịch họp giao ban",
                    body="Đề nghị các đồng chí dự họp lúc 8 giờ.\n")
    login(page, live_server.url, "truongphong@cantho.gov.vn")
    open_message(page, "Lịch họp giao ban")
    page.click("text=Trả lời tất cả")
    expect(page.locator("#f-to")).to_have_value("Nguyễn Văn An <lanhdao@cantho.gov.vn>")
    cc = page.locator("#f-cc").input_value()
    assert "chanhvanphong@cantho.gov.vn" in cc and "vanthu@cantho.gov.vn" in cc and "truongphong" not in cc
    expect(page.locator("#f-subject")).to_have_value("Re: Lịch họp giao ban")
    quoted = page.locator("#f-body").input_value()
    assert "> Đề nghị các đồng chí dự họp lúc 8 giờ." in quoted
    page.fill("#f-body", "Tôi sẽ dự họp đúng giờ.\n" + quoted)
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")

    (reply,) = [r for r in folder_rows(rt, w["lanhdao"]) if r["subject"] == "Re: Lịch họp giao ban"]
    assert reply["headers"]["in_reply_to"] == original["message_id"]
    assert original["message_id"] in reply["headers"]["references"]
    for key in ("chanhvp", "vanthu"):
        assert [r["subject"] for r in folder_rows(rt, w[key])] == ["Re: Lịch họp giao ban", "Lịch họp giao ban"]
    assert "\\Answered" in folder_rows(rt, w["truongphong"])[0]["flags"]

    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    open_message(page, "Re: Lịch họp giao ban")
    page.click("text=Trả lời")
    expect(page.locator("#f-subject")).to_have_value("Re: Lịch họp giao ban")


def test_forward_carries_the_original_attachments(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    send(rt, w["vanthu"], [w["lanhdao"]], subject="Công văn đến số 45", body="Văn thư chuyển công văn đến.\n",
         attachments=[(PDF_NAME, "application/pdf", minimal_pdf())])
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    open_message(page, "Công văn đến số 45")
    page.click("text=Chuyển tiếp")
    expect(page.locator("#f-subject")).to_have_value("Fwd: Công văn đến số 45")
    expect(page.get_by_label(PDF_NAME)).to_be_checked()
    page.fill("#f-to", "truongphong@cantho.gov.vn")
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")

    (forwarded,) = folder_rows(rt, w["truongphong"])
    assert forwarded["subject"] == "Fwd: Công văn đến số 45"
    assert "Thư chuyển tiếp" in forwarded["parts"]["text"]
    assert "Văn thư chuyển công văn đến." in forwarded["parts"]["text"]
    assert attachment_bytes(forwarded, PDF_NAME) == minimal_pdf()


def test_mistyped_address_bounces_into_the_senders_inbox(page, live_server, mail_world):
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Soạn thư")
    page.fill("#f-to", "truongphng@cantho.gov.vn")
    page.fill("#f-subject", "Báo cáo tuần")
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")
    expect(page.locator(".flash-warning")).to_contain_text("truongphng@cantho.gov.vn")
    open_message(page, "Không gửi được thư: Báo cáo tuần")
    expect(page.locator("pre.body-text")).to_contain_text("truongphng@cantho.gov.vn")
    assert folder_rows(live_server.runtime, mail_world["truongphong"]) == []


def test_failed_send_keeps_what_was_typed_and_the_uploaded_file(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Soạn thư")
    page.fill("#f-to", "doitac@gmail.com")
    page.fill("#f-subject", SUBJECT)
    page.fill("#f-body", "Nội dung quan trọng.\n")
    page.set_input_files("#f-files", files=[pdf_upload()])
    page.click("button[name=send]")
    expect(page.locator(".flash-error")).to_contain_text("Không gửi được tới địa chỉ ngoài hệ thống: doitac@gmail.com")
    expect(page.locator("#f-to")).to_have_value("doitac@gmail.com")
    expect(page.locator("#f-subject")).to_have_value(SUBJECT)
    expect(page.locator("#f-body")).to_have_value("Nội dung quan trọng.\n")
    expect(page.get_by_label(PDF_NAME)).to_be_checked()

    page.fill("#f-to", "truongphong@cantho.gov.vn")
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")
    (row,) = folder_rows(rt, w["truongphong"])
    assert attachment_bytes(row, PDF_NAME) == minimal_pdf()
    assert folder_rows(rt, w["lanhdao"], "\\Drafts") == []


def test_search_ignores_case_of_vietnamese_letters(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    send(rt, w["vanthu"], [w["lanhdao"]], subject="Công văn số 7 về lịch tiếp dân")
    send(rt, w["truongphong"], [w["lanhdao"]], subject="Giấy mời dự hội nghị")
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    expect(page.locator("td.subject a")).to_have_count(2)
    page.fill("input[name=q]", "CÔNG VĂN")
    page.press("input[name=q]", "Enter")
    expect(page.locator("td.subject a")).to_have_text(["Công văn số 7 về lịch tiếp dân"])
    expect(page.locator(".pager")).to_contain_text("Trang 1/1")


def test_move_to_own_folder_then_delete_to_trash(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    send(rt, w["vanthu"], [w["lanhdao"]], subject="Hồ sơ dự án chuyển đổi số")
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Quản lý thư mục")
    page.fill("#new-folder", "Dự án CĐS")
    page.click("text=Tạo thư mục")
    expect(page.locator(".flash-success")).to_have_text("Đã tạo thư mục «Dự án CĐS».")

    page.click(".folders >> text=Hộp thư đến")
    page.get_by_label("Chọn thư: Hồ sơ dự án chuyển đổi số").check()
    page.select_option(".list-form select[name=target]", label="Dự án CĐS")
    page.click(".list-form button[value=move]")
    expect(page.locator(".flash-success")).to_have_text("Đã chuyển 1 thư vào «Dự án CĐS».")
    expect(page.locator("td.subject a")).to_have_count(0)
    assert [r["subject"] for r in folder_rows(rt, w["lanhdao"], name="Dự án CĐS")] == ["Hồ sơ dự án chuyển đổi số"]

    page.click(".folders >> text=Dự án CĐS")
    open_message(page, "Hồ sơ dự án chuyển đổi số")
    page.click("article button[value=delete]")
    expect(page.locator(".flash-success")).to_have_text("Đã chuyển 1 thư vào Thùng rác.")
    page.click(".folders >> text=Thùng rác")
    expect(page.locator("td.subject a")).to_have_text(["Hồ sơ dự án chuyển đổi số"])
    assert folder_rows(rt, w["lanhdao"], name="Dự án CĐS") == []
    assert len(folder_rows(rt, w["lanhdao"], "\\Trash")) == 1


def test_draft_round_trip_with_bcc_and_attachment(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Soạn thư")
    page.fill("#f-to", "truongphong@cantho.gov.vn")
    page.fill("#f-bcc", "chanhvanphong@cantho.gov.vn")
    page.fill("#f-subject", "Dự thảo kế hoạch năm 2025")
    page.fill("#f-body", "Bản dự thảo lần 1.\n")
    page.set_input_files("#f-files", files=[pdf_upload("Dự thảo kế hoạch.pdf")])
    page.click("button[name=save_draft]")
    expect(page.locator(".flash-success")).to_have_text("Đã lưu thư nháp.")
    assert len(folder_rows(rt, w["lanhdao"], "\\Drafts")) == 1

    page.click(".folders >> text=Thư nháp")
    page.click("td.subject a >> text=Dự thảo kế hoạch năm 2025")
    expect(page.locator("h1")).to_have_text("Thư nháp")
    expect(page.locator("#f-to")).to_have_value("truongphong@cantho.gov.vn")
    expect(page.locator("#f-bcc")).to_have_value("chanhvanphong@cantho.gov.vn")
    expect(page.locator("#f-body")).to_have_value("Bản dự thảo lần 1.\n")
    expect(page.get_by_label("Dự thảo kế hoạch.pdf")).to_be_checked()
    page.fill("#f-body", "Bản dự thảo lần 2.\n")
    page.click("button[name=send]")
    expect(page.locator(".flash-success")).to_have_text("Đã gửi thư.")

    assert folder_rows(rt, w["lanhdao"], "\\Drafts") == []
    (sent,) = folder_rows(rt, w["lanhdao"], "\\Sent")
    assert b"\r\nBcc: chanhvanphong@cantho.gov.vn\r\n" in sent["raw"]
    for key in ("truongphong", "chanhvp"):
        (row,) = folder_rows(rt, w[key])
        assert row["parts"]["text"] == "Bản dự thảo lần 2.\n"
        assert b"\nBcc:" not in row["raw"] and b"chanhvanphong" not in row["raw"]
        assert attachment_bytes(row, "Dự thảo kế hoạch.pdf") == minimal_pdf()


def test_files_over_the_limit_are_stopped_before_anything_typed_is_lost(page, live_server, mail_world):
    rt, w = live_server.runtime, mail_world
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("text=Soạn thư")
    # The page carries the server's limit; a small one here stands for 25 MB of files.
    # The click only starts the navigation: a locator waits for the compose page's input.
    page.locator("#f-files").evaluate("el => { el.dataset.maxBytes = '1000'; el.dataset.maxLabel = '1 KB'; }")
    page.fill("#f-to", "truongphong@cantho.gov.vn")
    page.fill("#f-subject", SUBJECT)
    page.fill("#f-body", "Nội dung dài đã gõ.\n")
    page.set_input_files("#f-files", files=[{"name": "lon.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"x" * 5000}])
    expect(page.locator("#f-files-too-big")).to_contain_text("Tệp đính kèm quá lớn")
    url = page.url
    page.click("button[name=send]")
    expect(page.locator("#f-files-too-big")).to_be_visible()
    assert page.url == url
    expect(page.locator("#f-body")).to_have_value("Nội dung dài đã gõ.\n")
    assert folder_rows(rt, w["truongphong"]) == []
