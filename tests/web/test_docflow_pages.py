"""The document workflow UI with Flask's test client: isolation between sandboxes by URL id
and by tampered form fields (issue 5, acceptance 5), CSRF, refusals that say why, file
responses, lists and pages."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from docflow import api
from sandbox.kernel import jobs
from sandbox.kernel.clock import FixedClock
from tests.docflow.factories import LEADER_PIN, a_draft, an_incoming, make_docworld, snapshot

#: 09:00 in Cần Thơ on Friday 14 March 2025.
START = datetime(2025, 3, 14, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def two_worlds(web):
    clock = FixedClock(START)
    web.rt.clock = clock
    web.rt.dispatcher.clock = clock
    a = make_docworld(web.rt, "ts001")
    b = make_docworld(web.rt, "ts002")
    for w in (a, b):
        w.incoming = an_incoming(w)
        w.draft = a_draft(w)
        api.direct(w.rt, w.sandbox_id, w.a("leader"), w.incoming, "Giao VX",
                   [{"unit_id": w.units["VX"], "role": "xlc", "deadline": "2025-03-20"}])
        w.assignment = api.assignments_of(w.rt, w.sandbox_id, w.incoming)[0].id
    return a, b


def login(web, w, key: str):
    from mailserver.api import account_ref
    from mailserver.store import account_in_sandbox

    name = {w.sandbox_id: None}
    with web.rt.db.read() as s:
        ref = account_ref(s, account_in_sandbox(s, w.sandbox_id, w.a(key)).id)
        from sandbox.kernel.models import Sandbox
        name = s.get(Sandbox, w.sandbox_id).name
    return web.login(ref, f"{name}/{w.a(key)}")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def test_another_sandboxs_documents_are_404_by_url_id(web, two_worlds):
    a, b = two_worlds
    login(web, a, "leader")
    before = snapshot(web.rt, b.sandbox_id)
    for url in [f"/van-ban/den/{b.incoming}", f"/van-ban/den/{b.incoming}/pdf", f"/van-ban/den/{b.incoming}/xem-truoc.png",
                f"/van-ban/den/{b.incoming}/tep/0", f"/van-ban/di/{b.draft}", f"/van-ban/di/{b.draft}/pdf",
                f"/van-ban/di/{b.draft}/xem-truoc.png", f"/van-ban/di/{b.draft}/tep/0"]:
        resp = web.get(url)
        assert resp.status_code == 404, url
        assert "Không tìm thấy" in text(resp), url
    posts = [
        (f"/van-ban/den/{b.incoming}/chuyen-xu-ly", {"directive": "Giao", f"role_u{a.units['VX']}": "xlc",
                                                     f"deadline_u{a.units['VX']}": "2025-03-21"}),
        (f"/van-ban/den/{b.incoming}/tien-do", {"assignment_id": b.assignment, "status": "completed"}),
        (f"/van-ban/di/{b.draft}/ky-so", {"token_id": a.tokens["leader"], "pin": LEADER_PIN}),
        (f"/van-ban/di/{b.draft}/duyet", {}),
        (f"/van-ban/di/{b.draft}/tra-lai", {"reason": "Sửa lại"}),
        (f"/van-ban/di/{b.draft}/chuyen-van-thu", {}),
        (f"/van-ban/di/{b.draft}/cap-so", {}),
        (f"/van-ban/di/{b.draft}/phat-hanh", {}),
        (f"/van-ban/di/{b.draft}/y-kien", {"text": "Ý kiến"}),
    ]
    for url, data in posts:
        resp = web.post(url, data, headers={"Referer": "http://localhost/van-ban/den"})
        assert resp.status_code == 404, url
        assert "Không tìm thấy" in text(resp), url
    # lists and search show nothing of B
    assert f'data-doc="{b.incoming}"' not in text(web.get("/van-ban/den"))
    assert f'data-doc="{b.draft}"' not in text(web.get("/van-ban/di"))
    assert f"/van-ban/di/{b.draft}\"" not in text(web.get("/van-ban/tim-kiem?q=chuyển đổi số"))
    assert snapshot(web.rt, b.sandbox_id) == before


def test_tampered_form_fields_reach_nothing_in_another_sandbox(web, two_worlds):
    a, b = two_worlds
    login(web, a, "leader")
    fresh = an_incoming(a, "V/v kiểm tra an toàn thông tin")
    before_a, before_b = snapshot(web.rt, a.sandbox_id), snapshot(web.rt, b.sandbox_id)
    # a unit and a person of B in A's forwarding form
    for key in (f"u{b.units['VP']}", f"p{b.person_ids['specialist']}"):
        resp = web.post(f"/van-ban/den/{fresh}/chuyen-xu-ly",
                        {"directive": "Giao xử lý", f"role_{key}": "xlc", f"deadline_{key}": "2025-03-21"})
        assert resp.status_code == 404, key
        assert "Không tìm thấy" in text(resp)
    # B's leader token on A's draft
    resp = web.post(f"/van-ban/di/{a.draft}/ky-so", {"token_id": b.tokens["leader"], "pin": LEADER_PIN})
    assert resp.status_code == 404
    assert "Không tìm thấy thiết bị ký số này trong danh sách chứng thư số của bạn." in text(resp)
    # B's assignment id on A's document
    login(web, a, "specialist")
    resp = web.post(f"/van-ban/den/{a.incoming}/tien-do", {"assignment_id": b.assignment, "status": "completed"})
    assert resp.status_code == 404
    assert "Không tìm thấy phân công xử lý này của bạn." in text(resp)
    assert snapshot(web.rt, a.sandbox_id) == before_a
    assert snapshot(web.rt, b.sandbox_id) == before_b


def test_posts_without_the_csrf_token_are_refused(web, two_worlds):
    a, _b = two_worlds
    login(web, a, "leader")
    fresh = an_incoming(a, "V/v kiểm tra an toàn thông tin")
    before = snapshot(web.rt, a.sandbox_id)
    for url, data in [(f"/van-ban/den/{fresh}/chuyen-xu-ly", {"directive": "Giao", f"role_u{a.units['VX']}": "xlc",
                                                              f"deadline_u{a.units['VX']}": "2025-03-21"}),
                      (f"/van-ban/di/{a.draft}/ky-so", {"token_id": a.tokens["leader"], "pin": LEADER_PIN}),
                      (f"/van-ban/di/{a.draft}/chuyen-van-thu", {}),
                      ("/van-ban/du-thao/moi", {"type_code": "CV", "summary": "x"})]:
        resp = web.post(url, data, csrf=False)
        assert resp.status_code == 400, url
        assert "Biểu mẫu đã hết hạn" in text(resp)
    assert snapshot(web.rt, a.sandbox_id) == before


def test_refusals_say_why_and_keep_the_form(web, two_worlds):
    a, _b = two_worlds
    fresh = an_incoming(a, "V/v kiểm tra an toàn thông tin")
    login(web, a, "specialist")
    # a specialist has no forwarding form; posting it anyway is refused with the reason
    assert 'id="direct"' not in text(web.get(f"/van-ban/den/{fresh}"))
    resp = web.post(f"/van-ban/den/{fresh}/chuyen-xu-ly", {"directive": "Tự giao", f"role_u{a.units['VX']}": "xlc",
                                                           f"deadline_u{a.units['VX']}": "2025-03-21"})
    assert resp.status_code == 403 and "lãnh đạo" in text(resp)
    # a specialist cannot sign for the leader
    resp = web.post(f"/van-ban/di/{a.draft}/ky-so", {"token_id": a.tokens["specialist"], "pin": "246810"})
    assert resp.status_code == 403 and "Chỉ người ký được giao" in text(resp)

    login(web, a, "leader")
    before = snapshot(web.rt, a.sandbox_id)
    resp = web.post(f"/van-ban/den/{fresh}/chuyen-xu-ly", {"directive": "Giao gấp", f"role_u{a.units['VX']}": "xlc",
                                                           f"deadline_u{a.units['VX']}": "2025-03-01"})
    assert resp.status_code == 400
    page = text(resp)
    assert 'id="form-error"' in page and "Giao gấp</textarea>" in page and 'value="2025-03-01"' in page
    resp = web.post(f"/van-ban/den/{fresh}/chuyen-xu-ly", {"directive": "", f"role_u{a.units['VX']}": "xlc"})
    assert resp.status_code == 400 and "Hãy ghi ý kiến chỉ đạo" in text(resp)
    resp = web.post(f"/van-ban/den/{fresh}/chuyen-xu-ly", {"directive": "Giao"})
    assert resp.status_code == 400 and "Hãy chọn ít nhất một đơn vị hoặc cá nhân" in text(resp)
    resp = web.post(f"/van-ban/di/{a.draft}/ky-so", {"token_id": a.tokens["leader"], "pin": ""})
    assert resp.status_code == 400 and "Hãy nhập mã PIN" in text(resp)
    resp = web.post(f"/van-ban/di/{a.draft}/tra-lai", {"reason": ""})
    assert resp.status_code == 400 and "Hãy ghi lý do trả lại" in text(resp)
    # the leader cannot release directly: there is no such button, and the clerk's step refuses
    resp = web.post(f"/van-ban/di/{a.draft}/phat-hanh", {})
    assert resp.status_code in (400, 403) and "văn thư" in text(resp)
    assert snapshot(web.rt, a.sandbox_id) == before
    # forwarding an unsigned draft: the automatic clerk refuses and the leader is told why
    resp = web.post(f"/van-ban/di/{a.draft}/chuyen-van-thu", {})
    assert resp.status_code == 302
    page = text(web.get(f"/van-ban/di/{a.draft}"))
    assert "Chờ văn thư phát hành" in page and 'http-equiv="refresh"' in page
    jobs.run_pending(web.rt)  # the automatic clerk's job (the worker of `sandbox serve`)
    page = text(web.get(f"/van-ban/di/{a.draft}"))
    assert "văn thư từ chối phát hành" in page.lower()


def test_pages_lists_and_files(web, two_worlds):
    a, _b = two_worlds
    login(web, a, "leader")
    page = text(web.get("/van-ban/den?tab=dang_xu_ly"))
    assert "Đang xử lý (1)" in page and f'data-doc="{a.incoming}"' in page
    assert f'data-doc="{a.incoming}"' not in text(web.get("/van-ban/den?tab=cho_xu_ly"))
    assert f'data-doc="{a.incoming}"' in text(web.get("/van-ban/den?q=125/SNV"))
    assert f'data-doc="{a.incoming}"' not in text(web.get("/van-ban/den?q=không có gì"))
    assert f'data-doc="{a.draft}"' in text(web.get("/van-ban/di?box=cho_ky"))
    assert "Theo dõi tình hình xử lý văn bản" in text(web.get("/van-ban/theo-doi"))
    assert "20/03/2025" in text(web.get("/van-ban/theo-doi"))
    resp = web.get(f"/van-ban/den/{a.incoming}/pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    disp = resp.headers["Content-Disposition"]
    assert disp.startswith("inline;") and "filename*=UTF-8''V%C4%83n%20b%E1%BA%A3n%20%C4%91%E1%BA%BFn" in disp
    assert web.get(f"/van-ban/den/{a.incoming}/pdf?tai=1").headers["Content-Disposition"].startswith("attachment;")
    resp = web.get(f"/van-ban/di/{a.draft}/pdf?tai=1")
    assert resp.status_code == 200 and "D%E1%BB%B1%20th%E1%BA%A3o" in resp.headers["Content-Disposition"]
    import shutil
    if shutil.which("pdftoppm"):
        resp = web.get(f"/van-ban/di/{a.draft}/xem-truoc.png")
        assert resp.status_code == 200 and resp.data.startswith(b"\x89PNG")
        assert "img class=\"df-preview\"" in text(web.get(f"/van-ban/di/{a.draft}"))
    # pagination
    web.app.config["DOCFLOW_PAGE_SIZE"] = 1
    an_incoming(a, "V/v thứ hai")
    page = text(web.get("/van-ban/den"))
    assert "Trang 1/2" in page and "Trang sau" in page
    assert "Trang 2/2" in text(web.get("/van-ban/den?page=2"))


def test_an_account_outside_the_document_software_is_told_why(web, two_worlds):
    from mailserver import api as mail_api
    from tests.factories import PASSWORD

    a, _b = two_worlds
    mail_api.add_account(web.rt.dispatcher, web.rt.secret, a.sandbox_id, "khach@cantho.gov.vn", PASSWORD, "Khách")
    page = text(web.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    web.client.post("/login", data={"csrf_token": token, "login": "ts001/khach@cantho.gov.vn", "password": PASSWORD})
    resp = web.get("/van-ban/den")
    assert resp.status_code == 403 and "không có trong phần mềm quản lý văn bản" in text(resp)


def test_the_clerk_registers_an_incoming_document_and_a_bad_file_loses_nothing(web, two_worlds):
    import io

    from tests.factories import minimal_pdf

    a, _b = two_worlds
    login(web, a, "leader")
    assert web.get("/van-ban/den/moi").status_code == 403  # only the clerk registers
    login(web, a, "clerk")
    fields = {"sender_name": "Sở Tài chính thành phố Cần Thơ", "original_symbol": "88/STC-NS",
              "original_date": "2025-03-10", "type_code": "CV", "summary": "V/v quyết toán ngân sách năm 2024",
              "urgency": "khan", "due_date": "2025-03-28"}
    resp = web.post("/van-ban/den/moi", {**fields, "pdf": (io.BytesIO(minimal_pdf("STC 88")), "Công văn 88.pdf"),
                                         "files": (io.BytesIO(b"MZ not a document"), "Phụ lục.docx")},
                    content_type="multipart/form-data")
    assert resp.status_code == 400
    page = text(resp)
    assert "Tệp «Phụ lục.docx» không phải là tệp Word" in page
    assert 'value="V/v quyết toán ngân sách năm 2024"' in page and 'value="2025-03-28"' in page
    assert "Đã nhận: <strong>Công văn 88.pdf</strong>" in page
    kept_pdf = re.search(r'name="kept_pdf" value="([^"]+)"', page).group(1)
    resp = web.post("/van-ban/den/moi", {**fields, "kept_pdf": kept_pdf}, content_type="multipart/form-data")
    assert resp.status_code == 302, text(resp)
    doc_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    d = api.incoming_doc(web.rt, a.sandbox_id, None, doc_id)
    assert (d.arrival_number, d.original_symbol, d.urgency, d.due_date.isoformat()) == (2, "88/STC-NS", "khan",
                                                                                        "2025-03-28")
    assert api.pdf_of(web.rt, a.sandbox_id, None, "in", doc_id) == minimal_pdf("STC 88")
    assert "Đã vào sổ văn bản đến, số đến 02." in text(web.get(f"/van-ban/den/{doc_id}"))


def test_the_drafter_edits_a_returned_draft(web, two_worlds):
    a, _b = two_worlds
    login(web, a, "leader")
    assert web.post(f"/van-ban/di/{a.draft}/tra-lai", {"reason": "Bổ sung thời hạn"}).status_code == 302
    login(web, a, "specialist")
    page = text(web.get(f"/van-ban/di/{a.draft}"))
    assert "Lý do trả lại: Bổ sung thời hạn" in page and "Sửa dự thảo" in page
    form = text(web.get(f"/van-ban/di/{a.draft}/sua"))
    assert "triển khai chuyển đổi số năm 2026" in form
    resp = web.post(f"/van-ban/di/{a.draft}/sua", {"summary": "triển khai chuyển đổi số năm 2026 (bổ sung)",
                                                    "body": "Đoạn một.\nHoàn thành trước ngày 30/6/2026.",
                                                    "rcpt_unit": str(a.units["VP"]), "note": "Bổ sung thời hạn",
                                                    "then": "submit"})
    assert resp.status_code == 302, text(resp)
    d = api.outgoing_doc(web.rt, a.sandbox_id, None, a.draft)
    assert (d.version, d.status, d.summary) == (2, "submitted", "triển khai chuyển đổi số năm 2026 (bổ sung)")
    assert d.body == ["Đoạn một.", "Hoàn thành trước ngày 30/6/2026."]
    assert [r["kind"] for r in d.recipients] == ["unit"]


def test_a_unit_leader_passes_the_units_assignment_on_to_his_people(web, two_worlds):
    a, _b = two_worlds
    login(web, a, "head")
    page = text(web.get(f"/van-ban/den/{a.incoming}"))
    assert "Giao xử lý trong đơn vị" in page
    assert f'name="role_p{a.person_ids["specialist"]}"' in page
    assert f'name="role_u{a.units["VP"]}"' not in page and f'name="role_p{a.person_ids["staff_vp"]}"' not in page
    resp = web.post(f"/van-ban/den/{a.incoming}/chuyen-xu-ly",
                    {"directive": "Đồng chí Hoa dự thảo báo cáo.", f"role_p{a.person_ids['specialist']}": "xlc",
                     f"deadline_p{a.person_ids['specialist']}": "2025-03-19"})
    assert resp.status_code == 302, text(resp)
    rows = api.assignments_of(web.rt, a.sandbox_id, a.incoming)
    second = [r for r in rows if r.parent_id]
    assert [(r.target_kind, r.target_id, r.role, r.deadline.isoformat()) for r in second] == [
        ("person", a.person_ids["specialist"], "xlc", "2025-03-19")]
    page = text(web.get(f"/van-ban/den/{a.incoming}"))
    assert "Đã giao xử lý cho 1 cá nhân trong đơn vị." in page and "second-level" in page


def test_without_pdftoppm_there_is_no_preview_and_no_error(web, two_worlds, monkeypatch):
    from tests.factories import minimal_pdf

    a, _b = two_worlds
    doc = api.register_incoming(web.rt, a.sandbox_id, a.org, sender_name="Sở Y tế", summary="V/v tiêm chủng",
                                pdf=minimal_pdf("Khong co anh xem truoc"))["incoming_id"]
    login(web, a, "leader")
    monkeypatch.setenv("PATH", "/nonexistent")
    page = text(web.get(f"/van-ban/den/{doc}"))
    assert "df-preview" not in page and "Mở tệp PDF" in page
    resp = web.get(f"/van-ban/den/{doc}/xem-truoc.png")
    assert resp.status_code == 404 and "Văn bản này không có ảnh xem trước." in text(resp)


def test_opening_the_tracking_view_and_a_document_is_recorded_once_per_session(web, two_worlds):
    """The grader's status-check evidence: the candidate looked (docflow.api.views)."""
    a, _b = two_worlds
    login(web, a, "leader")
    web.get("/van-ban/theo-doi")
    web.get("/van-ban/theo-doi")
    web.get(f"/van-ban/den/{a.incoming}")
    seen = [(v["page"], v["doc_id"]) for v in api.views(web.rt, a.sandbox_id, actor=a.a("leader"))]
    assert seen == [("tracking", None), ("incoming_doc", a.incoming)]
