"""Grading the whole contest in one action: every present candidate's practical sandbox is
graded on every core (``grader.batch.grade_many``), the score report is kept with the part's
points (``PartScore(source="grader")``) and the decision is recorded (``ContestEvent``).

The grader scores against the exam set's own maximum; the part's points are that share of
the part's declared points (a 40-point exam set in a 40-point part: unchanged). A score an
examiner entered by hand (``source="manual"``, an appeal for instance) or imported from a file
(``source="import"``: a part taken elsewhere, a past contest) is an organiser's decision: it is
kept, never overwritten by grading, unless ``include_imported`` is asked for.

A score report with grader errors (criteria the grader could not judge because the exam set
names something the sandbox lacks, ``"verdict": "error"``) is stored like any other, so the
results page can show it, but it is not final: the summary names those candidates and
criteria, and ``sandbox contest grade`` exits 2."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Sandbox

from .models import Candidate, Contest, ContestEvent, ContestPart, PartScore
from .results import grader_errors


@dataclass
class GradeSummary:
    contest: str
    part: str
    graded: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)      # (number, message)
    #: (number, [(criterion, reason)]): graded, but some criteria could not be judged (the exam's fault)
    grader_errors: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    kept_manual: list[str] = field(default_factory=list)     # numbers whose manual/imported score is kept
    #: (number, job kind, last reason): background work (the automatic clerk's release) that
    #: failed, so the sandbox lacks it through no fault of the candidate: graded, not final
    failed_jobs: list[tuple[str, str, str]] = field(default_factory=list)
    jobs_run: int = 0
    no_sandbox: list[str] = field(default_factory=list)
    absent: int = 0
    workers: int = 1
    mean: float | None = None
    full_marks: int = 0
    zero: int = 0

    def lines(self) -> list[str]:
        from .results import vn_count, vn_num
        out = [f"Đã chấm phần {self.part} của {vn_count(self.graded)} thí sinh ({self.workers} tiến trình song song)."]
        if self.mean is not None:
            out.append(f"Điểm trung bình phần {self.part}: {vn_num(self.mean)}; đạt tối đa: {vn_count(self.full_marks)}; "
                       f"0 điểm: {vn_count(self.zero)}.")
        if self.absent:
            out.append(f"Không chấm {vn_count(self.absent)} thí sinh vắng mặt.")
        if self.kept_manual:
            out.append(f"Giữ nguyên điểm đã nhập (từ tệp hoặc giám khảo nhập tay) của {vn_count(len(self.kept_manual))} "
                       "thí sinh, không chấm lại.")
        if self.no_sandbox:
            out.append("Không có bài thực hành (chưa tạo sandbox): " + ", ".join(self.no_sandbox) + ".")
        for number, message in self.errors:
            out.append(f"Lỗi khi chấm {number}: {message}")
        if self.jobs_run:
            out.append(f"Đã hoàn tất trước khi chấm {vn_count(self.jobs_run)} việc nền còn chờ (văn thư tự động).")
        if self.failed_jobs:
            out.append(f"LỖI VIỆC NỀN: {vn_count(len(self.failed_jobs))} việc của hệ thống (văn thư tự động) không "
                       "thực hiện được, bài của các thí sinh dưới đây thiếu phần đó không do lỗi của thí sinh; "
                       "điểm chưa phải điểm chính thức. Sửa nguyên nhân, chạy `sandbox jobs retry --failed --run` "
                       "rồi chấm lại:")
            out += [f"  {number}: {kind}: {reason}" for number, kind, reason in self.failed_jobs]
        if self.grader_errors:
            out.append(f"LỖI BỘ CHẤM: có {vn_count(len(self.grader_errors))} bài chưa chấm được do lỗi của đề thi "
                       "(không phải lỗi của thí sinh); điểm của các bài này chưa phải điểm chính thức. "
                       "Sửa đề rồi chấm lại:")
            for number, rows in self.grader_errors:
                out.append(f"  {number}: tiêu chí {', '.join(cid for cid, _ in rows)}")
                out += [f"    {cid}: {reason}" for cid, reason in rows]
        return out


def _practical_part(s, contest: Contest) -> ContestPart:
    part = s.scalar(select(ContestPart).where(ContestPart.contest_id == contest.id, ContestPart.kind == "practical")
                    .order_by(ContestPart.position, ContestPart.id))
    if part is None:
        raise SandboxError(f"Cuộc thi «{contest.code}» không có phần thi thực hành để chấm.", "no practical part")
    return part


def grade_contest(runtime, contest_code: str, *, workers: int | None = None, actor: str = "giam-khao",
                  numbers: list[str] | None = None, include_imported: bool = False) -> GradeSummary:
    """Grade every present candidate's practical sandbox (or only ``numbers``) and store the
    points and score reports. Returns what was done."""
    import os

    from grader.batch import grade_many

    with runtime.db.read() as s:
        contest = s.scalar(select(Contest).where(Contest.code == contest_code))
        if contest is None:
            raise SandboxError(f"Không tìm thấy cuộc thi «{contest_code}».", f"contest {contest_code!r}")
        part = _practical_part(s, contest)
        contest_id, part_id, part_name, part_points = contest.id, part.id, part.name, part.points
        cands = s.scalars(select(Candidate).where(Candidate.contest_id == contest_id)
                          .order_by(Candidate.number)).all()
        kept_sources = ("manual",) if include_imported else ("manual", "import")
        manual = set(s.scalars(select(PartScore.candidate_id).where(PartScore.part_id == part_id,
                                                                    PartScore.source.in_(kept_sources))))
        summary = GradeSummary(contest_code, part_name)
        todo: dict[int, tuple[int, str]] = {}          # sandbox id -> (candidate id, number)
        names = [c.sandbox_name for c in cands if c.sandbox_name]
        sandbox_ids = dict(s.execute(select(Sandbox.name, Sandbox.id).where(Sandbox.name.in_(names))).all()) \
            if names else {}
        scored = set(s.scalars(select(PartScore.candidate_id).where(PartScore.part_id == part_id)))
        for c in cands:
            if numbers is not None and c.number not in numbers:
                continue
            if c.attendance == "absent":
                summary.absent += 1
                continue
            if c.id in manual:
                summary.kept_manual.append(c.number)
                continue
            sb_id = sandbox_ids.get(c.sandbox_name) if c.sandbox_name else None
            if sb_id is None:
                if c.id not in scored:
                    summary.no_sandbox.append(c.number)
                continue
            todo[sb_id] = (c.id, c.number)
    _finish_background_work(runtime, todo, summary)
    summary.workers = 1 if len(todo) <= 8 else (workers or os.cpu_count() or 1)
    reports = grade_many(runtime, list(todo), workers=workers) if todo else {}
    now = runtime.clock.now()
    points_given: list[float] = []
    with runtime.db.write() as s:
        rows = {r.candidate_id: r for r in s.scalars(select(PartScore).where(
            PartScore.part_id == part_id, PartScore.candidate_id.in_([c for c, _n in todo.values()])))} if todo else {}
        for sb_id, report in reports.items():
            cand_id, number = todo[sb_id]
            if "error" in report:
                summary.errors.append((number, report["error"]))
                continue
            mx = report.get("max") or 0
            pts = round(report["total"] * part_points / mx, 2) if mx else 0.0
            row = rows.get(cand_id)
            if row is None:
                row = PartScore(candidate_id=cand_id, part_id=part_id)
                s.add(row)
            row.points, row.source, row.report, row.at = pts, "grader", report, now
            points_given.append(pts)
            summary.graded += 1
            errored = grader_errors(report)
            if errored:
                summary.grader_errors.append((number, errored))
        if points_given:
            summary.mean = round(sum(points_given) / len(points_given), 2)
            summary.full_marks = sum(1 for p in points_given if p >= part_points)
            summary.zero = sum(1 for p in points_given if p == 0)
        s.add(ContestEvent(contest_id=contest_id, at=now, actor=actor, kind="grade",
                           detail={"part": part_name, "graded": summary.graded, "workers": summary.workers,
                                   "errors": [list(e) for e in summary.errors], "kept_manual": summary.kept_manual,
                                   "no_sandbox": summary.no_sandbox, "mean": summary.mean,
                                   "failed_jobs": [list(f) for f in summary.failed_jobs],
                                   "grader_errors": [[n, [list(r) for r in rows]] for n, rows in summary.grader_errors]},
                           reason="Chấm toàn bộ phần thi thực hành"))
    return summary


def _finish_background_work(runtime, todo: dict[int, tuple[int, str]], summary: GradeSummary) -> None:
    """Before grading: what the sandboxes' automatic participants still have to do (the clerk's
    release of a forwarded draft) is done now, in this process, so a release the worker had not
    reached yet counts; jobs that failed for good are named in the summary."""
    from sandbox.kernel import jobs

    if not todo:
        return
    ids = list(todo)
    open_ = (jobs.PENDING, jobs.RUNNING)
    with runtime.db.read() as s:
        due = list(s.scalars(select(jobs.Job.sandbox_id).where(jobs.Job.sandbox_id.in_(ids), jobs.Job.status.in_(open_))
                             .distinct()))
    for sb in due:
        summary.jobs_run += sum(1 for r in jobs.drain(runtime, sandbox_id=sb, timeout=30.0) if r.status == jobs.DONE)
    with runtime.db.read() as s:
        for sb, failed in jobs.failed_of(s, ids).items():
            for job in failed:
                reason = job.errors[-1]["reason"] if job.errors else ""
                summary.failed_jobs.append((todo[sb][1], job.kind, reason))
        for job in s.scalars(select(jobs.Job).where(jobs.Job.sandbox_id.in_(ids), jobs.Job.status.in_(open_))):
            reason = job.errors[-1]["reason"] if job.errors else ""
            summary.failed_jobs.append((todo[job.sandbox_id][1], job.kind,
                                        "chưa xong, đang chờ thử lại" + (f" ({reason})" if reason else "")))


def score_report(runtime, contest_code: str, number: str) -> dict | None:
    """The grader's score report (with its evidence) behind a candidate's practical points."""
    with runtime.db.read() as s:
        row = s.execute(select(PartScore.report).join(Candidate, Candidate.id == PartScore.candidate_id)
                        .join(Contest, Contest.id == Candidate.contest_id)
                        .join(ContestPart, ContestPart.id == PartScore.part_id)
                        .where(Contest.code == contest_code, Candidate.number == number,
                               ContestPart.kind == "practical")).first()
        return row[0] if row else None


__all__ = ["GradeSummary", "grade_contest", "grader_errors", "score_report"]
