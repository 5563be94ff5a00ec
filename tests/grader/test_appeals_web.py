"""The examiner's appeal pages at /quan-tri/phuc-khao: list, open one (evidence, timeline
link), the second examiner's review, the decision with an adjustment, the signed answer."""
from __future__ import annotations

from pathlib import Path

from sandbox.appeals import api as appeals
from sandbox.contest.api import add_admin
from sandbox.web import create_app
from scenarios.library import load
from tests.contest.conftest import ADMIN_PASSWORD, AdminClient
from tests.scenarios.harness import Candidate

DATA = Path(__file__).parents[1] / "scenarios" / "data"


def test_examiner_pages(sqlite_runtime):
    rt = sqlite_runtime
    c = Candidate(rt, load(DATA / "minimal.yaml"), seed=1, name="ts001")
    c.send([c.v["recipient"]["email"]], "Danh sách thí sinh dự thi", "Kính gửi chị,")
    appeals.ensure_record(rt, "ts001", actor="Trần Thị Giám Khảo")
    add_admin(rt, "gk", "Trần Thị Giám Khảo", "examiner", ADMIN_PASSWORD)
    add_admin(rt, "gk2", "Phạm Văn Phúc Khảo", "examiner", ADMIN_PASSWORD)
    add_admin(rt, "gv", "Lê Văn Giảng", "trainer", ADMIN_PASSWORD)
    app = create_app(rt)

    anon = app.test_client()
    assert anon.get("/quan-tri/phuc-khao/").status_code == 302
    trainer = AdminClient(app, rt).login("gv")
    assert trainer.get("/quan-tri/phuc-khao/").status_code == 403

    gk = AdminClient(app, rt).login("gk")
    page = gk.get("/quan-tri/phuc-khao/").get_data(as_text=True)
    assert "Chưa có đơn phúc khảo nào." in page
    resp = gk.post("/quan-tri/phuc-khao/", {"sandbox": "ts001", "criteria": "M7", "reason": "x"})
    assert resp.status_code == 302
    assert "Phiếu chấm không có tiêu chí M7" in gk.get("/quan-tri/phuc-khao/").get_data(as_text=True)
    resp = gk.post("/quan-tri/phuc-khao/", {"sandbox": "ts001", "criteria": "M2", "reason": "Tiêu đề đúng ý"})
    assert resp.headers["Location"].endswith("/quan-tri/phuc-khao/1")
    page = gk.get("/quan-tri/phuc-khao/1").get_data(as_text=True)
    assert "Đơn phúc khảo số 1" in page and "sandbox replay ts001" in page and "/quan-tri/phat-lai/ts001" in page
    assert "message_id" in page   # the disputed criterion's evidence
    # the first examiner cannot be the second
    gk.post("/quan-tri/phuc-khao/1/phuc-khao", {"note": "Giữ nguyên"})
    assert "giám khảo thứ hai" in gk.get("/quan-tri/phuc-khao/1").get_data(as_text=True)

    gk2 = AdminClient(app, rt).login("gk2")
    gk2.post("/quan-tri/phuc-khao/1/phuc-khao", {"note": "Tiêu đề đúng ý, khác câu chữ"})
    page = gk2.get("/quan-tri/phuc-khao/1").get_data(as_text=True)
    assert "Phạm Văn Phúc Khảo" in page and "Kết luận và ký văn bản trả lời" in page
    gk2.post("/quan-tri/phuc-khao/1/ket-luan", {"points_M2": "3", "reason_M2": "", "text": "Cộng điểm"})
    assert "Thiếu lý do điều chỉnh tiêu chí M2" in gk2.get("/quan-tri/phuc-khao/1").get_data(as_text=True)
    gk2.post("/quan-tri/phuc-khao/1/ket-luan", {"points_M2": "3", "reason_M2": "Đúng ý", "text": "Cộng 3 điểm"})
    page = gk2.get("/quan-tri/phuc-khao/1").get_data(as_text=True)
    assert "Thay đổi điểm" in page and "M2: 0 → 3 (Đúng ý)" in page and "(hiện hành)" in page
    pdf = gk2.get("/quan-tri/phuc-khao/1/tra-loi.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert "Đã kết luận" in gk2.get("/quan-tri/phuc-khao/").get_data(as_text=True)
    assert gk2.get("/quan-tri/phuc-khao/99").status_code == 404
