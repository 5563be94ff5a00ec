"""Issue 14: grading a contest first finishes the background work its sandboxes still wait
for (the automatic clerk's release of a forwarded draft), so a release the worker had not
reached counts; a job that failed for good is named (the candidate's work lacks it through no
fault of theirs: graded, not final, exit 2), and `sandbox jobs list` / `sandbox jobs retry`
put it right before grading again."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select, update

from docflow.common import AUTO_CLERK_JOB
from sandbox.cli import main
from sandbox.contest.grading import grade_contest
from sandbox.kernel import jobs
from sandbox.kernel.errors import SandboxError
from scenarios.library import load
from tests.scenarios import plans
from tests.scenarios.harness import START, Candidate

from .results_factory import add_candidate, add_shift, add_units, make_contest, set_part_score

SET = "thi-2022-de-1"


def _contest_with_forwarded_drafts(rt, numbers, monkeypatch):
    """Each candidate signs and forwards the draft; no worker runs (the plan's own wait for the
    clerk is switched off while it plays), so every release is still a pending job."""
    contest = make_contest(rt, "cho2022")
    units = add_units(rt, contest, [("Sở Nội vụ", "so")])
    shift = add_shift(rt, contest, "Ca 1", SET)
    loaded = load(SET)
    for i, number in enumerate(numbers, 1):
        name = f"cho2022-{number.lower()}"
        cid = add_candidate(rt, contest, units["Sở Nội vụ"], number, f"Thí sinh {number}", shift_id=shift, seat=i,
                            seed=i, scenario_id=SET, attendance="present", sandbox_name=name)
        set_part_score(rt, cid, contest["parts"]["Lý thuyết"], 50, "theory")
        c = Candidate(rt, loaded, i, name)              # the candidate's sandbox, played through the APIs
        with monkeypatch.context() as m:
            m.setattr(jobs, "drain", lambda *a, **k: [])
            plans.ApiExecutor(c).run(plans.plan(loaded, c.v, START.date(), "golden"))
    return contest


def _open_jobs(rt) -> int:
    with rt.db.read() as s:
        return jobs.waiting(s)


def test_grading_runs_the_clerk_release_left_pending(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    _contest_with_forwarded_drafts(rt, ["TS001", "TS002"], monkeypatch)
    assert _open_jobs(rt) == 2          # no worker ran: both releases still wait for the clerk

    summary = grade_contest(rt, "cho2022")

    assert _open_jobs(rt) == 0
    assert summary.jobs_run == 2 and summary.failed_jobs == []
    assert summary.graded == 2 and summary.full_marks == 2, summary.lines()
    assert any("việc nền còn chờ" in line for line in summary.lines())


def test_a_failed_release_is_named_and_retried(sqlite_runtime, monkeypatch, tmp_path):
    rt = sqlite_runtime
    _contest_with_forwarded_drafts(rt, ["TS001"], monkeypatch)
    original = jobs.KINDS[AUTO_CLERK_JOB]

    def broken(run):
        raise SandboxError("Thiết bị ký số của cơ quan không phản hồi.", "token offline (test)")

    monkeypatch.setitem(jobs.KINDS, AUTO_CLERK_JOB, broken)
    with rt.db.write() as s:
        s.execute(update(jobs.Job).values(max_attempts=1))
    summary = grade_contest(rt, "cho2022")
    assert summary.graded == 1 and summary.jobs_run == 0     # graded without the release…
    assert [(n, k) for n, k, _r in summary.failed_jobs] == [("TS001", AUTO_CLERK_JOB)]
    assert "không phản hồi" in summary.failed_jobs[0][2]
    text = "\n".join(summary.lines())
    assert "LỖI VIỆC NỀN" in text and "sandbox jobs retry" in text   # …and said not to be final

    runner = CliRunner()
    data = ["--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url or ""]
    listed = runner.invoke(main, [*data, "jobs", "list"])
    assert listed.exit_code == 1, listed.output
    assert "cho2022-ts001" in listed.output and "lỗi" in listed.output and "không phản hồi" in listed.output

    graded = runner.invoke(main, [*data, "contest", "grade", "cho2022"])
    assert graded.exit_code == 2 and "LỖI VIỆC NỀN" in graded.output, graded.output

    monkeypatch.setitem(jobs.KINDS, AUTO_CLERK_JOB, original)     # the token is back
    retried = runner.invoke(main, [*data, "jobs", "retry", "--failed", "--run"])
    assert retried.exit_code == 0, retried.output
    assert "Đã xếp hàng lại 1 việc nền" in retried.output
    with rt.db.read() as s:
        job = s.scalars(select(jobs.Job)).one()
        assert job.status == jobs.DONE
        assert [e["reason"] for e in job.errors][-1].startswith("cho chạy lại theo yêu cầu")
        assert any("không phản hồi" in e["reason"] for e in job.errors)     # the history is kept

    again = runner.invoke(main, [*data, "contest", "grade", "cho2022"])
    assert again.exit_code == 0, again.output
    assert "LỖI VIỆC NỀN" not in again.output
    assert grade_contest(rt, "cho2022").full_marks == 1
