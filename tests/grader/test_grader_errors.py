"""The grader-error state: a rubric name the sandbox does not have (``doc: kh99`` where the
exam set seeds ``kh98``; an instance whose anchors lack a name) is the exam's fault. The
criterion is ``"verdict": "error"``, never the candidate-facing fail message; the report
says ``"gradable": False``; every place that shows scores says so loudly (``sandbox grade``
and ``sandbox contest grade`` exit 2, the organiser's results page, the score sheet, the
practice feedback).

The broken exam set is built by parsing the shipped YAML and validating only its structure
(``Scenario.model_validate``): the cross-reference validator rejects ``kh99`` on purpose,
and the grader-error state is the safety net for what it cannot see."""
from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from grader.engine import ERROR_MESSAGE, grade
from grader.report import report_html, report_pdf
from grader.state import GraderError, SandboxState
from sandbox.cli import main
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.errors import SandboxError
from scenarios import library, yamlsrc
from scenarios.build import build
from scenarios.models import ScenarioInstance
from scenarios.schema import Scenario

EXAM = "thi-2022-de-1"
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _exam_data() -> dict:
    return yamlsrc.parse((library.LIBRARY / f"{EXAM}.yaml").read_text(encoding="utf-8")).data


def _criterion(data: dict, cid: str) -> dict:
    return next(c for c in data["rubric"]["criteria"] if c["id"] == cid)


def broken_scenario(*, requires: bool = False) -> Scenario:
    """The exam set with D1's document renamed kh98 -> kh99 (structure only: no cross-reference
    validation); with ``requires``, D3 requires D1."""
    data = _exam_data()
    d1 = _criterion(data, "D1")
    assert d1["check"]["params"]["doc"] == "kh98"
    d1["check"]["params"]["doc"] = "kh99"
    if requires:
        _criterion(data, "D3")["requires"] = "D1"
    return Scenario.model_validate(data)


def _build(rt, name: str = "ts007", seed: int = 7, **kw):
    if not isinstance(rt.clock, FixedClock):
        rt.clock = rt.dispatcher.clock = FixedClock(START)
    return build(rt, library.load(EXAM), seed, name, start=START, **kw)


def _drop_anchor(rt, sandbox_id: int, kind: str, name: str) -> None:
    """The instance no longer has ``name`` (built from an older exam set, say): validation of
    the file cannot see that, only the grader at run time."""
    with rt.db.write() as s:
        inst = s.scalar(select(ScenarioInstance).where(ScenarioInstance.sandbox_id == sandbox_id))
        anchors = copy.deepcopy(inst.anchors)
        del anchors[kind][name]
        inst.anchors = anchors


# --- the engine ---------------------------------------------------------------------------------
def test_an_unresolved_reference_is_a_grader_error_not_a_fail(runtime):
    res = _build(runtime)
    good = grade(SandboxState(runtime, res.sandbox_id), library.load(EXAM).scenario)
    assert good["errors"] == [] and good["gradable"] is True

    sc = broken_scenario()
    report = grade(SandboxState(runtime, res.sandbox_id), sc)
    d1 = next(c for c in report["criteria"] if c["id"] == "D1")
    assert d1["verdict"] == "error" and d1["awarded"] == 0.0
    assert d1["message"] == ERROR_MESSAGE and "không phải lỗi của thí sinh" in d1["message"]
    fail_message = _criterion(_exam_data(), "D1")["fail_message"]
    assert fail_message not in json.dumps(report, ensure_ascii=False)
    assert "Chưa ghi ý kiến chỉ đạo" not in d1["message"]
    assert "văn bản đến 'kh99'" in d1["error"] and "no incoming kh99" in d1["error"]
    assert report["errors"] == ["D1"] and report["gradable"] is False
    # the rest is graded as usual; the totals are still there
    others = {c["id"]: c["verdict"] for c in report["criteria"] if c["id"] != "D1"}
    assert others == {c["id"]: c["verdict"] for c in good["criteria"] if c["id"] != "D1"}
    assert report["total"] == good["total"] and report["max"] == good["max"]
    assert sum(t["awarded"] for t in report["tasks"]) == report["total"]


def test_a_criterion_requiring_an_errored_one_is_an_error_too(sqlite_runtime):
    res = _build(sqlite_runtime)
    report = grade(SandboxState(sqlite_runtime, res.sandbox_id), broken_scenario(requires=True))
    d3 = next(c for c in report["criteria"] if c["id"] == "D3")
    assert d3["verdict"] == "error" and d3["message"] == ERROR_MESSAGE and "D1" in d3["error"]
    assert report["errors"] == ["D1", "D3"] and report["gradable"] is False


