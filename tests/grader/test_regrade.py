"""Acceptance 2 of issue 8: a rubric change (one criterion's points, one check's parameter)
dry-runs to the exact list of affected candidates among 20, then applies, and the audit shows
who, when, why, and the old and new totals. Nothing is saved by the dry run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sandbox.appeals import api as appeals
from sandbox.cli import main
from sandbox.appeals.models import GradeRecord, RegradeRun
from sandbox.kernel.errors import SandboxError
from scenarios.library import load
from tests.scenarios.harness import Candidate

DATA = Path(__file__).parents[1] / "scenarios" / "data"
EXAMINER = "Nguyễn Thị Giám Khảo"
REASON = "Sửa đáp án: chấp nhận người nhận ở ô CC; tiêu đề đúng được 5 điểm"

# what each candidate does, by index % 5, and what the changed rubric does to them
#   0: To + right subject   -> M2 4 -> 5                 (affected)
#   1: To + wrong subject   -> nothing changes
#   2: CC + right subject   -> M1 0 -> 6, M2 4 -> 5      (affected)
#   3: CC + wrong subject   -> M1 0 -> 6                 (affected)
#   4: sends nothing        -> nothing changes
EXPECTED = {0: {"M2": (4, 5)}, 2: {"M1": (0, 6), "M2": (4, 5)}, 3: {"M1": (0, 6)}}


def _changed_rubric(tmp_path: Path) -> Path:
    """The corrected file: same name (same scenario id), version 2, M1's check accepts the
    recipient in any field (a parameter), M2 is worth 5 instead of 4 (a criterion's points)."""
    doc = yaml.safe_load((DATA / "minimal.yaml").read_text(encoding="utf-8"))
    doc["rubric"]["version"] = 2
    m1, m2 = doc["rubric"]["criteria"]
    m1["check"]["params"]["field"] = "any"
    m2["points"] = 5
    doc["points"] = 11
    folder = tmp_path / "corrected"
    folder.mkdir()
    path = folder / "minimal.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _sit(rt, n: int = 20) -> dict[str, int]:
    loaded = load(DATA / "minimal.yaml")
    kinds = {}
    for i in range(n):
        c = Candidate(rt, loaded, seed=i, name=f"ts{i:03d}")
        to, subject = c.v["recipient"]["email"].lower(), c.v["subject"]
        clerk = c.email("thu")
        kind = i % 5
        if kind == 0:
            c.send([to], subject, "Kính gửi chị,")
        elif kind == 1:
            c.send([to], "Danh sách", "Kính gửi chị,")
        elif kind == 2:
            c.send([clerk], subject, "Kính gửi,", cc=[to])
        elif kind == 3:
            c.send([clerk], "V/v danh sách", "Kính gửi,", cc=[to])
        kinds[c.res.name] = kind
    return kinds


@pytest.fixture
def twenty(runtime, tmp_path):
    """On SQLite and on PostgreSQL (when ``make test`` started it)."""
    return runtime, _sit(runtime), _changed_rubric(tmp_path)


def _expected_names(kinds):
    return sorted(n for n, k in kinds.items() if k in EXPECTED)


def test_dry_run_lists_exactly_the_affected_candidates_then_apply_is_audited(twenty):
    rt, kinds, corrected = twenty
    plan = appeals.dry_run(rt, str(corrected), workers=2)   # 20 sandboxes: worker processes grade them
    assert len(plan.candidates) == 20 and plan.old_versions == [1] and plan.new_version == 2
    assert sorted(c.name for c in plan.affected) == _expected_names(kinds)
    for c in plan.candidates:
        want = EXPECTED.get(kinds[c.name], {})
        assert {ch.id: (ch.old_awarded, ch.new_awarded) for ch in c.changes} == want, c.name
        assert c.delta == sum(b - a for a, b in want.values())
        assert (c.old_max, c.new_max) == (10, 11)
    moved = next(c for c in plan.affected if kinds[c.name] == 3)
    m1 = moved.changes[0]
    assert m1.delta == 6 and m1.evidence["cc"] and m1.evidence["message_id"]   # the new evidence
    assert any("M2: điểm tối đa 4 → 5" in x for x in plan.rubric_changes)
    assert any("M1: tham số «field» 'to' → 'any'" in x for x in plan.rubric_changes)
    with rt.db.read() as s:   # a dry run saves nothing
        assert s.query(GradeRecord).count() == 0 and s.query(RegradeRun).count() == 0

    run = appeals.apply(rt, plan, by=EXAMINER, reason=REASON)
    assert (run.actor, run.reason, run.new_version) == (EXAMINER, REASON, 2)
    assert sorted(a["name"] for a in appeals.runs(rt)[0].affected) == _expected_names(kinds)
    affected = {a["name"]: a for a in run.affected}
    first = affected["ts000"]
    assert (first["old_total"], first["new_total"], first["old_max"], first["new_max"]) == (10, 11, 10, 11)
    assert affected["ts003"]["old_total"] == 0 and affected["ts003"]["new_total"] == 6

    hist = appeals.history(rt, "ts003")
    assert [(r.kind, r.rubric_version, r.total, r.current) for r in hist] == [("grade", 1, 0, False),
                                                                          ("regrade", 2, 6, True)]
    assert (hist[1].actor, hist[1].reason, hist[1].at) == (EXAMINER, REASON, appeals.runs(rt)[0].at)
    # the old one is kept whole
    assert hist[0].report["rubric_version"] == 1 and hist[1].report["rubric_version"] == 2

    # a second dry run with the same file: nothing left to change, and the version must grow
    with pytest.raises(SandboxError) as e:
        appeals.dry_run(rt, str(corrected))
    assert "phải tăng phiên bản đáp án" in e.value.message_vi


def test_cli_dry_run_and_apply(twenty, tmp_path):
    rt, kinds, corrected = twenty
    base = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url]
    runner = CliRunner()
    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected), "--sandboxes", "ts00*", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["applied"] is False and out["graded"] == 10
    assert sorted(out["affected"]) == [n for n in _expected_names(kinds) if n.startswith("ts00")]

    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected)])
    assert res.exit_code == 0, res.output
    assert "12 thí sinh thay đổi điểm" in res.output and "chạy thử" in res.output
    assert "ts003" in res.output and "M1: 0 → 6 (+6)" in res.output

    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected), "--apply"])
    assert res.exit_code == 2 and "--by" in res.output and "Traceback" not in res.output

    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected), "--apply", "--by", EXAMINER,
                                      "--reason", REASON])
    assert res.exit_code == 0, res.output
    assert f"bởi {EXAMINER}" in res.output

    res = runner.invoke(main, base + ["grade-history"])
    assert res.exit_code == 0 and EXAMINER in res.output and REASON in res.output
    assert "ts002: 4/10 → 11/11 [M1, M2]" in res.output
    res = runner.invoke(main, base + ["grade-history", "ts002"])
    assert "regrade" in res.output and "11/11" in res.output


def test_bad_input_gives_vietnamese_messages(twenty, tmp_path):
    rt, _kinds, corrected = twenty
    base = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url]
    runner = CliRunner()
    res = runner.invoke(main, base + ["regrade", "--scenario", str(tmp_path / "khong-co.yaml")])
    assert res.exit_code == 2 and "Không tìm thấy đề" in res.output
    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected), "--sandboxes", "zz*"])
    assert res.exit_code == 2 and "Không có sandbox nào khớp mẫu «zz*»" in res.output
    res = runner.invoke(main, base + ["regrade", "--scenario", str(DATA / "minimal.yaml")])
    assert res.exit_code == 2 and "phải tăng phiên bản đáp án" in res.output
    res = runner.invoke(main, base + ["regrade", "--scenario", str(corrected), "--contest", "khongco"])
    assert res.exit_code == 2 and "Không tìm thấy cuộc thi «khongco»" in res.output
