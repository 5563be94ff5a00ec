"""Re-grading and appeals (phúc khảo), the stored side (issue 8).

Where things live: the pure dry run (grade with a corrected scenario file, compare) is
:mod:`grader.regrade`; everything that keeps or changes a score is here, on top, because it
touches the contest's tables (a contest candidate's ``PartScore`` and ``ContestEvent``) as
well as the grader's history. The tables are in :mod:`sandbox.appeals.models`.

- Every score report that counted is kept (``GradeRecord``) with the rubric version it used
  and who/when/why; exactly one is current per sandbox. The first one is taken from the
  contest's ``PartScore`` report when there is one, otherwise the sandbox is graded with the
  scenario file it was built from.
- :func:`dry_run` → :class:`grader.regrade.Plan` (nothing saved); :func:`apply` makes the
  plan's reports current, keeps the old ones, records a ``RegradeRun`` (and a contest event).
- An appeal: :func:`request_appeal` → :func:`review` (a second examiner, the evidence of the
  disputed criteria, optionally the replay) → :func:`decide` (any manual adjustment of a
  criterion's points, each with its reason, becomes a new current record) → the answer as a
  signed PDF (:func:`answer_pdf`).

A manual adjustment stays visible in every later report: the criterion keeps ``adjusted``
(who, why, the grader's own points) and the report lists its ``adjustments``; a later
re-grade re-applies them on top of the new rubric (capped at the criterion's new maximum)."""
from __future__ import annotations

import copy
import fnmatch
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from grader import regrade as rg
from sandbox.appeals.models import Appeal, GradeRecord, RegradeRun
from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.models import Sandbox

APPEAL_STATUS_VI = {"submitted": "Đã nhận đơn", "reviewed": "Đã phúc khảo, chờ kết luận", "decided": "Đã kết luận"}
DECISION_VI = {"upheld": "Giữ nguyên điểm", "changed": "Thay đổi điểm"}


def _nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", (text or "").strip())


def _need(value: str | None, what: str) -> str:
    value = _nfc(value)
    if not value:
        raise SandboxError(f"Thiếu {what}.", f"missing {what}")
    return value


def _r(x: float) -> float:
    return round(float(x) + 0.0, 2)


# --- adjustments ------------------------------------------------------------------------------
def apply_adjustments(report: dict, adjustments: list[dict]) -> dict:
    """A copy of ``report`` with manual adjustments applied: each ``{"criterion", "points",
    "reason", "by", "at", "appeal"}`` sets that criterion's awarded points (capped at its
    maximum), keeps the grader's own points in ``adjusted.grader_awarded`` and recomputes
    verdicts, task sums and the total. Adjustments of criteria no longer in the report are
    listed but change nothing."""
    out = copy.deepcopy(report)
    if not adjustments:
        return out
    rows = {c["id"]: c for c in out.get("criteria", [])}
    kept = []
    for adj in adjustments:
        row = rows.get(adj["criterion"])
        if row is None:
            continue
        grader_awarded = row.get("adjusted", {}).get("grader_awarded", row["awarded"])
        row["awarded"] = _r(min(max(float(adj["points"]), 0.0), row["points"]))
        row["verdict"] = "pass" if row["awarded"] >= row["points"] else "partial" if row["awarded"] > 0 else "fail"
        row["adjusted"] = {"grader_awarded": grader_awarded, "by": adj.get("by", ""), "reason": adj.get("reason", ""),
                           "at": adj.get("at", ""), "appeal": adj.get("appeal")}
        kept.append(adj)
    for t in out.get("tasks", []):
        t["awarded"] = _r(sum(c["awarded"] for c in out["criteria"] if c.get("task") == t["id"]))
    out["total"] = _r(sum(c["awarded"] for c in out["criteria"]))
    out["adjustments"] = [dict(a) for a in kept]
    return out


# --- history ----------------------------------------------------------------------------------
def _sandbox(s, name: str) -> Sandbox:
    sb = s.scalar(select(Sandbox).where(Sandbox.name == name))
    if sb is None:
        raise NotFound(f"Không có sandbox {name}.", f"no sandbox {name}")
    return sb