def test_a_partial_rule_with_an_unresolved_reference_is_an_error(sqlite_runtime):
    res = _build(sqlite_runtime)
    data = _exam_data()
    m3 = _criterion(data, "M3")          # fails (nothing sent), so its partial rule runs
    m3["partial"].append({"points": 2, "check": {"type": "docflow.directive", "params": {"doc": "kh99"}}})
    report = grade(SandboxState(sqlite_runtime, res.sandbox_id), Scenario.model_validate(data))
    row = next(c for c in report["criteria"] if c["id"] == "M3")
    assert row["verdict"] == "error" and "kh99" in row["error"] and report["errors"] == ["M3"]


def test_an_instance_lacking_an_anchor_and_unknown_attachment_names(sqlite_runtime):
    res = _build(sqlite_runtime)
    _drop_anchor(sqlite_runtime, res.sandbox_id, "incoming", "kh98")
    state = SandboxState(sqlite_runtime, res.sandbox_id)
    report = grade(state, library.load(EXAM).scenario)
    uses_kh98 = [c["id"] for c in _exam_data()["rubric"]["criteria"] if c["check"]["params"].get("doc") == "kh98"]
    assert "D1" in uses_kh98 and report["errors"] == uses_kh98 and report["gradable"] is False
    with pytest.raises(GraderError) as exc:
        state.seed_attachment_sha256("chi_dao", "khong-co-tep.pdf")
    assert isinstance(exc.value, SandboxError) and "khong-co-tep.pdf" in exc.value.message_vi
    for lookup in (lambda: state.seed_mail("khong_co"), lambda: state.target("khong_co"),
                   lambda: state.anchor("drafts", "khong_co"), lambda: state.outgoing("khong_co")):
        with pytest.raises(GraderError) as exc:
            lookup()
        assert "khong_co" in exc.value.message_vi and "Đề thi tham chiếu" in exc.value.message_vi


# --- what shows scores --------------------------------------------------------------------------
def test_score_sheet_says_grader_error_not_failed(sqlite_runtime, tmp_path):
    res = _build(sqlite_runtime)
    report = grade(SandboxState(sqlite_runtime, res.sandbox_id), broken_scenario())
    html = report_html(report)
    assert "CHƯA PHẢI ĐIỂM CHÍNH THỨC" in html and "Lỗi bộ chấm" in html
    row = html.split("<td>D1</td>")[1].split("</tr>")[0]
    assert "Lỗi bộ chấm" in row and "Không đạt" not in row and "Chưa ghi ý kiến chỉ đạo" not in row
    assert "kh99" in row
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report_pdf(report))
    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
        assert "CHƯA PHẢI ĐIỂM CHÍNH THỨC" in text and "Lỗi bộ chấm" in text


@pytest.fixture
def broken_load(monkeypatch):
    """Grading loads the sandbox's exam set with ``scenarios.library.load``: hand it the broken
    one (the validator, being extended, would refuse to load a kh99 file at all)."""
    real = library.load

    def load(ref, check_validator=None, folder=library.LIBRARY):
        loaded = real(ref, check_validator, folder)
        return library.Loaded(loaded.id, loaded.path, broken_scenario()) if loaded.id == EXAM else loaded

    monkeypatch.setattr(library, "load", load)


def _cli(rt) -> list[str]:
    return ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url]


