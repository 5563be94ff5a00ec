"""The signing dialog (/ky-so): in Debian's Chromium (sample draft, wrong then right PIN, the
specialist's certificate chosen by mistake) and with Flask's test client (CSRF, another
sandbox's token or file, bad uploads, download)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import api
from tests.factories import minimal_pdf

from .conftest import login
from .signing_world import LEADER_PIN, ORG_PIN, signing_world

FILE_FIELD = re.compile(r'name="file" value="([0-9a-f]{64})"')


@pytest.fixture
def sworld(live_server):
    return signing_world(live_server.runtime)


def _tries_left(rt, world, key):
    with rt.db.read() as s:
        return {c.id: c for c in api.certificates_for(s, world.sandbox_id, "lanhdao@cantho.gov.vn")}[
            world.tokens[key]].tries_left


# --- browser ------------------------------------------------------------------------------------
@pytest.mark.browser
def test_leader_signs_the_sample_draft_after_a_wrong_pin(page, live_server, sworld):
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.click("nav.tools >> text=Ký số")
    expect(page.locator("h1")).to_have_text("Ký số văn bản")
    page.click("button[name=sample]")
    expect(page.locator(".filename")).to_have_text("Dự thảo mẫu.pdf")
    rows = page.locator("table.certificates tbody tr")
    expect(rows).to_have_count(2)  # own + the specialist's; never the organisation's token
    expect(page.locator("table.certificates")).not_to_contain_text("tổ chức")
    expect(page.locator(f"#cert-{sworld.tokens['leader']}")).to_be_checked()
    expect(page.locator("#signing-pin")).to_have_attribute("type", "password")
    expect(page.locator("#signing-pin")).to_have_attribute("autocomplete", "off")

    page.fill("#signing-pin", "000000")
    page.click("button[name=sign]")
    expect(page.locator("#signing-error")).to_have_text("Sai mã PIN. Còn 2 lần thử.")
    expect(page.locator(".filename")).to_have_text("Dự thảo mẫu.pdf")  # the upload is kept
    assert _tries_left(live_server.runtime, sworld, "leader") == 2

    page.fill("#signing-pin", LEADER_PIN)
    page.click("button[name=sign]")
    expect(page.locator("#signing-success")).to_have_text("Đã ký số thành công.")
    report = page.locator(".signing-report")
    expect(report).to_contain_text("SigLanhDao")
    expect(report).to_contain_text("Nguyễn Văn An")
    expect(report).to_contain_text("Chưa hoàn thành")
    expect(report).to_contain_text("Chữ ký thứ nhất đúng của người được giao ký")
    expect(report).to_contain_text("SigToChuc")
    with page.expect_download() as info:
        page.click("#signing-download")
    download = info.value
    assert download.suggested_filename == "Dự thảo mẫu (đã ký số).pdf"
    pdf = Path(download.path()).read_bytes()
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert sig.field_name == "SigLanhDao"
    assert _tries_left(live_server.runtime, sworld, "leader") == 3


@pytest.mark.browser
def test_choosing_the_specialists_certificate_is_named_in_the_report(page, live_server, sworld):
    login(page, live_server.url, "lanhdao@cantho.gov.vn")
    page.goto(live_server.url + "/ky-so/")
    page.click("button[name=sample]")
    page.check(f"#cert-{sworld.tokens['specialist_at_leader']}")
    page.fill("#signing-pin", LEADER_PIN)
    page.click("button[name=sign]")
    expect(page.locator("#signing-success")).to_be_visible()
    report = page.locator(".signing-report")
    expect(report.locator("tr.signature")).to_contain_text("Trần Thị Bình")
    expect(report.locator("tr.signature")).to_contain_text("chuyenvien@cantho.gov.vn")
    wrong = report.locator("li.verdict.fail", has_text="Chữ ký thứ nhất không phải")
    expect(wrong).to_contain_text(
        "Chữ ký thứ nhất không phải của người được giao ký: chứng thư số cá nhân của Trần Thị Bình")
    expect(wrong).to_contain_text("người được giao ký: Nguyễn Văn An")


# --- test client --------------------------------------------------------------------------------
@pytest.fixture
def client_world(web):
    return signing_world(web.rt)


def _sample(web) -> str:
    resp = web.post("/ky-so/du-thao-mau")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return FILE_FIELD.search(resp.get_data(as_text=True)).group(1)


def test_forms_need_the_csrf_token(web, client_world):
    web.login(client_world["lanhdao"])
    assert web.post("/ky-so/du-thao-mau", csrf=False).status_code == 400
    blob = _sample(web)
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": client_world.tokens["leader"],
                                  "pin": LEADER_PIN}, csrf=False)
    assert resp.status_code == 400
    assert "Biểu mẫu đã hết hạn" in resp.get_data(as_text=True)


def test_a_token_of_another_sandbox_is_refused(web, client_world):
    other = signing_world(web.rt, "ts002")
    web.login(client_world["lanhdao"], "ts001/lanhdao@cantho.gov.vn")
    blob = _sample(web)
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": other.tokens["leader"], "pin": LEADER_PIN})
    assert resp.status_code == 404
    assert "Không tìm thấy thiết bị ký số" in resp.get_data(as_text=True)
    with web.rt.db.read() as s:
        (tok,) = [c for c in api.certificates_for(s, other.sandbox_id, "lanhdao@cantho.gov.vn")
                  if c.id == other.tokens["leader"]]
        assert tok.tries_left == 3


def test_the_organisation_token_is_listed_and_usable_for_the_clerk_only(web, client_world):
    web.login(client_world["lanhdao"])
    blob = _sample(web)
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": client_world.tokens["org"], "pin": ORG_PIN})
    assert resp.status_code == 404
    web.login(client_world["vanthu"])
    page = web.post("/ky-so/du-thao-mau").get_data(as_text=True)
    assert f'id="cert-{client_world.tokens["org"]}"' in page and "tổ chức" in page


def test_another_sandboxs_file_is_never_served_or_signed(web, client_world):
    other = signing_world(web.rt, "ts002")
    web.login(other["lanhdao"], "ts002/lanhdao@cantho.gov.vn")
    theirs = web.post("/ky-so/tai-len", {"pdf": (io.BytesIO(api.sample_draft("X Y Z")), "bí mật.pdf")},
                      content_type="multipart/form-data")
    blob = FILE_FIELD.search(theirs.get_data(as_text=True)).group(1)
    web.login(client_world["lanhdao"], "ts001/lanhdao@cantho.gov.vn")
    assert web.get(f"/ky-so/tai-ve/{blob}").status_code == 404
    assert web.get(f"/ky-so/ky?file={blob}").status_code == 404
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": client_world.tokens["leader"], "pin": LEADER_PIN})
    assert resp.status_code == 404
    assert web.get("/ky-so/tai-ve/not-a-hash").status_code == 404


@pytest.mark.parametrize("data, message", [
    (b"GIF89a not a pdf", "không phải là tệp PDF"),
    (minimal_pdf(), "không có ô chữ ký trống dành cho lãnh đạo"),
    (minimal_pdf()[:200], "bị cắt cụt hoặc bị hỏng"),
])
def test_unusable_uploads_are_explained(web, client_world, data, message):
    web.login(client_world["lanhdao"])
    resp = web.post("/ky-so/tai-len", {"pdf": (io.BytesIO(data), "tệp.pdf")},
                    content_type="multipart/form-data")
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)


def test_sign_lock_and_download_with_the_test_client(web, client_world):
    web.login(client_world["lanhdao"])
    blob = _sample(web)
    tok = client_world.tokens["leader"]
    for _ in range(2):
        assert web.post("/ky-so/ky", {"file": blob, "token_id": tok, "pin": "999999"}).status_code == 400
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": tok, "pin": "999999"})
    assert "đã bị khoá" in resp.get_data(as_text=True)
    assert "Đã khoá" in web.get(f"/ky-so/ky?file={blob}").get_data(as_text=True)
    api.unlock(web.rt.dispatcher, client_world.sandbox_id, tok)
    resp = web.post("/ky-so/ky", {"file": blob, "token_id": tok, "pin": LEADER_PIN})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, re.findall(r'id="signing-error">([^<]*)', page)
    assert "Đã ký số thành công." in page
    link = re.search(r'href="(/ky-so/tai-ve/[0-9a-f]{64})"', page).group(1)
    dl = web.get(link)
    assert dl.status_code == 200 and dl.mimetype == "application/pdf"
    assert "attachment" in dl.headers["Content-Disposition"]
    assert "filename*=UTF-8''D%E1%BB%B1%20th%E1%BA%A3o%20m%E1%BA%ABu" in dl.headers["Content-Disposition"]
    report = api.verify_pdf(dl.data, validation_context=api.pki_for(web.rt).validation_context)
    assert report.status == "incomplete" and report.signatures[0].trusted