def current_record(s, sandbox_id: int) -> GradeRecord | None:
    return s.scalar(select(GradeRecord).where(GradeRecord.sandbox_id == sandbox_id, GradeRecord.current.is_(True))
                    .order_by(GradeRecord.id.desc()))


def history(runtime, name: str) -> list[GradeRecord]:
    """Every kept score report of sandbox ``name``, oldest first."""
    with runtime.db.read() as s:
        sb = _sandbox(s, name)
        rows = list(s.scalars(select(GradeRecord).where(GradeRecord.sandbox_id == sb.id).order_by(GradeRecord.id)))
        s.expunge_all()
        return rows


def runs(runtime) -> list[RegradeRun]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(RegradeRun).order_by(RegradeRun.id)))
        s.expunge_all()
        return rows


@dataclass
class _Contestant:
    contest_code: str
    contest_id: int
    candidate_id: int
    number: str
    full_name: str


def _contestant(s, sandbox_name: str) -> _Contestant | None:
    from sandbox.contest.models import Candidate, Contest
    row = s.execute(select(Candidate, Contest).join(Contest, Contest.id == Candidate.contest_id)
                    .where(Candidate.sandbox_name == sandbox_name).order_by(Candidate.id.desc())).first()
    if row is None:
        return None
    c, k = row
    return _Contestant(k.code, k.id, c.id, c.number, c.full_name)


def _contest_report(s, who: _Contestant | None) -> dict | None:
    if who is None:
        return None
    from sandbox.contest.models import ContestPart, PartScore
    return s.scalar(select(PartScore.report).join(ContestPart, ContestPart.id == PartScore.part_id)
                    .where(PartScore.candidate_id == who.candidate_id, ContestPart.kind == "practical"))


def _sync_contest(s, runtime, who: _Contestant, report: dict, *, source: str, kind: str, actor: str, reason: str,
                  detail: dict) -> None:
    """Mirror a new current report on the candidate's practical ``PartScore`` and record the
    decision as a ``ContestEvent``."""
    from sandbox.contest.models import ContestEvent, ContestPart, PartScore
    part = s.scalar(select(ContestPart).where(ContestPart.contest_id == who.contest_id, ContestPart.kind == "practical")
                    .order_by(ContestPart.position, ContestPart.id))
    now = runtime.clock.now()
    if part is not None:
        mx = report.get("max") or 0
        pts = _r(report["total"] * part.points / mx) if mx else 0.0
        row = s.scalar(select(PartScore).where(PartScore.candidate_id == who.candidate_id, PartScore.part_id == part.id))
        if row is None:
            row = PartScore(candidate_id=who.candidate_id, part_id=part.id)
            s.add(row)
        row.points, row.source, row.report, row.at = pts, source, report, now
        detail = detail | {"part": part.name, "points": pts}
    s.add(ContestEvent(contest_id=who.contest_id, candidate_id=who.candidate_id, at=now, actor=actor, kind=kind,
                       detail=detail, reason=reason))


def _store(s, runtime, sandbox_id: int, report: dict, *, kind: str, actor: str, reason: str, current: bool = True,
           run_id: int | None = None, appeal_id: int | None = None) -> GradeRecord:
    if current:
        for old in s.scalars(select(GradeRecord).where(GradeRecord.sandbox_id == sandbox_id,
                                                       GradeRecord.current.is_(True))):
            old.current = False
    rec = GradeRecord(sandbox_id=sandbox_id, scenario_id=report.get("scenario", ""),
                      rubric_version=int(report.get("rubric_version") or 0), report=report,
                      total=report["total"], max=report["max"], kind=kind, actor=actor, at=runtime.clock.now(),
                      reason=reason, current=current, run_id=run_id, appeal_id=appeal_id)
    s.add(rec)
    s.flush()
    return rec


