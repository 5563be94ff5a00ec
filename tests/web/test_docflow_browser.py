"""The document workflow UI (/van-ban) in Debian's Chromium: the leader's directive and
forwarding, the leader's signature with a wrong then right PIN, forwarding to the automatic
clerk, the tracking page and the e-mail recipient's two-layer PDF (issue 5, acceptance 2); the
same with the candidate playing the clerk (acceptance 3); bad uploads in the drafting form
(acceptance 6)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import expect

from docflow import api
from mailserver import api as mail_api
from mailserver import mime
from sandbox.kernel.clock import FixedClock
from signing.api import pki_for
from tests.docflow.factories import CLERK_PIN, LEADER_PIN, OUTSIDE, a_draft, an_incoming, make_docworld
from tests.factories import minimal_pdf

from .conftest import login

pytestmark = pytest.mark.browser

#: 09:00 in Cần Thơ on Friday 14 March 2025.
START = datetime(2025, 3, 14, 2, 0, tzinfo=timezone.utc)
SYMBOL = "01/UBND-VX"


def _pin_clock(rt) -> None:
    clock = FixedClock(START)
    rt.clock = clock
    rt.dispatcher.clock = clock


@pytest.fixture
def docworld(live_server):
    _pin_clock(live_server.runtime)
    return make_docworld(live_server.runtime)


@pytest.fixture
def docworld_person_clerk(live_server):
    _pin_clock(live_server.runtime)
    return make_docworld(live_server.runtime, clerk_mode="person")


def open_docflow(page) -> None:
    page.click("nav.tools >> text=Văn bản")
    expect(page.locator("h1")).to_contain_text("Văn bản đến")


def sign_draft(page, w, draft: int, *, wrong_pin_first: bool) -> None:
    """As the logged-in leader: Dự thảo chờ ký → the draft → PIN → signed."""
    page.click(".df-side >> text=Dự thảo chờ ký")
    expect(page.locator("h1")).to_have_text("Dự thảo chờ ký")
    page.click(f"tr[data-doc='{draft}'] td.summary a")
    expect(page.locator("#doc-status")).to_have_text("Đã trình lãnh đạo")
    expect(page.locator(f"#cert-{w.tokens['leader']}")).to_be_checked()
    expect(page.locator("#signing-pin")).to_have_attribute("type", "password")
    if wrong_pin_first:
        page.fill("#signing-pin", "000000")
        page.click("button:has-text('Ký số dự thảo')")
        expect(page.locator("#signing-error")).to_have_text("Sai mã PIN. Còn 2 lần thử.")
        expect(page.locator("#doc-status")).to_have_text("Đã trình lãnh đạo")
    page.fill("#signing-pin", LEADER_PIN)
    page.click("button:has-text('Ký số dự thảo')")
    expect(page.locator(".flash-success")).to_have_text("Đã ký số dự thảo. Bước tiếp theo: chuyển văn thư phát hành.")
    expect(page.locator("#doc-status")).to_have_text("Lãnh đạo đã ký số")


def check_mail_and_layers(rt, w, tmp_path) -> None:
    """The outside recipient got the issued PDF; `sandbox verify` and pdfsig accept both layers."""
    with rt.db.read() as s:
        from mailserver.store import account_in_sandbox
        acc = mail_api.account_ref(s, account_in_sandbox(s, w.sandbox_id, OUTSIDE).id)
    with mail_api.open_view(rt.db, acc) as view:
        items, total = view.items(view.special(None))
        assert total == 1
        _item, data = items[0]
        assert data.from_address == "ubnd@ninhkieu.cantho.gov.vn" and SYMBOL in data.subject
        raw = view.raw(data, rt.blobs)
    structure = mime.parse_structure(raw)
    (att,) = mime.body_parts(raw, structure)["attachments"]
    assert att["filename"] == "01-UBND-VX.pdf"
    pdf = mime.part_payload(raw, structure, att["part"])
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    root = tmp_path / "root.pem"
    root.write_bytes(pki_for(rt).root.cert.public_bytes(Encoding.PEM))
    verify = subprocess.run([sys.executable, "-m", "sandbox.cli", "verify", str(path), "--trust", str(root)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "SigLanhDao" in verify.stdout and "SigToChuc" in verify.stdout
    if shutil.which("pdfsig"):
        out = subprocess.run(["pdfsig", "-nocert", "-no-ocsp", str(path)], capture_output=True, text=True).stdout
        assert out.count("Signature is Valid.") == 2, out


def test_leader_directs_signs_and_the_automatic_clerk_releases(page, live_server, docworld, tmp_path):
    rt, w = live_server.runtime, docworld
    incoming = an_incoming(w)
    draft = a_draft(w)
    vx, vp, vice = w.units["VX"], w.units["VP"], w.person_ids["vice"]

    login(page, live_server.url, w.a("leader"))
    open_docflow(page)
    expect(page.locator("a[data-tab=cho_xu_ly]")).to_have_text("Chờ xử lý (1)")
    page.click(f"tr[data-doc='{incoming}'] td.summary a")
    expect(page.locator("h1.doc-title")).to_have_text("V/v báo cáo kết quả cải cách hành chính quý IV")
    expect(page.locator(".meta")).to_contain_text("125/SNV-CCHC")
    expect(page.locator(".meta")).to_contain_text("30/05/2024")
    expect(page.locator("img.df-preview")).to_be_visible()

    # a refusal keeps what was typed: two "xử lý chính"
    page.fill("#directive", "Giao Phòng Văn hóa - Xã hội chủ trì tham mưu báo cáo.")
    page.select_option(f"#role_u{vx}", "xlc")
    page.fill(f"#deadline_u{vx}", "2025-03-21")
    page.select_option(f"#role_u{vp}", "xlc")
    page.fill(f"#deadline_u{vp}", "2025-03-20")
    page.click("button:has-text('Bút phê và chuyển xử lý')")
    expect(page.locator("#form-error")).to_contain_text("xử lý chính")
    expect(page.locator("#directive")).to_have_value("Giao Phòng Văn hóa - Xã hội chủ trì tham mưu báo cáo.")
    expect(page.locator(f"#deadline_u{vx}")).to_have_value("2025-03-21")
    assert api.assignments_of(rt, w.sandbox_id, incoming) == []

    page.select_option(f"#role_u{vp}", "ph")
    page.select_option(f"#role_p{vice}", "db")
    page.click("button:has-text('Bút phê và chuyển xử lý')")
    expect(page.locator(".flash-success")).to_have_text("Đã bút phê và chuyển xử lý văn bản cho 3 đơn vị/cá nhân.")
    rows = page.locator("table.assignments tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Phòng Văn hóa - Xã hội")
    expect(rows.nth(0)).to_contain_text("Xử lý chính")
    expect(rows.nth(0)).to_contain_text("21/03/2025")
    expect(rows.nth(1)).to_contain_text("Phối hợp")
    expect(rows.nth(2)).to_contain_text("Nhận để biết")
    got = {(a.target_kind, a.target_id): (a.role, a.deadline and a.deadline.isoformat())
           for a in api.assignments_of(rt, w.sandbox_id, incoming)}
    assert got == {("unit", vx): ("xlc", "2025-03-21"), ("unit", vp): ("ph", "2025-03-20"),
                   ("person", vice): ("db", None)}
    assert api.incoming_doc(rt, w.sandbox_id, None, incoming).directive == \
        "Giao Phòng Văn hóa - Xã hội chủ trì tham mưu báo cáo."

    sign_draft(page, w, draft, wrong_pin_first=True)
    page.click("button[name=forward]")
    # the forward answers at once; the clerk's job releases it and the page, refreshing, shows it
    expect(page.locator(".flash-success")).to_contain_text("Đã chuyển văn thư phát hành")
    expect(page.locator("#doc-status")).to_have_text("Đã gửi", timeout=30_000)
    expect(page.locator("#doc-symbol")).to_have_text(SYMBOL)
    expect(page.locator("table.deliveries")).to_contain_text(OUTSIDE)

    page.click(".df-side >> text=Theo dõi tình hình xử lý văn bản")
    expect(page.locator("h1")).to_have_text("Theo dõi tình hình xử lý văn bản")
    row = page.locator(f".tracking-row[data-doc='{incoming}']")
    expect(row).to_contain_text("Giao Phòng Văn hóa - Xã hội chủ trì")
    expect(row.locator("tr.assignment")).to_have_count(3)
    expect(row.locator("tr.role-xlc")).to_contain_text("Chưa đọc")
    expect(row.locator("tr.role-xlc")).to_contain_text("21/03/2025")

    # the assignee (a member of VX) sees it, reports completion; the tracking page follows
    login(page, live_server.url, w.a("specialist"))
    open_docflow(page)
    page.click(f"tr[data-doc='{incoming}'] td.summary a")
    page.fill("#my-progress textarea[name=note]", "Đã gửi báo cáo.")
    page.click("button:has-text('Báo cáo hoàn thành')")
    expect(page.locator(".flash-success")).to_have_text("Đã cập nhật tiến độ: Hoàn thành.")
    expect(page.locator(".doc-status")).to_have_text("Đã xử lý")
    page.click(".df-side >> text=Theo dõi tình hình xử lý văn bản")
    expect(page.locator(f".tracking-row[data-doc='{incoming}'] tr.role-xlc")).to_contain_text("Hoàn thành")

    check_mail_and_layers(rt, w, tmp_path)


def test_candidate_clerk_numbers_seals_and_issues(page, live_server, docworld_person_clerk, tmp_path):
    rt, w = live_server.runtime, docworld_person_clerk
    draft = a_draft(w)
    login(page, live_server.url, w.a("leader"))
    open_docflow(page)
    sign_draft(page, w, draft, wrong_pin_first=False)
    page.click("button[name=forward]")
    expect(page.locator(".flash-success")).to_contain_text("đang chờ văn thư cấp số")
    expect(page.locator("#doc-status")).to_have_text("Chờ văn thư phát hành")

    login(page, live_server.url, w.a("clerk"))
    open_docflow(page)
    page.click(".df-side >> text=Văn bản chờ phát hành")
    page.click(f"tr[data-doc='{draft}'] td.summary a")
    expect(page.locator("#seal")).to_have_count(0)  # number first
    page.click("button[name=do_number]")
    expect(page.locator(".flash-success")).to_have_text(f"Đã cấp số {SYMBOL}.")
    expect(page.locator("#doc-symbol")).to_have_text(SYMBOL)
    expect(page.locator(f"#cert-{w.tokens['org']}")).to_be_checked()
    page.fill("#signing-pin", "999999")
    page.click("button:has-text('Ký số của cơ quan (đóng dấu)')")
    expect(page.locator("#signing-error")).to_have_text("Sai mã PIN. Còn 2 lần thử.")
    page.fill("#signing-pin", CLERK_PIN)
    page.click("button:has-text('Ký số của cơ quan (đóng dấu)')")
    expect(page.locator(".flash-success")).to_have_text("Đã ký số của cơ quan (đóng dấu). Bước tiếp theo: phát hành.")
    expect(page.locator("#doc-status")).to_have_text("Đã ký số cơ quan")
    page.click("button[name=do_issue]")
    expect(page.locator(".flash-success")).to_have_text("Đã phát hành văn bản đến 3 nơi nhận.")
    expect(page.locator("#doc-status")).to_have_text("Đã gửi")
    d = api.outgoing_doc(rt, w.sandbox_id, None, draft)
    assert d.layers == 2 and d.symbol == SYMBOL
    check_mail_and_layers(rt, w, tmp_path)


ODD_NAME = unicodedata.normalize("NFD", 'Báo cáo tháng 5 <bản cuối> "chính thức".pdf')


def test_bad_uploads_are_refused_by_name_and_nothing_typed_is_lost(page, live_server, docworld):
    rt, w = live_server.runtime, docworld
    rt.settings.max_message_size = 20_000
    login(page, live_server.url, w.a("specialist"))
    open_docflow(page)
    page.click("text=Soạn dự thảo mới")
    page.select_option("#f-type", "KH")
    page.fill("#f-summary", "Kế hoạch chuyển đổi số năm 2026")
    page.fill("#f-body", "Đoạn một.\nĐoạn hai.")
    page.select_option("#f-signer", str(w.person_ids["leader"]))
    page.check(f"input[name=rcpt_unit][value='{w.units['VP']}']")
    page.fill("#f-emails", OUTSIDE)
    page.set_input_files("#f-files", files=[
        {"name": "Phụ lục.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()},
        {"name": "Bảng số liệu.xlsx", "mimeType": "application/vnd.ms-excel", "buffer": b"not a spreadsheet"},
        {"name": "Tờ trình.pdf", "mimeType": "application/pdf", "buffer": b""},
        {"name": "Ảnh hiện trường.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 30_000},
    ])
    page.click("button:has-text('Lưu và trình lãnh đạo')")
    errors = page.locator(".upload-error")
    expect(errors).to_have_count(3)
    expect(errors.nth(0)).to_contain_text("Tệp «Bảng số liệu.xlsx» không phải là tệp Excel")
    expect(errors.nth(1)).to_contain_text("Tệp «Tờ trình.pdf» rỗng (0 byte)")
    expect(errors.nth(2)).to_contain_text("Tệp «Ảnh hiện trường.png» lớn hơn giới hạn")
    # nothing lost: the typed fields and the accepted file are still there
    expect(page.locator("#f-summary")).to_have_value("Kế hoạch chuyển đổi số năm 2026")
    expect(page.locator("#f-body")).to_have_value("Đoạn một.\nĐoạn hai.")
    expect(page.locator("#f-type")).to_have_value("KH")
    expect(page.locator("#f-signer")).to_have_value(str(w.person_ids["leader"]))
    expect(page.locator(f"input[name=rcpt_unit][value='{w.units['VP']}']")).to_be_checked()
    expect(page.locator("#f-emails")).to_have_value(OUTSIDE)
    expect(page.locator(".kept-files")).to_contain_text("Phụ lục.pdf")
    assert api.outgoing_list(rt, w.sandbox_id, w.a("specialist")).total == 0

    page.set_input_files("#f-files", files=[{"name": ODD_NAME, "mimeType": "application/pdf",
                                             "buffer": minimal_pdf("Bao cao")}])
    page.click("button:has-text('Lưu và trình lãnh đạo')")
    expect(page.locator(".flash-success")).to_have_text("Đã lưu dự thảo và trình lãnh đạo.")
    expect(page.locator("#doc-status")).to_have_text("Đã trình lãnh đạo")
    names = [a.text_content() for a in page.locator(".attachments li a").all()]
    assert names == ["Phụ lục.pdf", "Báo cáo tháng 5 bản cuối chính thức.pdf"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    (row,) = api.outgoing_list(rt, w.sandbox_id, w.a("specialist")).items
    d = api.outgoing_doc(rt, w.sandbox_id, None, row.id)
    assert [a["name"] for a in d.attachments] == names
    with page.expect_download() as info:
        page.click(".attachments li a >> nth=1")
    assert info.value.suggested_filename == names[1]
    assert re.search(r"Kế hoạch chuyển đổi số năm 2026", page.locator("h1.doc-title").text_content())