def test_cli_grade_prints_the_errors_and_exits_2(sqlite_runtime, broken_load):
    _build(sqlite_runtime)
    r = CliRunner().invoke(main, _cli(sqlite_runtime) + ["grade", "ts007"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    d1 = next(line for line in r.stdout.splitlines() if line.startswith("D1"))
    assert "LỖI BỘ CHẤM" in d1 and "không đạt" not in d1 and "Chưa ghi ý kiến chỉ đạo" not in d1
    assert "CHƯA PHẢI ĐIỂM CHÍNH THỨC" in r.stdout
    assert "Lỗi bộ chấm: 1 tiêu chí" in r.stderr and "kh99" in r.stderr

    j = CliRunner().invoke(main, _cli(sqlite_runtime) + ["grade", "ts007", "--json"])
    assert j.exit_code == 2
    report = json.loads(j.stdout)
    assert report["errors"] == ["D1"] and report["gradable"] is False and "kh99" in j.stderr


def test_contest_grade_names_the_errors_exits_2_and_the_results_page_shows_them(sqlite_runtime):
    from tests.contest.conftest import ADMIN_PASSWORD, AdminClient
    from tests.contest.results_factory import add_candidate, add_units, make_contest, set_part_score

    from sandbox.contest.api import add_admin
    from sandbox.contest.grading import score_report
    from sandbox.contest.results import results_for
    from sandbox.web import create_app

    rt = sqlite_runtime
    add_admin(rt, "btc", "Nguyễn Văn Tổ Chức", "organiser", ADMIN_PASSWORD)
    admin_web = AdminClient(create_app(rt), rt)
    contest = make_contest(rt, "loi2026")
    unit = add_units(rt, contest, [("Sở Nội vụ", "so")])["Sở Nội vụ"]
    theory, practical = contest["parts"]["Lý thuyết"], contest["parts"]["Thực hành"]
    built = {}
    for i, number in enumerate(["TS001", "TS002"], 1):
        name = f"loi2026-{number.lower()}"
        cid = add_candidate(rt, contest, unit, number, f"Thí sinh {number}", seed=i, scenario_id=EXAM,
                            attendance="present", sandbox_name=name)
        set_part_score(rt, cid, theory, 50, "theory")
        built[number] = _build(rt, name, seed=i)
    _drop_anchor(rt, built["TS002"].sandbox_id, "incoming", "kh98")

    r = CliRunner().invoke(main, _cli(rt) + ["contest", "grade", "loi2026", "--workers", "1"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert "Đã chấm phần Thực hành của 02 thí sinh" in r.output      # everyone graded
    assert "LỖI BỘ CHẤM: có 01 bài chưa chấm được do lỗi của đề thi" in r.output
    assert "TS002: tiêu chí D1" in r.output and "kh98" in r.output and "TS001:" not in r.output

    stored = score_report(rt, "loi2026", "TS002")          # the flag is kept with the stored report
    assert stored["gradable"] is False and "D1" in stored["errors"]
    res = results_for(rt, "loi2026")
    by = {c.number: c for c in res.candidates}
    assert by["TS001"].final and not by["TS002"].final
    assert [c.number for c in res.not_final] == ["TS002"]
    assert any("TS002" in w and "lỗi của đề thi" in w for w in res.warnings)   # the official report's notes

    admin_web.login("btc")
    page = admin_web.get("/quan-tri/cuoc-thi/loi2026/ket-qua").get_data(as_text=True)
    assert "Có 1 bài chưa chấm được do lỗi của đề thi" in page
    banner = page.split('id="loi-bo-cham"')[1].split("</section>")[0]
    assert "TS002" in banner and "D1" in banner and "TS001" not in banner and "kh98" in banner
    table = page.split("<h2>Thí sinh</h2>")[1]
    row = table.split("<td>TS002</td>")[1].split("</tr>")[0]
    assert "Chưa chính thức" in row and "D1" in row
    assert "Chưa chính thức" not in table.split("<td>TS001</td>")[1].split("</tr>")[0]

    # the web button says it too
    flashed = admin_web.post("/quan-tri/cuoc-thi/loi2026/cham-diem", follow_redirects=True).get_data(as_text=True)
    assert "LỖI BỘ CHẤM" in flashed and "TS002: D1" in flashed


def test_practice_feedback_never_says_failed_for_a_grader_error(sqlite_runtime):
    import re

    from sandbox.training.api import criterion_statuses
    from sandbox.web import create_app

    res = _build(sqlite_runtime, "hv07", practice=True)
    _drop_anchor(sqlite_runtime, res.sandbox_id, "incoming", "kh98")
    client = create_app(sqlite_runtime).test_client()
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"login": res.candidate.address, "password": res.candidate.password,
                                "csrf_token": csrf.search(page).group(1)})
    sheet = client.get("/de-bai").get_data(as_text=True)
    checked = client.post("/de-bai/kiem-tra", data={"csrf_token": csrf.search(sheet).group(1)},
                          follow_redirects=True).get_data(as_text=True)
    assert "chưa chấm được do lỗi của đề thi" in checked
    row = checked.split("D1.")[1].split("</tr>")[0]
    assert "Lỗi bộ chấm" in row and "Chưa đạt" not in row and "Chưa ghi ý kiến chỉ đạo" not in row

    report = grade(SandboxState(sqlite_runtime, res.sandbox_id), library.load(EXAM).scenario)
    for acted in (0, 3):
        statuses = criterion_statuses(report, {}, acted)
        assert statuses["D1"] == "error"