def ensure_record(runtime, name: str, *, actor: str = "hệ thống") -> GradeRecord:
    """The sandbox's current record; made on first use from the contest's stored report, or by
    grading the sandbox with the scenario file it was built from."""
    with runtime.db.read() as s:
        sb = _sandbox(s, name)
        rec = current_record(s, sb.id)
        if rec is not None:
            s.expunge(rec)
            return rec
        report = _contest_report(s, _contestant(s, name))
        sid = sb.id
    reason = "Điểm đã lưu của cuộc thi (trước khi chấm lại/phúc khảo)"
    if report is None:
        from grader.batch import grade_many
        report = grade_many(runtime, [sid], workers=1)[sid]
        if "error" in report:
            raise SandboxError(f"Không chấm được sandbox {name}: {report['error']}", report.get("detail", ""))
        reason = "Chấm theo đề gốc của sandbox (trước khi chấm lại/phúc khảo)"
    with runtime.db.write() as s:
        rec = _store(s, runtime, sid, report, kind="grade", actor=actor, reason=reason)
        s.expunge(rec)
        return rec


# --- re-grading -------------------------------------------------------------------------------
@dataclass
class _Target:
    sandbox_id: int
    name: str
    label: str


def _targets(s, scenario_id: str, pattern: str | None, contest: str | None) -> list[_Target]:
    from scenarios.models import ScenarioInstance
    rows = s.execute(select(Sandbox.id, Sandbox.name).join(ScenarioInstance, ScenarioInstance.sandbox_id == Sandbox.id)
                     .where(ScenarioInstance.scenario_id == scenario_id, Sandbox.archived_at.is_(None))
                     .order_by(Sandbox.name)).all()
    if contest:
        from sandbox.contest.models import Candidate, Contest
        k = s.scalar(select(Contest).where(Contest.code == contest))
        if k is None:
            raise NotFound(f"Không tìm thấy cuộc thi «{contest}».", f"contest {contest!r}")
        cands = {c.sandbox_name: c for c in s.scalars(select(Candidate).where(Candidate.contest_id == k.id))
                 if c.sandbox_name and c.attendance != "absent"}
        out = [_Target(i, n, f"SBD {cands[n].number}") for i, n in rows if n in cands]
        if not out:
            raise NotFound(f"Cuộc thi «{contest}» không có bài thực hành nào làm theo đề {scenario_id}.",
                           "no contest sandbox of that scenario")
        return out
    if pattern:
        out = [_Target(i, n, "") for i, n in rows if fnmatch.fnmatchcase(n, pattern)]
        if not out:
            raise NotFound(f"Không có sandbox nào khớp mẫu «{pattern}» được tạo từ đề {scenario_id}.",
                           f"no sandbox matches {pattern!r}")
        return out
    if not rows:
        raise NotFound(f"Chưa có sandbox nào được tạo từ đề {scenario_id}.", "no sandbox of that scenario")
    return [_Target(i, n, "") for i, n in rows]


