"""Examiner pages: a candidate's session as a timeline, and the world as it was at any step
(replayed into a read-only copy), with the signed documents' verifier reports and a way to
look through the same pages the candidate used, read-only (issue 8).

Copies. "Xem tại bước này" replays into a copy that is removed once the page is rendered
(nothing is left behind per click). "Mở các trang của thí sinh (chỉ xem)" needs the copy for
a browsing session: that one is kept, closed (read-only), listed by ``sandbox replay --list``
and reused for the same sandbox and step; at most ``BROWSING_COPIES`` are kept per sandbox,
the oldest removed when another is made (``sandbox replay --discard`` removes one)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from sandbox.kernel.webkit import current_runtime

from sandbox.contest.web.admin_auth import admin_required

bp = Blueprint("timeline", __name__, template_folder="templates")


def register(app) -> None:
    app.register_blueprint(bp)
READ_ONLY_SINCE = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: read-only copies kept per sandbox for looking through the candidate's pages
BROWSING_COPIES = 2


def _sandbox(name: str):
    from sandbox.kernel.sandboxes import find_sandbox

    with current_runtime().db.read() as s:
        sb = find_sandbox(s, name)
        if sb is None or sb.archived_at is not None:
            abort(404)
        return sb.id


def _scenario(sandbox_id: int):
    from scenarios.build import instance_of
    from scenarios.library import load

    with current_runtime().db.read() as s:
        inst = instance_of(s, sandbox_id)
        return (load(inst.source or inst.scenario_id).scenario, inst) if inst is not None else (None, None)


@bp.get("/quan-tri/phat-lai")
@admin_required("examiner", "organiser")
def index():
    """Chọn bài làm để xem lại."""
    name = request.args.get("ten", "").strip()
    if name:
        return redirect(url_for("timeline.show", name=name))
    return render_template("timeline/index.html")


@bp.get("/quan-tri/phat-lai/<name>")
@admin_required("examiner", "organiser")
def show(name: str):
    """Dòng thời gian bài làm của thí sinh."""
    from sandbox.replay.timeline import timeline

    sid = _sandbox(name)
    sc, inst = _scenario(sid)
    rows = timeline(current_runtime(), sid, sc)
    return render_template("timeline/show.html", name=name, rows=[r for r in rows if not r.setup],
                           setup=[r for r in rows if r.setup], inst=inst)


def _browsing_copy(name: str, seq: int) -> int | None:
    """The kept read-only copy of sandbox ``name`` replayed to step ``seq``, if there is one."""
    from sandbox.replay.api import kept_replays

    return next((k.sandbox_id for k in kept_replays(current_runtime(), name) if k.read_only and k.steps == seq), None)


@contextmanager
def _world_at(name: str, seq: int) -> Iterator[int]:
    """The world after step ``seq`` for one page: the browsing copy when there is one, else
    a replay removed as soon as the page is rendered."""
    from sandbox.replay.api import replayed

    existing = _browsing_copy(name, seq)
    if existing is not None:
        yield existing
        return
    with replayed(current_runtime(), name, until=seq, grade_at_end=False) as result:
        yield result.replay_sandbox_id


def _keep_browsing_copy(name: str, seq: int) -> int:
    """The read-only copy at step ``seq`` an examiner browses the candidate's pages on: reused
    when it exists; the oldest beyond ``BROWSING_COPIES`` are removed."""
    from sandbox.replay.api import discard, kept_replays, replay
    from sandbox.kernel.sandboxes import set_closing_time

    existing = _browsing_copy(name, seq)
    if existing is not None:
        return existing
    rt = current_runtime()
    result = replay(rt, name, until=seq, grade_at_end=False, keep=True)
    set_closing_time(rt.db, result.replay_sandbox_id, READ_ONLY_SINCE)  # nobody changes it
    older = [k for k in kept_replays(rt, name) if k.read_only and k.sandbox_id != result.replay_sandbox_id]
    for k in older[:max(0, len(older) - (BROWSING_COPIES - 1))]:
        discard(rt, k.name)
    return result.replay_sandbox_id


@bp.get("/quan-tri/phat-lai/<name>/buoc/<int:seq>")
@admin_required("examiner", "organiser")
def step(name: str, seq: int):
    """Thế giới của thí sinh tại một bước: văn bản, chữ ký số, thư đã gửi."""
    from sandbox.replay.timeline import timeline

    sid = _sandbox(name)
    sc, inst = _scenario(sid)
    rows = [r for r in timeline(current_runtime(), sid, sc) if not r.setup]
    here = next((r for r in rows if r.seq == seq), None)
    if here is None:
        abort(404)
    at = rows.index(here)
    with _world_at(name, seq) as replay_id:
        return _step_page(name, here, rows, at, inst, replay_id)


def _step_page(name: str, here, rows, at: int, inst, replay_id: int):
    from docflow import api as docflow_api
    from mailserver import api as mail_api
    from signing import api as signing_api

    rt = current_runtime()
    drafts = []
    outgoing = docflow_api.outgoing_list(rt, replay_id, inst.candidate_address, per_page=50).items if inst else []
    with rt.db.read() as s:
        people = signing_api.people_of(s, replay_id)
    pki = signing_api.pki_for(rt)
    seen = set()
    for row in outgoing:
        if row.id in seen:
            continue
        seen.add(row.id)
        d = docflow_api.outgoing_doc(rt, replay_id, None, row.id)
        report = None
        if d.pdf_blob and d.layers:
            report = signing_api.verify_pdf(rt.blobs.get(d.pdf_blob), validation_context=pki.validation_context,
                                            people=people)
        drafts.append({"doc": d, "report": report})
    sent = []
    if inst is not None:
        with rt.db.read() as s:
            acc = mail_api.account_by_address(s, replay_id, inst.candidate_address)
        if acc is not None:
            with mail_api.open_view(rt.db, acc) as view:
                sent = view.sent(rt.blobs)
    from signing.web import STATUS_VI
    return render_template("timeline/step.html", name=name, row=here, prev=rows[at - 1] if at else None,
                           next=rows[at + 1] if at + 1 < len(rows) else None, drafts=drafts, sent=sent,
                           status_vi=STATUS_VI, replay_id=replay_id)


@bp.post("/quan-tri/phat-lai/<name>/buoc/<int:seq>/xem")
@admin_required("examiner", "organiser")
def look(name: str, seq: int):
    """Mở các trang của thí sinh (chỉ xem) trên bản sao tại bước này."""
    from mailserver.api import account_by_address

    sid = _sandbox(name)
    _sc, inst = _scenario(sid)
    if inst is None:
        abort(404)
    replay_id = _keep_browsing_copy(name, seq)
    with current_runtime().db.read() as s:
        ref = account_by_address(s, replay_id, inst.candidate_address)
    session["account_id"], session["sandbox_id"] = ref.id, ref.sandbox_id
    return redirect(url_for("tasks.index"))
