"""The organiser's pages with Flask's test client: contest page with parts and rules, roster
upload → report → save the good rows, shifts/rooms/seating, attendance, backup switch,
provisioning with its progress page, slips download; roles and CSRF."""
from __future__ import annotations

import io
import re
import time

from sandbox.contest import api

from .test_roster import SEEDED, make_contest, write_xlsx


def test_contest_pages_flow(admin_web, tmp_path):
    rt = admin_web.rt
    make_contest(rt)
    admin_web.login("btc")
    page = admin_web.get("/quan-tri/cuoc-thi").get_data(as_text=True)
    assert "cds2023" in page and "Lý thuyết (60 điểm)" in page
    page = admin_web.get("/quan-tri/cuoc-thi/cds2023").get_data(as_text=True)
    assert "Điểm liệt: thí sinh có một phần thi đạt 0 điểm" in page
    assert "Lý thuyết (trắc nghiệm trên máy)" in page

    # upload: a report first, nothing saved
    f = write_xlsx(tmp_path / "ds.xlsx", SEEDED)
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/nhap",
                          {"kind": "roster", "file": (io.BytesIO(f.read_bytes()), "ds.xlsx")},
                          content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "10 dòng dữ liệu, 8 lỗi ở 8 dòng" in page
    assert "binh@cantho" in page and "Chỉ lưu các dòng hợp lệ (2 dòng), bỏ 8 dòng lỗi" in page
    assert api.list_candidates(rt, "cds2023") == []
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/nhap/luu", {"kind": "roster", "digest": digest,
                                                                  "filename": "ds.xlsx", "mode": "good"})
    assert resp.status_code == 302
    assert [c.number for c in api.list_candidates(rt, "cds2023")] == ["CT23-0001", "CT23-0100"]
    # a file that is not an .xlsx: the message, no traceback
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/nhap",
                          {"kind": "roster", "file": (io.BytesIO(b"hello"), "x.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "không phải tệp Excel .xlsx thật" in resp.get_data(as_text=True)

    # shifts, rooms, seats
    assert admin_web.post("/quan-tri/cuoc-thi/cds2023/ca-thi", {"name": "Ca 1", "scenario": "thi-2022-de-1",
                                                                "backup": "thi-2022-de-2",
                                                                "starts_at": "2023-06-10T08:00"}).status_code == 302
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/ca-thi", {"name": "Ca 2", "scenario": "khong-co"},
                          follow_redirects=True)
    assert "Không tìm thấy đề &#39;khong-co&#39;" in resp.get_data(as_text=True)
    admin_web.post("/quan-tri/cuoc-thi/cds2023/phong-thi", {"name": "Phòng 1", "seats": "10"})
    admin_web.post("/quan-tri/cuoc-thi/cds2023/xep-cho")
    assert [c.seat for c in api.list_candidates(rt, "cds2023")] == [1, 2]
    # attendance and the backup set
    page = admin_web.post("/quan-tri/cuoc-thi/cds2023/diem-danh", {"number": "CT23-0100", "status": "absent", "reason": ""},
                          follow_redirects=True).get_data(as_text=True)
    assert "Hãy ghi lý do vắng" in page
    admin_web.post("/quan-tri/cuoc-thi/cds2023/diem-danh", {"number": "CT23-0100", "status": "absent",
                                                            "reason": "Đi công tác"})
    admin_web.post("/quan-tri/cuoc-thi/cds2023/de-du-phong", {"number": "CT23-0001", "reason": "Quên mật khẩu"})
    c1 = api.candidate_by_number(rt, "cds2023", "CT23-0001")
    assert (c1.scenario_id, c1.backup_reason) == ("thi-2022-de-2", "Quên mật khẩu")
    # provisioning in the background, its page polls with a meta refresh
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/tao-sandbox", {"shift": "Ca 1"})
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    for _ in range(300):
        page = admin_web.get(job_url).get_data(as_text=True)
        if "Đã xong" in page or "Có lỗi" in page:
            break
        assert 'http-equiv="refresh"' in page
        time.sleep(0.05)
    assert "Đã xong" in page and "Đã tạo 1 sandbox" in page and 'http-equiv="refresh"' not in page
    assert api.candidate_by_number(rt, "cds2023", "CT23-0001").sandbox_name == "cds2023-CT23-0001"
    # slips
    resp = admin_web.get("/quan-tri/cuoc-thi/cds2023/phieu-dang-nhap.pdf?ca=Ca 1")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF") and "attachment" in resp.headers["Content-Disposition"]


def test_roles_and_csrf(admin_web):
    make_contest(admin_web.rt)
    admin_web.login("gv")   # a trainer: no contest pages
    resp = admin_web.get("/quan-tri/cuoc-thi/cds2023")
    assert resp.status_code == 403 and "Không có quyền" in resp.get_data(as_text=True)
    admin_web.post("/quan-tri/dang-xuat")
    admin_web.login("gk")   # an examiner: sees, marks attendance, cannot change the contest
    assert admin_web.get("/quan-tri/cuoc-thi/cds2023").status_code == 200
    assert admin_web.post("/quan-tri/cuoc-thi/cds2023/phong-thi", {"name": "P", "seats": "3"}).status_code == 403
    assert admin_web.post("/quan-tri/cuoc-thi/cds2023/xep-cho", csrf=False).status_code in (400, 403)
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/diem-danh", {"number": "X"}, csrf=False)
    assert resp.status_code == 400 and "Phiên làm việc đã hết hạn" in resp.get_data(as_text=True)


def test_an_organiser_creates_a_contest_on_the_page(admin_web):
    admin_web.login("btc")
    page = admin_web.get("/quan-tri/cuoc-thi").get_data(as_text=True)
    assert "Tạo cuộc thi" in page and "Lý thuyết=60" in page
    bad = admin_web.post("/quan-tri/cuoc-thi", {"code": "cds 2024", "name": "Cuộc thi", "year": "2024",
                                                "parts": "Lý thuyết=60\nThực hành=40"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Mã cuộc thi «cds 2024» không hợp lệ" in text and 'value="Cuộc thi"' in text
    ok = admin_web.post("/quan-tri/cuoc-thi", {"code": "cds2024", "name": "Cuộc thi năm 2024", "year": "2024",
                                               "duration": "60", "parts": "Lý thuyết=60\r\nThực hành=40"},
                        follow_redirects=True)
    text = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Đã tạo cuộc thi cds2024." in text and "Thực hành (sandbox)" in text
    assert admin_web.post("/quan-tri/cuoc-thi", {"code": "x"}, csrf=False).status_code == 400
    admin_web.login("gk")
    assert "Tạo cuộc thi" not in admin_web.get("/quan-tri/cuoc-thi").get_data(as_text=True)
    assert admin_web.post("/quan-tri/cuoc-thi", {"code": "cds2025"}).status_code == 403


def test_a_roster_csv_with_a_huge_cell_is_a_message_not_a_500(admin_web):
    """Issue 16, finding 8, through the organiser's upload page."""
    make_contest(admin_web.rt)
    admin_web.login("btc")
    data = ("Họ và tên,Chức vụ,Đơn vị,Cấp\nNguyễn Văn An,\"" + "x" * 200_000 + "\",Sở Nội vụ,sở\n").encode()
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/nhap", {"kind": "roster", "file": (io.BytesIO(data), "ds.csv")},
                          content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Tệp ds.csv, dòng 2: có một ô dài quá 131.072 ký tự" in page
    assert api.list_candidates(admin_web.rt, "cds2023") == []