def dry_run(runtime, scenario_ref: str, *, pattern: str | None = None, contest: str | None = None,
            workers: int | None = None) -> rg.Plan:
    """Grade every affected sandbox with the corrected scenario file and compare with the
    current reports. Saves nothing (not even a first record)."""
    from grader.batch import grade_many
    from grader.checks import validate_check
    from scenarios.library import load

    if pattern and contest:
        raise SandboxError("Chỉ chọn một trong --sandboxes hoặc --contest.", "both pattern and contest")
    loaded = load(scenario_ref, validate_check)
    new_sc = loaded.scenario
    with runtime.db.read() as s:
        targets = _targets(s, loaded.id, pattern, contest)
        baselines: dict[int, tuple[dict, str]] = {}
        for t in targets:
            rec = current_record(s, t.sandbox_id)
            if rec is not None:
                baselines[t.sandbox_id] = (rec.report, "record")
                continue
            rep = _contest_report(s, _contestant(s, t.name))
            if rep is not None:
                baselines[t.sandbox_id] = (rep, "contest")
            if not t.label:
                who = _contestant(s, t.name)
                if who is not None:
                    t.label = f"SBD {who.number}"
    missing = [t.sandbox_id for t in targets if t.sandbox_id not in baselines]
    if missing:
        for sid, rep in grade_many(runtime, missing, workers=workers).items():
            baselines[sid] = (rep, "graded")
    old_versions = sorted({int(rep.get("rubric_version") or 0) for rep, _ in baselines.values() if "error" not in rep})
    if old_versions and new_sc.rubric.version <= max(old_versions):
        hint = ""
        if any(b == "graded" for _, b in baselines.values()):
            hint = (" (Bài chưa có phiếu chấm lưu lại được chấm theo tệp đề của sandbox; nếu tệp đó đã bị sửa tại chỗ "
                    "thì hãy lấy lại bản cũ và đặt bản sửa ở thư mục khác, giữ nguyên tên tệp.)")
        raise SandboxError(f"Tệp đề sửa phải tăng phiên bản đáp án (rubric.version): hiện tại là {max(old_versions)}, "
                           f"tệp mới vẫn là {new_sc.rubric.version}.{hint}", "rubric version not bumped")
    new_reports = rg.grade_with(runtime, loaded.path, [t.sandbox_id for t in targets], scenario=new_sc, workers=workers)
    old_sc = _old_scenario(runtime, loaded.id, targets[0].sandbox_id)
    plan = rg.Plan(loaded.id, str(loaded.path), new_sc.rubric.version, old_versions,
                   rg.rubric_changes(old_sc, new_sc) if old_sc is not None else [], [], contest=contest)
    for t in targets:
        old, baseline = baselines[t.sandbox_id]
        new = new_reports[t.sandbox_id]
        diff = rg.CandidateDiff(t.sandbox_id, t.name, old.get("candidate") or new.get("candidate") or "", t.label,
                                baseline=baseline)
        if "error" in new or "error" in old:
            diff.error = new.get("error") or old.get("error")
        else:
            new = apply_adjustments(new, old.get("adjustments") or [])
            diff.old_total, diff.new_total, diff.old_max, diff.new_max = old["total"], new["total"], old["max"], new["max"]
            diff.old_version, diff.new_version = old.get("rubric_version"), new.get("rubric_version")
            diff.changes = rg.compare(old, new)
            plan.new_reports[t.sandbox_id] = new
            plan.old_reports[t.sandbox_id] = old
        plan.candidates.append(diff)
    return plan


def _old_scenario(runtime, scenario_id: str, sandbox_id: int):
    """The scenario file a sandbox was built from, for describing the rubric change (None when
    it cannot be read any more)."""
    from grader.checks import validate_check
    from grader.state import SandboxState
    from scenarios.library import load
    try:
        return load(SandboxState(runtime, sandbox_id).scenario_ref, validate_check).scenario
    except SandboxError:
        return None


def apply(runtime, plan: rg.Plan, *, by: str, reason: str) -> RegradeRun:
    """Make the plan's new reports current (old ones kept), record who/when/why in a
    ``RegradeRun`` and, for contest candidates, their ``PartScore`` and a ``ContestEvent``."""
    by, reason = _need(by, "người thực hiện (--by)"), _need(reason, "lý do chấm lại (--reason)")
    if plan.errors:
        names = ", ".join(c.name for c in plan.errors)
        raise SandboxError(f"Không áp dụng được vì có bài không chấm được: {names}.", "plan has errors")
    with runtime.db.write() as s:
        run = RegradeRun(scenario_id=plan.scenario_id, path=plan.path, new_version=plan.new_version,
                         old_versions=plan.old_versions, contest_code=plan.contest or "", actor=by,
                         at=runtime.clock.now(), reason=reason, rubric_changes=plan.rubric_changes,
                         graded=len(plan.candidates),
                         affected=[{"name": c.name, "label": c.label, "candidate": c.candidate,
                                    "old_total": c.old_total, "new_total": c.new_total, "old_max": c.old_max,
                                    "new_max": c.new_max,
                                    "changes": [{"id": ch.id, "old": ch.old_awarded, "new": ch.new_awarded,
                                                 "delta": ch.delta} for ch in c.changes]}
                                   for c in plan.affected])
        s.add(run)
        s.flush()
        for c in plan.candidates:
            sid = c.sandbox_id
            rec = current_record(s, sid)
            if rec is not None and rec.report != plan.old_reports[sid]:
                raise SandboxError(f"Phiếu chấm hiện hành của {c.name} đã thay đổi sau khi chạy thử (phúc khảo hoặc "
                                   "chấm lại khác); hãy chạy thử lại rồi mới áp dụng.", f"stale plan for {c.name}")
            if rec is None:   # keep the report the comparison was made with
                _store(s, runtime, sid, plan.old_reports[sid], kind="grade", actor="hệ thống", current=True,
                       reason="Điểm trước khi chấm lại (" + {"contest": "điểm đã lưu của cuộc thi",
                                                             "graded": "chấm theo đề gốc"}.get(c.baseline, "") + ")")
            new = plan.new_reports[sid]
            _store(s, runtime, sid, new, kind="regrade", actor=by, reason=reason, run_id=run.id)
            who = _contestant(s, c.name)
            if who is not None:
                from sandbox.contest.models import ContestPart, PartScore
                src = s.scalar(select(PartScore.source).join(ContestPart, ContestPart.id == PartScore.part_id)
                               .where(PartScore.candidate_id == who.candidate_id, ContestPart.kind == "practical"))
                if src == "import":   # a score taken elsewhere: not the grader's to change
                    continue
                _sync_contest(s, runtime, who, new, source="manual" if new.get("adjustments") else "grader",
                              kind="regrade", actor=by, reason=reason,
                              detail={"run": run.id, "scenario": plan.scenario_id,
                                      "rubric_version": [c.old_version, c.new_version],
                                      "old_total": c.old_total, "new_total": c.new_total,
                                      "changes": [ch.id for ch in c.changes]})
        s.expunge(run)
        return run


