"""Văn bản đến: registering an incoming document (the clerk, or the scenario), returning it
to its sender, the leader's directive and forwarding (bút phê + chuyển xử lý, on two levels:
the organisation's leader to units and people, a unit's leader within his unit), and the
assignees' progress.

The actions (``docflow.register_incoming``, ``docflow.reject_incoming``, ``docflow.direct``,
``docflow.progress``) come first, then the API's writers that dispatch them. What a page or
the grader reads of incoming documents is in :mod:`docflow.reads`.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, action

from . import rules
from .common import (SYSTEM, acting_person, add_event, check_blob, clean_attachments, dispatch, get_row, is_world,
                     iso, require_clerk, take_number)
from .errors import DocflowError, DocflowForbidden
from .models import Assignment, IncomingDoc, Organisation, OutgoingDoc, Person, Unit
from .queries import Scoped
from .rules import nfc
from .uploads import Upload, check_upload, stored_uploads

__all__ = ["register_incoming", "reject_incoming", "direct", "progress", "mark_read"]


# =========================================================================================
# actions
# =========================================================================================
@action("docflow.register_incoming", ids={"org_id": "org"}, result_ids={"incoming_id": "incoming"})
def register_incoming_action(ctx: ActionContext, *, org_id: int, sender_name: str, summary: str,
                             original_symbol: str = "", original_date: str | None = None, type_code: str = "CV",
                             urgency: str = "thuong", pdf_blob: str | None = None, attachments: list | None = None,
                             due_date: str | None = None, arrival_date: str | None = None) -> dict:
    """The clerk (or the scenario) registers a văn bản đến: next arrival number of the year."""
    org = get_row(ctx, Organisation, org_id, "cơ quan")
    if not is_world(ctx):
        require_clerk(ctx, org, "vào sổ văn bản đến")
    if not nfc(sender_name) or not nfc(summary):
        raise DocflowError("Hãy nhập cơ quan gửi và trích yếu của văn bản đến.", "empty sender/summary")
    if urgency not in rules.URGENCY:
        raise DocflowError("Độ khẩn không hợp lệ.", f"bad urgency {urgency!r}")
    check_blob(ctx, pdf_blob, "văn bản")
    atts = clean_attachments(ctx, attachments)
    today = rules.vn_today(ctx.now)
    arrived = rules.parse_date(arrival_date, "Ngày đến") or today
    doc = IncomingDoc(sandbox_id=ctx.sandbox.id, org_id=org.id, arrival_number=0, arrival_year=arrived.year,
                      arrival_date=arrived, sender_name=nfc(sender_name), original_symbol=nfc(original_symbol),
                      original_date=rules.parse_date(original_date, "Ngày văn bản"), type_code=type_code,
                      summary=nfc(summary), urgency=urgency, pdf_blob=pdf_blob, attachments=atts,
                      due_date=rules.parse_date(due_date, "Hạn xử lý"), status="registered",
                      registered_by=ctx.actor, registered_at=ctx.now)
    ctx.session.add(doc)
    ctx.session.flush()
    doc.arrival_number, _ = take_number(ctx, org, "den", arrived.year, "in", doc.id,
                                        lambda n: f"{rules.format_number(n)}")
    add_event(ctx, "in", doc.id, f"Vào sổ văn bản đến, số đến {rules.format_number(doc.arrival_number)}",
              "registered")
    return {"incoming_id": doc.id, "arrival_number": doc.arrival_number}


@action("docflow.reject_incoming", ids={"incoming_id": "incoming"}, result_ids={})
def reject_incoming_action(ctx: ActionContext, *, incoming_id: int, reason: str) -> dict:
    doc = get_row(ctx, IncomingDoc, incoming_id, "văn bản đến")
    org = get_row(ctx, Organisation, doc.org_id, "cơ quan")
    require_clerk(ctx, org, "trả lại văn bản đến")
    if doc.status != "registered":
        raise DocflowError("Chỉ trả lại được văn bản đến chưa được chuyển xử lý (trạng thái hiện tại: "
                           f"«{rules.INCOMING_STATUS[doc.status]}»).", f"reject in status {doc.status}")
    reason = nfc(reason)
    if not reason:
        raise DocflowError("Hãy nhập lý do trả lại văn bản.", "empty reason")
    doc.status, doc.rejected_reason = "rejected", reason
    add_event(ctx, "in", doc.id, f"Trả lại văn bản cho {doc.sender_name}: {reason}", "rejected")
    if doc.source_outgoing_id is not None:
        out = ctx.session.get(OutgoingDoc, doc.source_outgoing_id)
        if out is not None and out.sandbox_id == ctx.sandbox.id:
            out.deliveries = [{**d, "status": "rejected", "reason": reason} if d.get("incoming_id") == doc.id else d
                              for d in out.deliveries]
            add_event(ctx, "out", out.id, f"{org.name} trả lại văn bản: {reason}", out.status)
    return {"status": doc.status}


def _target(ctx: ActionContext, org: Organisation, row: dict) -> tuple[int | None, int | None, str]:
    unit_id, person_id = row.get("unit_id"), row.get("person_id")
    if (unit_id is None) == (person_id is None):
        raise DocflowError("Mỗi dòng chuyển xử lý phải chọn một đơn vị hoặc một cá nhân.", f"bad target {row}")
    if unit_id is not None:
        u = get_row(ctx, Unit, unit_id, "đơn vị")
        if u.org_id != org.id:
            raise DocflowError("Đơn vị không thuộc cơ quan.", f"unit {unit_id} outside org")
        return u.id, None, u.name
    p = get_row(ctx, Person, person_id, "cá nhân")
    if p.org_id != org.id:
        raise DocflowError("Người nhận không thuộc cơ quan.", f"person {person_id} outside org")
    return None, p.id, p.full_name


@action("docflow.direct",
        ids={"incoming_id": "incoming", "assignments[].unit_id": "unit", "assignments[].person_id": "person"},
        result_ids={"assignment_ids[]": "assignment"})
def direct_action(ctx: ActionContext, *, incoming_id: int, directive: str, assignments: list) -> dict:
    """Bút phê + chuyển xử lý in one step: the directive and the forwarding rows
    (exactly one xử lý chính overall, deadlines not in the past).

    An organisation leader forwards to units and people of the organisation. A unit leader
    whose unit was given the document passes it on to people of the unit (second level of
    the phiếu giải quyết): the same rules hold within that level."""
    doc = get_row(ctx, IncomingDoc, incoming_id, "văn bản đến")
    org = get_row(ctx, Organisation, doc.org_id, "cơ quan")
    me = acting_person(ctx)
    if me.org_id != org.id or me.role != "lanh_dao":
        raise DocflowForbidden("Chỉ lãnh đạo cơ quan, đơn vị mới được bút phê và chuyển xử lý văn bản đến.",
                               f"{ctx.actor} is not a leader of org {org.id}")
    existing = list(ctx.session.scalars(select(Assignment).where(Assignment.incoming_id == doc.id)))
    parent = None
    if me.leads == "unit":
        parent = next((a for a in existing if a.parent_id is None and a.unit_id is not None
                       and a.unit_id == me.unit_id), None)
        if parent is None:
            raise DocflowForbidden("Văn bản chưa được giao cho đơn vị của bạn; chỉ lãnh đạo cơ quan được "
                                   "chuyển xử lý văn bản này.", f"unit {me.unit_id} has no assignment")
    directive = nfc(directive)
    if not directive and not doc.directive and parent is None:
        raise DocflowError("Hãy nhập ý kiến chỉ đạo (bút phê) trước khi chuyển xử lý.", "empty directive")
    if not assignments:
        raise DocflowError("Hãy chọn ít nhất một đơn vị hoặc cá nhân nhận văn bản.", "no assignments")
    today = rules.vn_today(ctx.now)
    level = [a for a in existing if a.parent_id == (parent.id if parent else None)]
    seen = {(a.unit_id, a.person_id) for a in level}
    rows = []
    for row in assignments:
        role = row.get("role")
        if role not in rules.ASSIGNMENT_ROLES:
            raise DocflowError("Vai trò xử lý phải là Xử lý chính, Phối hợp hoặc Nhận để biết.", f"bad role {role!r}")
        unit_id, person_id, label = _target(ctx, org, row)
        if parent is not None and (person_id is None
                                   or get_row(ctx, Person, person_id, "cá nhân").unit_id != me.unit_id):
            raise DocflowError(f"«{label}» không thuộc đơn vị của bạn; lãnh đạo đơn vị chỉ giao cho cán bộ "
                               "trong đơn vị.", f"target outside unit {me.unit_id}")
        if (unit_id, person_id) in seen:
            raise DocflowError(f"«{label}» được chọn hai lần; mỗi đơn vị, cá nhân chỉ nhận một vai trò.",
                               f"duplicate target {unit_id}/{person_id}")
        seen.add((unit_id, person_id))
        deadline = rules.parse_date(row.get("deadline"), "Hạn xử lý")
        if deadline is None and role in ("xlc", "ph"):
            raise DocflowError(f"Hãy chọn hạn xử lý cho «{label}» ({rules.ASSIGNMENT_ROLES[role]}).",
                               f"no deadline for {role}")
        if deadline is not None and deadline < today:
            raise DocflowError(f"Hạn xử lý {deadline:%d/%m/%Y} của «{label}» đã qua (hôm nay là "
                               f"{today:%d/%m/%Y}); hãy chọn một ngày từ hôm nay trở đi.",
                               f"deadline {deadline} before {today}")
        rows.append((unit_id, person_id, role, deadline, label))
    new_xlc = [r for r in rows if r[2] == "xlc"]
    old_xlc = [a for a in level if a.role == "xlc"]
    if len(new_xlc) + len(old_xlc) > 1:
        raise DocflowError("Mỗi văn bản chỉ có một đơn vị hoặc cá nhân xử lý chính; các nơi khác chọn "
                           "Phối hợp hoặc Nhận để biết.", "second xlc")
    if not new_xlc and not old_xlc:
        raise DocflowError("Hãy chọn đúng một đơn vị hoặc cá nhân xử lý chính.", "no xlc")
    if directive and parent is None:
        doc.directive, doc.directive_by, doc.directive_at = directive, ctx.actor, ctx.now
    ids = []
    for unit_id, person_id, role, deadline, label in rows:
        a = Assignment(sandbox_id=ctx.sandbox.id, incoming_id=doc.id, parent_id=parent.id if parent else None,
                       unit_id=unit_id, person_id=person_id, role=role, deadline=deadline, status="unread",
                       notes=[], assigned_by=ctx.actor, assigned_at=ctx.now)
        ctx.session.add(a)
        ctx.session.flush()
        ids.append(a.id)
        if role == "xlc" and deadline is not None and parent is None:
            doc.due_date = deadline
    if doc.status == "registered":
        doc.status = "assigned"
    if parent is not None and parent.status in ("unread", "read"):
        parent.status = "processing"
        parent.read_at = parent.read_at or ctx.now
    listing = "; ".join(f"{label} ({rules.ASSIGNMENT_ROLES[role]}"
                        + (f", hạn {deadline:%d/%m/%Y})" if deadline else ")")
                        for _u, _p, role, deadline, label in rows)
    if parent is None:
        what = f"Bút phê: «{directive or doc.directive}». Chuyển xử lý: {listing}"
    else:
        what = f"{me.full_name} giao trong đơn vị" + (f" («{directive}»)" if directive else "") + f": {listing}"
    add_event(ctx, "in", doc.id, what, doc.status, assignments=ids, parent_id=parent.id if parent else None)
    return {"assignment_ids": ids, "status": doc.status}


def _may_act_on(ctx: ActionContext, me: Person, a: Assignment) -> bool:
    if a.person_id is not None:
        return a.person_id == me.id
    return me.unit_id is not None and me.unit_id == a.unit_id


@action("docflow.progress", ids={"assignment_id": "assignment"}, result_ids={})
def progress_action(ctx: ActionContext, *, assignment_id: int, status: str, note: str = "") -> dict:
    """An assignee marks read / processing / completed, optionally with a progress note."""
    a = get_row(ctx, Assignment, assignment_id, "phân công xử lý")
    me = acting_person(ctx)
    if not _may_act_on(ctx, me, a):
        raise DocflowForbidden("Bạn không phải người (đơn vị) được giao xử lý văn bản này.",
                               f"{ctx.actor} not assignee of {a.id}")
    if status not in rules.ASSIGNMENT_STATUS or status == "unread":
        raise DocflowError("Trạng thái xử lý không hợp lệ.", f"bad status {status!r}")
    order = rules.ASSIGNMENT_ORDER
    if order.index(status) < order.index(a.status):
        raise DocflowError(f"Không thể chuyển từ «{rules.ASSIGNMENT_STATUS[a.status]}» về "
                           f"«{rules.ASSIGNMENT_STATUS[status]}».", f"{a.status} -> {status}")
    note = nfc(note)
    if status == a.status and not note:
        return {"status": a.status}
    a.status = status
    if a.read_at is None:
        a.read_at = ctx.now
    if status == "completed" and a.completed_at is None:
        a.completed_at = ctx.now
    if note:
        a.notes = [*a.notes, {"at": ctx.now.isoformat(), "by": ctx.actor, "status": status, "text": note}]
    doc = get_row(ctx, IncomingDoc, a.incoming_id, "văn bản đến")
    all_rows = list(ctx.session.scalars(select(Assignment).where(Assignment.incoming_id == doc.id)))
    if any(r.role == "xlc" and r.parent_id is None and r.status == "completed" for r in all_rows):
        doc.status = "done"
    elif any(r.status in ("processing", "completed") for r in all_rows) and doc.status in ("registered", "assigned"):
        doc.status = "in_progress"
    if status != "read" or note:
        add_event(ctx, "in", doc.id, f"{me.full_name}: {rules.ASSIGNMENT_STATUS[status]}"
                  + (f" - {note}" if note else ""), doc.status, assignment_id=a.id)
    return {"status": a.status, "doc_status": doc.status}


# =========================================================================================
# the API's writers
# =========================================================================================
def register_incoming(runtime, sandbox_id: int, org_id: int, *, sender_name: str, summary: str,
                      original_symbol: str = "", original_date: date | str | None = None, type_code: str = "CV",
                      urgency: str = "thuong", pdf: bytes | Upload | None = None, attachments: list | None = None,
                      due_date: date | str | None = None, arrival_date: date | str | None = None,
                      actor: str = SYSTEM) -> dict:
    """Register a văn bản đến (by its clerk, or ``system`` for the scenario): ``{incoming_id, arrival_number}``."""
    pdf_blob = None
    if pdf is not None:
        up = pdf if isinstance(pdf, Upload) else Upload("van-ban.pdf", pdf)
        pdf_blob = check_upload(runtime, up)["blob"]
    return dispatch(runtime, sandbox_id, actor, "docflow.register_incoming", dict(
        org_id=org_id, sender_name=sender_name, summary=summary, original_symbol=original_symbol,
        original_date=iso(original_date), type_code=type_code, urgency=urgency, pdf_blob=pdf_blob,
        attachments=stored_uploads(runtime, attachments), due_date=iso(due_date), arrival_date=iso(arrival_date)))


def reject_incoming(runtime, sandbox_id: int, actor: str, incoming_id: int, reason: str) -> dict:
    """The clerk returns a registered document to its sender (not for this organisation,
    invalid...): status ``rejected``; an in-world sender sees liên thông 02 and the reason."""
    return dispatch(runtime, sandbox_id, actor, "docflow.reject_incoming", dict(incoming_id=incoming_id, reason=reason))


def direct(runtime, sandbox_id: int, actor: str, incoming_id: int, directive: str, assignments: list[dict]) -> dict:
    """Bút phê + chuyển xử lý in one action. ``assignments``: ``[{"unit_id"|"person_id": id,
    "role": "xlc"|"ph"|"db", "deadline": date|"YYYY-MM-DD"|"dd/mm/yyyy"|None}]``."""
    rows = [{**a, "deadline": iso(a.get("deadline"))} for a in assignments]
    return dispatch(runtime, sandbox_id, actor, "docflow.direct", dict(incoming_id=incoming_id, directive=directive,
                                                                       assignments=rows))


def progress(runtime, sandbox_id: int, actor: str, assignment_id: int, status: str, note: str = "") -> dict:
    """An assignee reports: ``status`` read | processing | completed, with an optional note."""
    return dispatch(runtime, sandbox_id, actor, "docflow.progress", dict(assignment_id=assignment_id, status=status,
                                                                         note=note))


def mark_read(runtime, sandbox_id: int, actor: str, incoming_id: int) -> list[int]:
    """Mark the actor's unread assignments of a document read (one action per assignment;
    nothing is dispatched when there is none). Returns the assignment ids marked."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        me = q.first(Person, Person.address == actor.strip().lower())
        if me is None:
            return []
        rows = q.all(Assignment, Assignment.incoming_id == incoming_id, Assignment.status == "unread")
        ids = [a.id for a in rows if a.person_id == me.id or (a.unit_id is not None and a.unit_id == me.unit_id)]
    for aid in ids:
        progress(runtime, sandbox_id, actor, aid, "read")
    return ids
