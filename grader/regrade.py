"""Re-grading after a rubric change, the pure part: grade sandboxes with a given (corrected)
scenario on every core and compare the new reports with the current ones, criterion by
criterion. Nothing is stored here: the dry run *is* this module; applying a plan (new
reports become current, the old ones kept, who/when/why recorded) lives with the tables in
:mod:`sandbox.appeals.api`.

A criterion *changes* for a candidate when its awarded points or its verdict differ; a
candidate is *affected* when at least one criterion changes. A change of the maximum alone
(a criterion's points raised for everyone who failed it anyway) is reported, not counted."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from . import batch

_LOADED: dict[str, object] = {}


def _scenario(path: str):
    if path not in _LOADED:
        from scenarios.library import load

        from .checks import validate_check
        _LOADED[path] = load(path, validate_check).scenario
    return _LOADED[path]


def _grade_one_with(rt, scenario, sandbox_id: int) -> dict:
    from sandbox.kernel.errors import SandboxError

    from .engine import grade
    from .state import SandboxState
    try:
        return grade(SandboxState(rt, sandbox_id), scenario)
    except SandboxError as exc:
        return {"error": exc.message_vi, "detail": exc.detail, "sandbox_id": sandbox_id}


def _grade_chunk_with(args: tuple[str, list[int]]) -> list[tuple[int, dict]]:
    path, ids = args
    sc = _scenario(path)
    return [(sid, _grade_one_with(batch._RUNTIME, sc, sid)) for sid in ids]


def grade_with(runtime, scenario_path: str | Path, sandbox_ids: Iterable[int], *, scenario=None,
               workers: int | None = None, chunk: int = 8) -> dict[int, dict]:
    """Like :func:`grader.batch.grade_many`, but every sandbox is graded against the scenario
    file ``scenario_path`` (the corrected rubric), not the one it was built from. Worker
    processes open their own Runtime (``batch._init``) and load the file once each."""
    ids = list(sandbox_ids)
    path = str(Path(scenario_path).resolve())
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(ids) <= chunk:
        sc = scenario if scenario is not None else _scenario(path)
        return {sid: _grade_one_with(runtime, sc, sid) for sid in ids}
    chunks = [(path, ids[i:i + chunk]) for i in range(0, len(ids), chunk)]
    out: dict[int, dict] = {}
    with ProcessPoolExecutor(workers, initializer=batch._init, initargs=batch.worker_initargs(runtime)) as pool:
        for rows in pool.map(_grade_chunk_with, chunks):
            out.update(rows)
    return {sid: out[sid] for sid in ids}


# --- comparing two reports -------------------------------------------------------------------
@dataclass
class CriterionChange:
    id: str
    description: str
    old_points: float | None        # the criterion's maximum before (None: new criterion)
    new_points: float | None        # after (None: criterion removed)
    old_awarded: float
    new_awarded: float
    old_verdict: str | None
    new_verdict: str | None
    delta: float
    message: str = ""
    evidence: dict = field(default_factory=dict)
    detail: str | None = None


@dataclass
class CandidateDiff:
    sandbox_id: int
    name: str
    candidate: str                  # the candidate's in-world address
    label: str = ""                 # "SBD CT23-0001" for contest candidates
    old_total: float | None = None
    new_total: float | None = None
    old_max: float | None = None
    new_max: float | None = None
    old_version: int | None = None
    new_version: int | None = None
    changes: list[CriterionChange] = field(default_factory=list)
    error: str | None = None
    baseline: str = "record"        # record | contest | graded (no stored report: graded now)

    @property
    def affected(self) -> bool:
        return bool(self.changes)

    @property
    def delta(self) -> float:
        return round((self.new_total or 0.0) - (self.old_total or 0.0), 2)


def compare(old: dict, new: dict) -> list[CriterionChange]:
    """The criteria whose awarded points or verdict differ between two score reports."""
    before = {c["id"]: c for c in old.get("criteria", [])}
    after = {c["id"]: c for c in new.get("criteria", [])}
    out = []
    for cid in list(after) + [k for k in before if k not in after]:
        a, b = before.get(cid), after.get(cid)
        old_aw = a["awarded"] if a else 0.0
        new_aw = b["awarded"] if b else 0.0
        if a and b and old_aw == new_aw and a["verdict"] == b["verdict"]:
            continue
        src = b or a
        out.append(CriterionChange(
            cid, src["description"], a["points"] if a else None, b["points"] if b else None,
            old_aw, new_aw, a["verdict"] if a else None, b["verdict"] if b else None,
            round(new_aw - old_aw, 2), (b or {}).get("message", ""), (b or {}).get("evidence") or {},
            (b or {}).get("detail")))
    return out


@dataclass
class Plan:
    """A dry run: what applying the corrected scenario would change. Nothing is saved."""

    scenario_id: str
    path: str
    new_version: int
    old_versions: list[int]
    rubric_changes: list[str]
    candidates: list[CandidateDiff]
    new_reports: dict[int, dict] = field(default_factory=dict, repr=False)
    old_reports: dict[int, dict] = field(default_factory=dict, repr=False)
    contest: str | None = None

    @property
    def affected(self) -> list[CandidateDiff]:
        return [c for c in self.candidates if c.affected]

    @property
    def errors(self) -> list[CandidateDiff]:
        return [c for c in self.candidates if c.error]

    def to_json(self) -> dict:
        return {"scenario": self.scenario_id, "path": self.path, "new_rubric_version": self.new_version,
                "old_rubric_versions": self.old_versions, "contest": self.contest,
                "rubric_changes": self.rubric_changes, "graded": len(self.candidates),
                "affected": [c.name for c in self.affected],
                "candidates": [asdict(c) | {"affected": c.affected, "delta": c.delta} for c in self.candidates]}


def rubric_changes(old_sc, new_sc) -> list[str]:
    """What differs between two rubrics, in Vietnamese words (points, checks, partial rules)."""
    from .report import num
    before = {c.id: c for c in old_sc.rubric.criteria}
    after = {c.id: c for c in new_sc.rubric.criteria}
    out = []
    for cid, c in after.items():
        o = before.get(cid)
        if o is None:
            out.append(f"{cid}: tiêu chí mới ({num(c.points)} điểm).")
            continue
        if o.points != c.points:
            out.append(f"{cid}: điểm tối đa {num(o.points)} → {num(c.points)}.")
        if o.check.type != c.check.type:
            out.append(f"{cid}: cách kiểm tra {o.check.type} → {c.check.type}.")
        elif o.check.params != c.check.params:
            keys = sorted(set(o.check.params) | set(c.check.params))
            for k in keys:
                if o.check.params.get(k) != c.check.params.get(k):
                    out.append(f"{cid}: tham số «{k}» {o.check.params.get(k)!r} → {c.check.params.get(k)!r}.")
        if [p.model_dump() for p in o.partial] != [p.model_dump() for p in c.partial]:
            out.append(f"{cid}: quy tắc chấm một phần thay đổi.")
        if o.requires != c.requires:
            out.append(f"{cid}: điều kiện xét {o.requires or '(không)'} → {c.requires or '(không)'}.")
    for cid in before:
        if cid not in after:
            out.append(f"{cid}: bỏ tiêu chí.")
    if old_sc.points != new_sc.points:
        out.append(f"Tổng điểm của đề {num(old_sc.points)} → {num(new_sc.points)}.")
    return out


def plan_lines(plan: Plan) -> list[str]:
    """The dry run as the examiner reads it (Vietnamese)."""
    from .report import num
    out = [f"Chấm lại THỬ (chưa lưu gì) theo đề {plan.scenario_id}, phiên bản đáp án "
           f"{'/'.join(str(v) for v in plan.old_versions) or '?'} → {plan.new_version} ({plan.path})."]
    if plan.rubric_changes:
        out.append("Thay đổi đáp án:")
        out += [f"  - {line}" for line in plan.rubric_changes]
    out.append(f"Đã chấm lại {len(plan.candidates)} bài; {len(plan.affected)} thí sinh thay đổi điểm.")
    for c in plan.affected:
        who = f"{c.name}" + (f" ({c.label})" if c.label else "") + f" <{c.candidate}>"
        sign = "+" if c.delta > 0 else ""
        out.append(f"* {who}: {num(c.old_total)}/{num(c.old_max)} → {num(c.new_total)}/{num(c.new_max)} "
                   f"({sign}{num(c.delta)})")
        for ch in c.changes:
            s = "+" if ch.delta > 0 else ""
            out.append(f"    {ch.id}: {num(ch.old_awarded)} → {num(ch.new_awarded)} ({s}{num(ch.delta)}); "
                       f"{ch.message}")
            if ch.evidence:
                from .report import evidence_text
                out.append(f"      bằng chứng mới: {evidence_text(ch.evidence)}")
    for c in plan.errors:
        out.append(f"! {c.name}: không chấm được: {c.error}")
    return out


__all__ = ["grade_with", "compare", "Plan", "CandidateDiff", "CriterionChange", "rubric_changes", "plan_lines"]