# --- appeals ----------------------------------------------------------------------------------
def _appeal(s, appeal_id: int) -> Appeal:
    a = s.get(Appeal, appeal_id)
    if a is None:
        raise NotFound(f"Không có đơn phúc khảo số {appeal_id}.", f"no appeal {appeal_id}")
    return a


def get_appeal(runtime, appeal_id: int) -> Appeal:
    with runtime.db.read() as s:
        a = _appeal(s, appeal_id)
        s.expunge(a)
        return a


def list_appeals(runtime, status: str | None = None) -> list[tuple[Appeal, str]]:
    """(appeal, sandbox name), oldest first."""
    with runtime.db.read() as s:
        q = select(Appeal, Sandbox.name).join(Sandbox, Sandbox.id == Appeal.sandbox_id).order_by(Appeal.id)
        if status:
            q = q.where(Appeal.status == status)
        rows = [(a, n) for a, n in s.execute(q)]
        s.expunge_all()
        return rows


def sandbox_of_candidate(runtime, contest: str, number: str) -> str:
    from sandbox.contest.models import Candidate, Contest
    with runtime.db.read() as s:
        c = s.scalar(select(Candidate).join(Contest, Contest.id == Candidate.contest_id)
                     .where(Contest.code == contest, Candidate.number == number))
        if c is None:
            raise NotFound(f"Cuộc thi «{contest}» không có thí sinh số báo danh {number}.", "no candidate")
        if not c.sandbox_name:
            raise SandboxError(f"Thí sinh {number} chưa có bài thực hành.", "no sandbox")
        return c.sandbox_name


def request_appeal(runtime, name: str, criteria: list[str], reason: str, *, by: str = "") -> Appeal:
    """The candidate's request: the disputed criteria (ids of the current report) and why."""
    reason = _need(reason, "lý do phúc khảo")
    criteria = [c.strip().upper() for c in criteria if c and c.strip()]
    if not criteria:
        raise SandboxError("Đơn phúc khảo cần nêu ít nhất một tiêu chí (ví dụ M1).", "no criteria")
    rec = ensure_record(runtime, name)
    known = [c["id"] for c in rec.report["criteria"]]
    unknown = [c for c in criteria if c not in known]
    if unknown:
        raise SandboxError(f"Phiếu chấm không có tiêu chí {', '.join(unknown)}; các tiêu chí: {', '.join(known)}.",
                           f"unknown criteria {unknown}")
    with runtime.db.write() as s:
        sb = _sandbox(s, name)
        who = _contestant(s, name)
        a = Appeal(sandbox_id=sb.id, contest_code=who.contest_code if who else "",
                   candidate_number=who.number if who else "", candidate_name=who.full_name if who else "",
                   criteria=list(dict.fromkeys(criteria)), reason=reason,
                   requested_by=_nfc(by) or (who.full_name if who else rec.report.get("candidate", "")),
                   requested_at=runtime.clock.now(), status="submitted", first_record_id=rec.id)
        s.add(a)
        s.flush()
        if who is not None:
            from sandbox.contest.models import ContestEvent
            s.add(ContestEvent(contest_id=who.contest_id, candidate_id=who.candidate_id, at=a.requested_at,
                               actor=a.requested_by, kind="appeal_request",
                               detail={"appeal": a.id, "criteria": a.criteria}, reason=reason))
        s.expunge(a)
        return a


