"""Re-grading and appeals for contest candidates: the baseline is the contest's stored score
report, applying updates the practical part's points and records a contest event; an
appeal's adjustment makes the part score an examiner's (``manual``), which grading keeps."""
from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.appeals import api as appeals
from sandbox.contest.api import events
from sandbox.contest.grading import grade_contest
from sandbox.contest.results import results_for
from scenarios.library import load
from tests.contest.results_factory import add_candidate, add_units, make_contest, set_part_score
from tests.scenarios.harness import Candidate

DATA = Path(__file__).parents[1] / "scenarios" / "data"


def _corrected(tmp_path: Path) -> Path:
    doc = yaml.safe_load((DATA / "minimal.yaml").read_text(encoding="utf-8"))
    doc["rubric"]["version"] = 2
    doc["rubric"]["criteria"][0]["check"]["params"]["field"] = "any"
    doc["rubric"]["criteria"][1]["points"] = 5
    doc["points"] = 11
    (tmp_path / "v2").mkdir()
    path = tmp_path / "v2" / "minimal.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_contest_regrade_and_appeal(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    contest = make_contest(rt)
    units = add_units(rt, contest, [("Sở Tư pháp", "so")])
    loaded = load(DATA / "minimal.yaml")
    for i, how in enumerate(["to", "cc", "none"], 1):
        c = Candidate(rt, loaded, seed=i, name=f"cds-{i:04d}")
        to = c.v["recipient"]["email"]
        if how == "to":
            c.send([to], c.v["subject"], "Kính gửi,")
        elif how == "cc":
            c.send([c.email("thu")], c.v["subject"], "Kính gửi,", cc=[to])
        add_candidate(rt, contest, units["Sở Tư pháp"], f"CT-{i:04d}", f"Thí sinh {i}", sandbox_name=c.res.name,
                      scenario_id="minimal", attendance="present")
    imported = add_candidate(rt, contest, units["Sở Tư pháp"], "CT-0009", "Thí sinh nhập điểm", attendance="present")
    set_part_score(rt, imported, contest["parts"]["Thực hành"], 30, "import")
    summary = grade_contest(rt, "cds2023", workers=1)
    assert summary.graded == 3

    plan = appeals.dry_run(rt, str(_corrected(tmp_path)), contest="cds2023", workers=1)
    assert [(c.name, c.label, c.baseline) for c in plan.candidates] == [
        ("cds-0001", "SBD CT-0001", "contest"), ("cds-0002", "SBD CT-0002", "contest"),
        ("cds-0003", "SBD CT-0003", "contest")]
    assert [c.name for c in plan.affected] == ["cds-0001", "cds-0002"]
    by_name = {c.name: c for c in plan.candidates}
    assert (by_name["cds-0001"].old_total, by_name["cds-0001"].new_total) == (10, 11)
    assert (by_name["cds-0002"].old_total, by_name["cds-0002"].new_total) == (4, 11)

    appeals.apply(rt, plan, by="Hội đồng thi", reason="Sửa đáp án M1, M2")
    res = {c.number: c for c in results_for(rt, "cds2023").candidates}
    practical = {n: next(p for p in c.parts if p.kind == "practical") for n, c in res.items()}
    assert practical["CT-0002"].points == 40 and practical["CT-0002"].report["rubric_version"] == 2
    assert practical["CT-0003"].points == 0
    assert practical["CT-0009"].points == 30 and practical["CT-0009"].source == "import"
    ev = events(rt, "cds2023", "regrade")
    assert len(ev) == 3 and ev[1].actor == "Hội đồng thi" and ev[1].reason == "Sửa đáp án M1, M2"
    assert ev[1].detail["old_total"] == 4 and ev[1].detail["new_total"] == 11

    # an appeal of CT-0003 (nothing sent: M1 0) is decided with an adjustment
    name = appeals.sandbox_of_candidate(rt, "cds2023", "CT-0003")
    a = appeals.request_appeal(rt, name, ["M1"], "Tôi đã gửi thư nhưng hệ thống báo lỗi")
    assert (a.contest_code, a.candidate_number, a.candidate_name) == ("cds2023", "CT-0003", "Thí sinh 3")
    appeals.review(rt, a.id, reviewer="Giám khảo hai", note="Nhật ký có lỗi máy chủ lúc gửi")
    appeals.decide(rt, a.id, by="Hội đồng thi", text="Chấp nhận", sign=False,
                   adjustments=[{"criterion": "M1", "points": 6, "reason": "Lỗi máy chủ đã xác minh"}])
    practical = next(p for p in {c.number: c for c in results_for(rt, "cds2023").candidates}["CT-0003"].parts
                     if p.kind == "practical")
    assert practical.source == "manual" and practical.points == round(6 * 40 / 11, 2)
    assert [e.kind for e in events(rt, "cds2023") if e.kind.startswith("appeal")] == ["appeal_request",
                                                                                     "appeal_decision"]
    # grading the contest again keeps the examiner's decision
    assert "CT-0003" in grade_contest(rt, "cds2023", workers=1).kept_manual
