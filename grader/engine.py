"""Score a sandbox against its scenario's rubric: a pure function of the sandbox's state.

For each criterion, in order: skip it when the criterion it requires did not pass fully;
run its check with the parameters rendered for this candidate; when it earns less than
full points, try its partial-credit rules in order. The report carries, per criterion, the
points, the verdict, the message and the evidence; and the totals and the rubric version.
The same state gives byte-identical JSON (:func:`report_json`).

A check that meets a name the sandbox does not have (:class:`~grader.state.GraderError`)
is the exam's fault: the criterion gets ``"verdict": "error"`` with :data:`ERROR_MESSAGE`
(never its fail message) and the reason in ``"error"``, as does every criterion that
requires it; the report lists them in ``"errors"`` and says ``"gradable": False``."""
from __future__ import annotations

import json
from typing import Any

from sandbox.kernel.errors import SandboxError
from scenarios import templates
from scenarios.schema import Criterion, Scenario
from scenarios.variants import context

from .checks import REGISTRY, Outcome, load_all, parse_params
from .state import GraderError, SandboxState

REPORT_FORMAT = 1

#: said to the candidate instead of the criterion's messages when the grader could not judge it
ERROR_MESSAGE = ("Không chấm được tiêu chí này do lỗi của đề thi (không phải lỗi của thí sinh). "
                 "Đã báo cho ban tổ chức.")


def _round(x: float) -> float:
    return round(x + 0.0, 2)


def _run(state: SandboxState, check, ctx: dict) -> Outcome:
    if check.type not in REGISTRY:
        raise GraderError(f"Đề thi dùng loại kiểm tra '{check.type}' mà bộ chấm không có", f"no check {check.type}")
    try:
        params = parse_params(check.type, templates.render_value(check.params, ctx))
    except ValueError as exc:     # valid as written, not once this candidate's values are put in
        raise GraderError(f"Tham số của kiểm tra {check.type} không hợp lệ với giá trị của thí sinh này: {exc}",
                          f"params of {check.type}") from None
    try:
        return REGISTRY[check.type]().run(state, params)
    except GraderError:
        raise
    except SandboxError as exc:
        return Outcome(0.0, exc.message_vi, {"error": exc.detail})


def _error_row(base: dict, error: str) -> dict:
    return base | {"awarded": 0.0, "verdict": "error", "message": ERROR_MESSAGE, "detail": "", "evidence": {},
                   "error": error}


def grade_criterion(state: SandboxState, c: Criterion, ctx: dict, done: dict[str, dict]) -> dict:
    base = {"id": c.id, "task": c.task, "description": c.description, "points": _round(c.points)}
    if c.requires and done.get(c.requires, {}).get("verdict") == "error":
        return _error_row(base, f"Tiêu chí {c.requires} mà tiêu chí này phụ thuộc không chấm được: "
                                f"{done[c.requires]['error']}")
    if c.requires and (done.get(c.requires, {}).get("verdict") != "pass"):
        return base | {"awarded": 0.0, "verdict": "skipped", "evidence": {},
                       "message": f"Không xét vì chưa đạt tiêu chí {c.requires}."}
    try:
        return _judge(state, c, ctx, base)
    except GraderError as exc:    # a check or a partial-credit rule names what the sandbox lacks
        return _error_row(base, f"{exc.message_vi} ({exc.detail})")
    except templates.TemplateError as exc:     # a message that cannot take this candidate's values
        return _error_row(base, f"Đề thi có chỗ không thay được giá trị của thí sinh: {exc}")


def _judge(state: SandboxState, c: Criterion, ctx: dict, base: dict) -> dict:
    out = _run(state, c.check, ctx)
    awarded = _round(max(0.0, min(1.0, out.score)) * c.points)
    message = templates.render(c.pass_message if awarded >= c.points else c.fail_message, ctx)
    if awarded < c.points and out.message:   # the check knows the usual message would be wrong
        message = out.message
    evidence, detail = out.evidence, out.detail
    if awarded < c.points:
        for rule in c.partial:
            alt = _run(state, rule.check, ctx)
            if alt.score >= 1.0 and rule.points > awarded:
                awarded = _round(rule.points)
                message = templates.render(rule.message, ctx) if rule.message else message
                evidence, detail = alt.evidence, alt.detail
                break
    verdict = "pass" if awarded >= c.points else "partial" if awarded > 0 else "fail"
    return base | {"awarded": awarded, "verdict": verdict, "message": message, "detail": detail,
                   "evidence": evidence}


def grade(state: SandboxState, scenario: Scenario) -> dict[str, Any]:
    load_all()
    ctx = context(scenario, state.values, state.start_date)
    state.use_rubric(scenario, ctx)
    done: dict[str, dict] = {}
    rows = []
    for c in scenario.rubric.criteria:
        row = grade_criterion(state, c, ctx, done)
        done[c.id] = row
        rows.append(row)
    tasks = []
    for t in scenario.tasks:
        mine = [r for r in rows if r["task"] == t.id]
        tasks.append({"id": t.id, "title": templates.render(t.title, ctx),
                      "awarded": _round(sum(r["awarded"] for r in mine)),
                      "points": _round(sum(r["points"] for r in mine))})
    total = _round(sum(r["awarded"] for r in rows))
    errors = [r["id"] for r in rows if r["verdict"] == "error"]
    return {
        "format": REPORT_FORMAT,
        "scenario": state.scenario_id, "title": scenario.title, "year": scenario.year,
        "part": scenario.part, "rubric_version": scenario.rubric.version,
        "instance_rubric_version": state.rubric_version, "seed": state.seed,
        "candidate": state.candidate_address,
        "criteria": rows, "tasks": tasks,
        "total": total, "max": _round(scenario.points),
        "errors": errors, "gradable": not errors,
    }


def report_json(report: dict) -> str:
    """Canonical JSON: sorted keys, UTF-8 kept, fixed separators (byte-identical when equal)."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1, default=str) + "\n"