def disputed_evidence(runtime, appeal: Appeal) -> list[dict]:
    """The disputed criteria as the current report has them (points, verdict, message, evidence)."""
    with runtime.db.read() as s:
        rec = current_record(s, appeal.sandbox_id)
        rows = {c["id"]: c for c in (rec.report["criteria"] if rec else [])}
    return [rows[c] for c in appeal.criteria if c in rows]


def review(runtime, appeal_id: int, *, reviewer: str, note: str, run_replay: bool = False) -> Appeal:
    """A second examiner's review: not the one who graded the disputed report nor the
    candidate. The evidence of the disputed criteria is kept with it; with ``run_replay`` the
    session is re-executed (``sandbox replay``) and its outcome kept too."""
    reviewer, note = _need(reviewer, "tên giám khảo phúc khảo"), _need(note, "nhận xét phúc khảo")
    with runtime.db.read() as s:
        a = _appeal(s, appeal_id)
        first = s.get(GradeRecord, a.first_record_id)
        name = s.get(Sandbox, a.sandbox_id).name
        status, first_actor = a.status, first.actor if first else ""
    if status == "decided":
        raise SandboxError(f"Đơn phúc khảo số {appeal_id} đã có kết luận.", "already decided")
    if _nfc(first_actor).casefold() == reviewer.casefold():
        raise SandboxError(f"Người phúc khảo phải là giám khảo thứ hai, khác người đã chấm ({first_actor}).",
                           "reviewer is the first examiner")
    evidence = disputed_evidence(runtime, get_appeal(runtime, appeal_id))
    packet: dict = {"criteria": evidence, "replay_command": f"sandbox replay {name}",
                    "timeline": f"/quan-tri/phat-lai/{name}"}
    if run_replay:
        from sandbox.replay.api import replay
        res = replay(runtime, name)  # into a copy removed afterwards: the packet keeps the outcome
        packet["replay"] = {"sandbox": res.replay, "steps": len(res.steps), "first_mismatch": res.first_mismatch,
                            "first_state_mismatch": res.first_state_mismatch, "report_same": res.report_same,
                            "detail": next((s.detail for s in res.steps if s.seq == res.first_mismatch), ""),
                            "notes": res.notes}
    with runtime.db.write() as s:
        a = _appeal(s, appeal_id)
        a.reviewer, a.review_note, a.reviewed_at, a.review, a.status = reviewer, note, runtime.clock.now(), packet, \
            "reviewed"
        s.flush()
        s.expunge(a)
        return a


def _parse_points(value) -> float:
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        raise SandboxError(f"Số điểm «{value}» không hợp lệ (ví dụ 4 hoặc 2,5).", f"bad points {value!r}") from None


