"""The organiser's results page: grade the whole contest in one action, the results by tier,
unit and candidate, and the report downloads (DOCX, PDF, XLSX)."""
from __future__ import annotations

from .results_factory import add_candidates, add_units, make_contest, scored


def test_results_page_grading_and_downloads(admin_web):
    rt = admin_web.rt
    contest = make_contest(rt)
    units = add_units(rt, contest, [("Sở Nội vụ", "so"), ("UBND quận Ninh Kiều", "huyen")])
    add_candidates(rt, contest, units, [
        ("CT23-0001", "Nguyễn Văn An", "Sở Nội vụ", scored(60, 40), None),
        ("CT23-0002", "Trần Thị Bình", "UBND quận Ninh Kiều", scored(50, 0), None),
        ("CT23-0003", "Lê Văn Cường", "UBND quận Ninh Kiều", None, "Ốm, có giấy nghỉ phép"),
    ])
    admin_web.login("gk")  # examiners see the results and download the report
    page = admin_web.get("/quan-tri/cuoc-thi/cds2023/ket-qua").get_data(as_text=True)
    assert "Kết quả: Cuộc thi" in page and "Nguyễn Văn An" in page and "Ốm, có giấy nghỉ phép" in page
    assert "Chấm toàn bộ phần thực hành" not in page      # only organisers grade
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        resp = admin_web.get(f"/quan-tri/cuoc-thi/cds2023/bao-cao.{fmt}")
        assert resp.status_code == 200 and resp.data.startswith(magic), fmt
        assert "attachment;" in resp.headers["Content-Disposition"]
    assert admin_web.get("/quan-tri/cuoc-thi/cds2023/bao-cao.exe").status_code == 404
    assert admin_web.post("/quan-tri/cuoc-thi/cds2023/cham-diem").status_code == 403

    admin_web.login("btc")
    page = admin_web.get("/quan-tri/cuoc-thi/cds2023/ket-qua").get_data(as_text=True)
    assert "Chấm toàn bộ phần thực hành" in page
    resp = admin_web.post("/quan-tri/cuoc-thi/cds2023/cham-diem", follow_redirects=True)
    assert resp.status_code == 200 and "Đã chấm phần thực hành" in resp.get_data(as_text=True)
    assert admin_web.post("/quan-tri/cuoc-thi/cds2023/cham-diem", csrf=False).status_code == 400
