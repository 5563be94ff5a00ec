"""`sandbox regrade …`, `sandbox grade-history …` and `sandbox appeal …` (issue 8): re-grading
after a rubric change (a dry run first, then --apply with who and why) and appeals (phúc
khảo). The work is done in :mod:`sandbox.appeals.api`; errors print one Vietnamese line, exit 2."""
from __future__ import annotations

import json
import sys

import click

from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


def _num(x) -> str:
    from grader.report import num
    return num(x) if x is not None else "-"


def _dt(x) -> str:
    from sandbox.kernel.vnformat import date_time
    return date_time(x) if x is not None else ""


@click.command("regrade")
@click.option("--scenario", "scenario_ref", required=True,
              help="The corrected scenario file (.yaml, same file name = same scenario id, rubric.version bumped).")
@click.option("--sandboxes", "pattern", default=None, help="Only sandboxes whose name matches this pattern (e.g. 'ts0*').")
@click.option("--contest", "contest", default=None, help="Only the practical sandboxes of this contest's candidates.")
@click.option("--apply", "do_apply", is_flag=True, help="Apply: the new reports become current (old ones kept).")
@click.option("--by", "by", default=None, help="Who applies the re-grade (required with --apply).")
@click.option("--reason", "reason", default=None, help="Why (required with --apply).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: every core).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable plan.")
@click.pass_obj
def regrade(obj, scenario_ref, pattern, contest, do_apply, by, reason, workers, as_json):
    """Re-grade with a corrected rubric: a DRY RUN by default (nothing saved), --apply to keep it."""
    from grader.regrade import plan_lines

    from sandbox.appeals import api as appeals
    if do_apply and (not (by or "").strip() or not (reason or "").strip()):
        click.echo("Lỗi: áp dụng chấm lại cần ghi rõ người thực hiện (--by) và lý do (--reason).", err=True)
        sys.exit(2)
    rt = obj.runtime()
    try:
        plan = appeals.dry_run(rt, scenario_ref, pattern=pattern, contest=contest, workers=workers)
        run = appeals.apply(rt, plan, by=by, reason=reason) if do_apply else None
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    if as_json:
        out = plan.to_json() | {"applied": run is not None}
        if run is not None:
            out["run"] = {"id": run.id, "by": run.actor, "at": run.at.isoformat(), "reason": run.reason}
        click.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))
        return
    for line in plan_lines(plan):
        click.echo(line)
    if run is None:
        click.echo("Đây là chạy thử: chưa lưu gì. Thêm --apply --by TÊN --reason \"…\" để áp dụng.")
    else:
        click.echo(f"Đã áp dụng (lần chấm lại số {run.id}) bởi {run.actor} lúc {_dt(run.at)}; lý do: {run.reason}. "
                   "Phiếu chấm cũ vẫn được lưu.")


@click.command("grade-history")
@click.argument("name", required=False)
@click.pass_obj
def grade_history(obj, name):
    """The audit: without NAME every applied re-grade; with NAME that sandbox's kept score reports."""
    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        if name is None:
            rows = appeals.runs(rt)
            if not rows:
                click.echo("Chưa có lần chấm lại nào được áp dụng.")
            for r in rows:
                click.echo(f"Lần {r.id}: đề {r.scenario_id} phiên bản {'/'.join(map(str, r.old_versions))} → "
                           f"{r.new_version}; {r.actor} lúc {_dt(r.at)}; lý do: {r.reason}; "
                           f"{r.graded} bài, {len(r.affected)} thay đổi.")
                for a in r.affected:
                    click.echo(f"  {a['name']}{' (' + a['label'] + ')' if a['label'] else ''}: "
                               f"{_num(a['old_total'])}/{_num(a['old_max'])} → {_num(a['new_total'])}/{_num(a['new_max'])} "
                               f"[{', '.join(c['id'] for c in a['changes'])}]")
            return
        for r in appeals.history(rt, name):
            click.echo(f"{'*' if r.current else ' '} #{r.id} {r.kind:<8} phiên bản {r.rubric_version} "
                       f"{_num(r.total)}/{_num(r.max)}  {r.actor} lúc {_dt(r.at)}: {r.reason}")
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()


@click.group("appeal")
def appeal():
    """Appeals (phúc khảo): request, review, decide, the signed answer."""


def _target(rt, name, contest, number) -> str:
    from sandbox.appeals import api as appeals
    if name:
        return name
    if contest and number:
        return appeals.sandbox_of_candidate(rt, contest, number)
    raise SandboxError("Hãy chỉ rõ bài thi: tên sandbox, hoặc --contest và --number.", "no target")


@appeal.command("request")
@click.argument("name", required=False)
@click.option("--contest", default=None, help="Contest code (with --number instead of NAME).")
@click.option("--number", default=None, help="Candidate number (số báo danh).")
@click.option("--criteria", required=True, help="Disputed criteria, comma-separated (e.g. M1,M2).")
@click.option("--reason", required=True, help="The candidate's reason.")
@click.option("--by", default="", help="Who files it (default: the candidate).")
@click.pass_obj
def appeal_request(obj, name, contest, number, criteria, reason, by):
    """File a candidate's appeal."""
    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        a = appeals.request_appeal(rt, _target(rt, name, contest, number), criteria.split(","), reason, by=by)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã nhận đơn phúc khảo số {a.id}: tiêu chí {', '.join(a.criteria)}.")