def decide(runtime, appeal_id: int, *, by: str, text: str, adjustments: list[dict] | None = None,
           sign: bool = True) -> Appeal:
    """The decision: ``adjustments`` = ``[{"criterion", "points", "reason"}]`` (disputed criteria
    only, each with its reason). With adjustments that change the total a new current record
    is made (and the contest's part score follows); the answer PDF is written and signed."""
    by, text = _need(by, "người kết luận"), _need(text, "nội dung kết luận")
    adjustments = adjustments or []
    with runtime.db.read() as s:
        a = _appeal(s, appeal_id)
        if a.status == "decided":
            raise SandboxError(f"Đơn phúc khảo số {appeal_id} đã có kết luận.", "already decided")
        if a.status != "reviewed":
            raise SandboxError(f"Đơn phúc khảo số {appeal_id} chưa được giám khảo thứ hai phúc khảo; "
                               "hãy phúc khảo trước khi kết luận.", "not reviewed")
        rec = current_record(s, a.sandbox_id)
        report = rec.report
        disputed = list(a.criteria)
    rows = {c["id"]: c for c in report["criteria"]}
    now = runtime.clock.now()
    clean = []
    for adj in adjustments:
        cid = _nfc(adj.get("criterion")).upper()
        if cid not in disputed:
            raise SandboxError(f"Chỉ điều chỉnh được tiêu chí có trong đơn ({', '.join(disputed)}); {cid or '(trống)'} "
                               "không có.", f"criterion {cid} not disputed")
        pts = _parse_points(adj.get("points"))
        mx = rows[cid]["points"]
        if not 0 <= pts <= mx:
            raise SandboxError(f"Điểm của tiêu chí {cid} phải từ 0 đến {_fmt(mx)}.", f"points {pts} out of range")
        why = _need(adj.get("reason"), f"lý do điều chỉnh tiêu chí {cid}")
        clean.append({"criterion": cid, "from": rows[cid]["awarded"], "points": _r(pts), "reason": why, "by": by,
                      "at": now.isoformat(), "appeal": appeal_id})
    previous = [x for x in (report.get("adjustments") or []) if x["criterion"] not in {c["criterion"] for c in clean}]
    new_report = apply_adjustments(report, previous + clean) if clean else report
    decision = "changed" if clean and new_report["total"] != report["total"] else "upheld"
    decided_on = {"max": report["max"], "criteria": {cid: {k: rows[cid].get(k) for k in
                                                          ("description", "points", "awarded", "message")}
                                                    for cid in disputed if cid in rows}}
    with runtime.db.write() as s:
        a = _appeal(s, appeal_id)
        a.decision, a.decision_text, a.decided_by, a.decided_at = decision, text, by, now
        a.review = dict(a.review or {}) | {"decided_on": decided_on}
        a.adjustments = [{k: v for k, v in c.items() if k in ("criterion", "from", "points", "reason")} for c in clean]
        a.old_total, a.new_total, a.status = report["total"], new_report["total"], "decided"
        if clean:
            why = "Phúc khảo số %d: " % appeal_id + "; ".join(f"{c['criterion']} {_fmt(c['from'])} → "
                                                              f"{_fmt(c['points'])} ({c['reason']})" for c in clean)
            new_rec = _store(s, runtime, a.sandbox_id, new_report, kind="appeal", actor=by, reason=why,
                             appeal_id=appeal_id)
            a.record_id = new_rec.id
        name = s.get(Sandbox, a.sandbox_id).name
        who = _contestant(s, name)
        if who is not None:
            detail = {"appeal": appeal_id, "decision": decision, "old_total": a.old_total, "new_total": a.new_total,
                      "adjustments": a.adjustments}
            if clean:
                _sync_contest(s, runtime, who, new_report, source="manual", kind="appeal_decision", actor=by,
                              reason=text, detail=detail)
            else:
                from sandbox.contest.models import ContestEvent
                s.add(ContestEvent(contest_id=who.contest_id, candidate_id=who.candidate_id, at=now, actor=by,
                                   kind="appeal_decision", detail=detail, reason=text))
        s.flush()
        s.expunge(a)
    if sign:
        pdf = answer_pdf(runtime, a, name=name)
        digest = runtime.blobs.put(pdf)
        with runtime.db.write() as s:
            s.get(Appeal, appeal_id).answer_blob = digest
        a.answer_blob = digest
    return a


def _fmt(x) -> str:
    from grader.report import num
    return num(x)


