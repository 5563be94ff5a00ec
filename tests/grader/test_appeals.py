"""Appeals (phúc khảo): the candidate's request, a second examiner's review with the evidence
(and the replay), the decision with a manual adjustment (audited, with its reason), and the
candidate-facing answer as a signed PDF that `sandbox verify` accepts and whose text shows
the decision."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.appeals import api as appeals
from sandbox.cli import main
from sandbox.kernel.errors import SandboxError
from scenarios.library import load
from tests.scenarios.harness import Candidate

DATA = Path(__file__).parents[1] / "scenarios" / "data"
FIRST = "giam-khao-1"
SECOND = "Trần Văn Phúc"
CHAIR = "Lê Thị Chủ Tịch"


@pytest.fixture
def graded(sqlite_runtime):
    """ts001 sent the mail to the right person with a subject in other words: M2 lost."""
    rt = sqlite_runtime
    c = Candidate(rt, load(DATA / "minimal.yaml"), seed=1, name="ts001")
    c.send([c.v["recipient"]["email"]], "Danh sách thí sinh dự thi", "Kính gửi chị,")
    rec = appeals.ensure_record(rt, "ts001", actor=FIRST)
    assert (rec.total, rec.actor) == (6, FIRST)
    return rt


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_request_review_decide_with_adjustment_and_signed_answer(graded, tmp_path):
    rt = graded
    a = appeals.request_appeal(rt, "ts001", ["m2"], "Tiêu đề của tôi đúng nghĩa với yêu cầu.")
    assert (a.criteria, a.status) == (["M2"], "submitted")

    with pytest.raises(SandboxError) as e:   # no decision before the second examiner's review
        appeals.decide(rt, a.id, by=CHAIR, text="…")
    assert "chưa được giám khảo thứ hai phúc khảo" in e.value.message_vi
    with pytest.raises(SandboxError) as e:   # the first examiner cannot review their own grading
        appeals.review(rt, a.id, reviewer=FIRST, note="Giữ nguyên")
    assert "giám khảo thứ hai" in e.value.message_vi

    r = appeals.review(rt, a.id, reviewer=SECOND, note="Đã xem lại thư gửi đi và phát lại phiên làm bài.",
                       run_replay=True)
    assert r.status == "reviewed"
    assert r.review["criteria"][0]["id"] == "M2" and r.review["criteria"][0]["evidence"]["message_id"]
    assert r.review["replay"]["report_same"] is True and r.review["replay_command"] == "sandbox replay ts001"

    with pytest.raises(SandboxError) as e:
        appeals.decide(rt, a.id, by=CHAIR, text="x", adjustments=[{"criterion": "M1", "points": 1, "reason": "y"}])
    assert "Chỉ điều chỉnh được tiêu chí có trong đơn (M2)" in e.value.message_vi
    with pytest.raises(SandboxError) as e:
        appeals.decide(rt, a.id, by=CHAIR, text="x", adjustments=[{"criterion": "M2", "points": "9", "reason": "y"}])
    assert "phải từ 0 đến 4" in e.value.message_vi
    with pytest.raises(SandboxError) as e:
        appeals.decide(rt, a.id, by=CHAIR, text="x", adjustments=[{"criterion": "M2", "points": "3", "reason": " "}])
    assert "Thiếu lý do điều chỉnh tiêu chí M2" in e.value.message_vi

    d = appeals.decide(rt, a.id, by=CHAIR, text="Chấp nhận một phần: tiêu đề đúng ý, khác câu chữ.",
                       adjustments=[{"criterion": "M2", "points": "2,5", "reason": "Tiêu đề đúng ý nhưng khác câu chữ"}])
    assert (d.decision, d.old_total, d.new_total) == ("changed", 6, 8.5)
    hist = appeals.history(rt, "ts001")
    assert [(h.kind, h.total, h.current) for h in hist] == [("grade", 6, False), ("appeal", 8.5, True)]
    m2 = next(c for c in hist[1].report["criteria"] if c["id"] == "M2")
    assert m2["awarded"] == 2.5 and m2["verdict"] == "partial"
    assert m2["adjusted"]["grader_awarded"] == 0 and m2["adjusted"]["by"] == CHAIR
    assert "Tiêu đề đúng ý" in hist[1].reason and hist[1].actor == CHAIR
    assert hist[1].report["adjustments"][0]["criterion"] == "M2"

    out = tmp_path / "tra-loi.pdf"
    out.write_bytes(appeals.answer_bytes(rt, a.id))
    ok = subprocess.run([sys.executable, "-m", "sandbox.cli", "verify", str(out), "--data-dir",
                         str(rt.settings.data_dir)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "HỢP LỆ" in ok.stdout
    if shutil.which("pdftotext"):
        text = " ".join(_pdftotext(out).split())
        assert "THÔNG BÁO KẾT QUẢ PHÚC KHẢO" in text
        assert "Thay đổi điểm: Chấp nhận một phần" in text
        assert "Tiêu đề đúng ý nhưng khác câu chữ" in text and SECOND in text
        assert "8,5" in text
    tampered = tmp_path / "sua.pdf"
    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = subprocess.run([sys.executable, "-m", "sandbox.cli", "verify", str(tampered), "--data-dir",
                          str(rt.settings.data_dir)], capture_output=True, text=True)
    assert bad.returncode != 0

    with pytest.raises(SandboxError) as e:
        appeals.decide(rt, a.id, by=CHAIR, text="lần hai")
    assert "đã có kết luận" in e.value.message_vi


def test_cli_appeal_flow_upheld(graded, tmp_path):
    rt = graded
    base = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url]
    runner = CliRunner()
    res = runner.invoke(main, base + ["appeal", "request", "ts001", "--criteria", "M9", "--reason", "x"])
    assert res.exit_code == 2 and "Phiếu chấm không có tiêu chí M9" in res.output
    res = runner.invoke(main, base + ["appeal", "request", "ts001", "--criteria", "M2", "--reason", "Xin xem lại"])
    assert res.exit_code == 0 and "đơn phúc khảo số 1" in res.output
    res = runner.invoke(main, base + ["appeal", "show", "1"])
    assert res.exit_code == 0 and "sandbox replay ts001" in res.output and "M2 0/4" in res.output
    res = runner.invoke(main, base + ["appeal", "review", "1", "--by", SECOND, "--note", "Tiêu đề sai yêu cầu"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, base + ["appeal", "decide", "1", "--by", CHAIR, "--text", "Giữ nguyên điểm đã chấm.",
                                      "--adjust", "M2 bốn điểm"])
    assert res.exit_code == 2 and "TIÊU_CHÍ=ĐIỂM:LÝ DO" in res.output
    out = tmp_path / "tra-loi.pdf"
    res = runner.invoke(main, base + ["appeal", "decide", "1", "--by", CHAIR, "--text", "Giữ nguyên điểm đã chấm.",
                                      "--out", str(out)])
    assert res.exit_code == 0 and "Giữ nguyên điểm (6 → 6)" in res.output
    assert out.read_bytes().startswith(b"%PDF")
    res = runner.invoke(main, base + ["appeal", "list"])
    assert "Đã kết luận" in res.output
    res = runner.invoke(main, base + ["appeal", "answer", "7", "--out", str(tmp_path / "x.pdf")])
    assert res.exit_code == 2 and "Không có đơn phúc khảo số 7" in res.output
    # upheld: no new record, the first stays current
    assert [(h.kind, h.current) for h in appeals.history(rt, "ts001")] == [("grade", True)]


def test_regrade_keeps_an_appeal_adjustment(graded, tmp_path):
    """A later rubric change re-applies the appeal's adjustment, visibly."""
    import yaml
    rt = graded
    a = appeals.request_appeal(rt, "ts001", ["M2"], "Xin xem lại tiêu đề")
    appeals.review(rt, a.id, reviewer=SECOND, note="Đúng ý")
    appeals.decide(rt, a.id, by=CHAIR, text="Cộng điểm", adjustments=[{"criterion": "M2", "points": 3, "reason": "Đúng ý"}],
                   sign=False)
    doc = yaml.safe_load((DATA / "minimal.yaml").read_text(encoding="utf-8"))
    doc["rubric"]["version"] = 2
    doc["rubric"]["criteria"][0]["points"] = 7
    doc["points"] = 11
    (tmp_path / "v2").mkdir()
    path = tmp_path / "v2" / "minimal.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan = appeals.dry_run(rt, str(path), workers=1)
    c = plan.candidates[0]
    assert [(ch.id, ch.old_awarded, ch.new_awarded) for ch in c.changes] == [("M1", 6, 7)]
    assert (c.old_total, c.new_total) == (9, 10)
    assert plan.new_reports[c.sandbox_id]["adjustments"][0]["criterion"] == "M2"


def test_a_plan_made_before_an_appeal_decision_is_refused(graded, tmp_path):
    import yaml
    rt = graded
    doc = yaml.safe_load((DATA / "minimal.yaml").read_text(encoding="utf-8"))
    doc["rubric"]["version"] = 2
    (tmp_path / "v2").mkdir()
    path = tmp_path / "v2" / "minimal.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan = appeals.dry_run(rt, str(path), workers=1)
    assert plan.affected == [] and len(plan.candidates) == 1
    a = appeals.request_appeal(rt, "ts001", ["M2"], "Xin xem lại")
    appeals.review(rt, a.id, reviewer=SECOND, note="Đúng ý")
    appeals.decide(rt, a.id, by=CHAIR, text="Cộng điểm", adjustments=[{"criterion": "M2", "points": 1, "reason": "Ý đúng"}],
                   sign=False)
    with pytest.raises(SandboxError) as e:
        appeals.apply(rt, plan, by=CHAIR, reason="Áp dụng")
    assert "đã thay đổi sau khi chạy thử" in e.value.message_vi