@appeal.command("list")
@click.option("--status", type=click.Choice(["submitted", "reviewed", "decided"]), default=None)
@click.pass_obj
def appeal_list(obj, status):
    """Every appeal with its status."""
    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        rows = appeals.list_appeals(rt, status)
    finally:
        rt.close()
    if not rows:
        click.echo("Chưa có đơn phúc khảo nào.")
    for a, name in rows:
        click.echo(f"{a.id:>4}  {name:<20} {a.candidate_number or '':<12} {', '.join(a.criteria):<12} "
                   f"{appeals.APPEAL_STATUS_VI[a.status]}"
                   + (f" ({appeals.DECISION_VI[a.decision]}: {_num(a.old_total)} → {_num(a.new_total)})"
                      if a.decision else ""))


@appeal.command("show")
@click.argument("appeal_id", type=int)
@click.pass_obj
def appeal_show(obj, appeal_id):
    """An appeal with the disputed criteria's evidence and how to replay the session."""
    from grader.report import evidence_text

    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        a = appeals.get_appeal(rt, appeal_id)
        ev = appeals.disputed_evidence(rt, a)
        name = next(n for x, n in appeals.list_appeals(rt) if x.id == a.id)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đơn phúc khảo số {a.id} · {name} · {appeals.APPEAL_STATUS_VI[a.status]}")
    click.echo(f"Người đề nghị: {a.requested_by} lúc {_dt(a.requested_at)}; lý do: {a.reason}")
    for c in ev:
        click.echo(f"  {c['id']} {_num(c['awarded'])}/{_num(c['points'])}: {c['message']}")
        if c.get("evidence"):
            click.echo(f"     bằng chứng: {evidence_text(c['evidence'])}")
    click.echo(f"Xem lại phiên làm bài: sandbox replay {name}")
    if a.reviewer:
        click.echo(f"Phúc khảo: {a.reviewer} lúc {_dt(a.reviewed_at)}: {a.review_note}")
        rp = (a.review or {}).get("replay")
        if rp:
            click.echo(f"  Phát lại {rp['sandbox']}: {rp['steps']} bước; phiếu chấm "
                       + ("trùng khớp" if rp["report_same"] else "KHÁC hoặc chưa so") + ".")
    if a.decision:
        click.echo(f"Kết luận ({a.decided_by}, {_dt(a.decided_at)}): {appeals.DECISION_VI[a.decision]}: "
                   f"{a.decision_text}; tổng {_num(a.old_total)} → {_num(a.new_total)}")
        for x in a.adjustments:
            click.echo(f"  {x['criterion']}: {_num(x['from'])} → {_num(x['points'])} ({x['reason']})")


@appeal.command("review")
@click.argument("appeal_id", type=int)
@click.option("--by", "reviewer", required=True, help="The second examiner.")
@click.option("--note", required=True, help="The review's findings.")
@click.option("--replay", "run_replay", is_flag=True, help="Re-execute the session and keep whether it matches.")
@click.pass_obj
def appeal_review(obj, appeal_id, reviewer, note, run_replay):
    """A second examiner reviews the disputed criteria (optionally replaying the session)."""
    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        a = appeals.review(rt, appeal_id, reviewer=reviewer, note=note, run_replay=run_replay)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã ghi nhận phúc khảo đơn số {a.id} của {a.reviewer}.")


@appeal.command("decide")
@click.argument("appeal_id", type=int)
@click.option("--by", required=True, help="Who decides.")
@click.option("--text", required=True, help="The decision, as the candidate will read it.")
@click.option("--adjust", "adjust", multiple=True,
              help='A manual adjustment "CRITERION=POINTS:REASON" (repeatable), e.g. "M2=4:Tiêu đề đúng nghĩa".')
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="Write the signed answer PDF.")
@click.pass_obj
def appeal_decide(obj, appeal_id, by, text, adjust, out_file):
    """Decide an appeal; adjustments are recorded with their reason; the answer PDF is signed."""
    from pathlib import Path

    from sandbox.appeals import api as appeals
    parsed = []
    for spec in adjust:
        head, sep, why = spec.partition(":")
        cid, eq, pts = head.partition("=")
        if not sep or not eq:
            click.echo(f"Lỗi: điều chỉnh «{spec}» phải có dạng TIÊU_CHÍ=ĐIỂM:LÝ DO, ví dụ \"M2=4:Tiêu đề đúng nghĩa\".",
                       err=True)
            sys.exit(2)
        parsed.append({"criterion": cid, "points": pts, "reason": why})
    rt = obj.runtime()
    try:
        a = appeals.decide(rt, appeal_id, by=by, text=text, adjustments=parsed)
        if out_file:
            Path(out_file).write_bytes(appeals.answer_bytes(rt, a.id))
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đơn số {a.id}: {appeals.DECISION_VI[a.decision]} ({_num(a.old_total)} → {_num(a.new_total)}).")
    if out_file:
        click.echo(f"Đã ghi văn bản trả lời (có chữ ký số) vào {out_file}.")


@appeal.command("answer")
@click.argument("appeal_id", type=int)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def appeal_answer(obj, appeal_id, out_file):
    """Write the signed answer PDF of a decided appeal."""
    from pathlib import Path

    from sandbox.appeals import api as appeals
    rt = obj.runtime()
    try:
        Path(out_file).write_bytes(appeals.answer_bytes(rt, appeal_id))
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã ghi văn bản trả lời phúc khảo số {appeal_id} vào {out_file}.")


def register(main: click.Group) -> None:
    main.add_command(regrade)
    main.add_command(grade_history)
    main.add_command(appeal)