def _vn_date(when: datetime | None) -> str:
    if when is None:
        return ""
    from sandbox.kernel.clock import VN_TZ
    d = when.astimezone(VN_TZ) if when.tzinfo else when
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def answer_pdf(runtime, appeal: Appeal, *, name: str | None = None, sign: bool = True) -> bytes:
    """The candidate-facing answer (Vietnamese), signed with the organiser's organisation
    certificate (``grader.sheets.sign_sheet``) so anyone can check it with ``sandbox verify``."""
    from reportlab.lib.units import mm

    from grader.report import pdf_document as _doc
    from grader.report import pdf_paragraph as _p
    from grader.report import pdf_styles as _styles
    from grader.report import pdf_table as _table
    from grader.sheets import sign_sheet

    if appeal.status != "decided":
        raise SandboxError(f"Đơn phúc khảo số {appeal.id} chưa có kết luận nên chưa có văn bản trả lời.",
                           "not decided")
    with runtime.db.read() as s:
        name = name or s.get(Sandbox, appeal.sandbox_id).name
    # the disputed criteria as they stood when the decision was taken
    report = (appeal.review or {}).get("decided_on") or {"max": 0, "criteria": {}}
    st = _styles()
    rows_by_id = report["criteria"]
    who = appeal.candidate_name or appeal.requested_by
    sbd = f" · Số báo danh: {appeal.candidate_number}" if appeal.candidate_number else ""
    story = [_p("THÔNG BÁO KẾT QUẢ PHÚC KHẢO PHẦN THI THỰC HÀNH", st["title"]),
             _p(f"Đơn số {appeal.id} · Thí sinh: {who}{sbd} · Bài thi: {name}"
                + (f" · Cuộc thi: {appeal.contest_code}" if appeal.contest_code else ""), st["sub"]),
             _p(f"Đơn đề nghị phúc khảo {_vn_date(appeal.requested_at)}, các tiêu chí: {', '.join(appeal.criteria)}. "
                f"Lý do: {appeal.reason}", st["cell"]),
             _p(f"Giám khảo phúc khảo: {appeal.reviewer} ({_vn_date(appeal.reviewed_at)}). Nhận xét: {appeal.review_note}",
                st["cell"]),
             _p("Kết quả từng tiêu chí", st["h2"])]
    adj = {x["criterion"]: x for x in appeal.adjustments}
    rows = [[_p(h, st["head"]) for h in ("Mã", "Tiêu chí", "Tối đa", "Trước", "Sau", "Căn cứ")]]
    for cid in appeal.criteria:
        c = rows_by_id.get(cid, {"description": "", "points": 0, "awarded": 0, "message": ""})
        after = adj[cid]["points"] if cid in adj else c["awarded"]
        why = f"Điều chỉnh: {adj[cid]['reason']}" if cid in adj else f"Giữ nguyên: {c.get('message', '')}"
        rows.append([_p(cid, st["cell"]), _p(c["description"], st["cell"]), _p(_fmt(c["points"]), st["cell"]),
                     _p(_fmt(c["awarded"]), st["cell"]), _p(_fmt(after), st["cell"]), _p(why, st["small"])])
    rows.append(["", _p("Tổng điểm phần thực hành", st["head"]), _p(_fmt(report.get("max", 0)), st["head"]),
                 _p(_fmt(appeal.old_total), st["head"]), _p(_fmt(appeal.new_total), st["head"]), ""])
    story.append(_table(rows, [12 * mm, 49 * mm, 16 * mm, 16 * mm, 16 * mm, 66 * mm]))
    story += [_p("Kết luận", st["h2"]),
              _p(f"{DECISION_VI.get(appeal.decision, appeal.decision)}: {appeal.decision_text}", st["cell"]),
              _p(f"Người kết luận: {appeal.decided_by}, {_vn_date(appeal.decided_at)}.", st["cell"])]
    pdf = _doc(story, f"Trả lời phúc khảo số {appeal.id}")
    if not sign:
        return pdf
    label = f"Trả lời phúc khảo số {appeal.id}" + (f" SBD {appeal.candidate_number}" if appeal.candidate_number else "")
    return sign_sheet(runtime, pdf, label)


def answer_bytes(runtime, appeal_id: int) -> bytes:
    a = get_appeal(runtime, appeal_id)
    if not a.answer_blob:
        raise SandboxError(f"Đơn phúc khảo số {appeal_id} chưa có văn bản trả lời (chưa kết luận).", "no answer")
    return runtime.blobs.get(a.answer_blob)


__all__ = ["apply_adjustments", "history", "runs", "ensure_record", "dry_run", "apply", "request_appeal", "review",
           "decide", "answer_pdf", "answer_bytes", "list_appeals", "get_appeal", "disputed_evidence",
           "sandbox_of_candidate", "current_record", "APPEAL_STATUS_VI", "DECISION_VI"]
