"""What the pages and the grader read: plain dataclasses built from scoped queries (every
query goes through :class:`docflow.queries.Scoped`, isolation in one place). People and the
organisation tree, the incoming list (tabbed by document status for the clerk and the
organisation's leaders, by assignment status for the others) and the outgoing list (boxes),
search, one document with its history, the tracking view (theo dõi tình hình xử lý), the
report per unit and person, the registers, signatures and assignments for the grader.

Opening a page is recorded (``docflow.viewed``, the one action here): the grader's evidence
that the candidate looked at the tracking view or a document.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_

from sandbox.kernel import jobs
from sandbox.kernel.actions import ActionContext, KindBy, action
from sandbox.kernel.clock import as_utc
from signing import api as signing_api

from . import rules
from .common import AUTO_CLERK_JOB, acting_person, dispatch, get_row
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .models import (Assignment, DocEvent, DraftVersion, Comment, IncomingDoc, Organisation, OutgoingDoc, PageView,
                     Person, Register, RegisterEntry, Unit)
from .queries import Scoped

__all__ = [
    "PersonInfo", "OrgInfo", "UnitNode", "OrgTree", "AssignmentInfo", "EventInfo", "IncomingRow", "IncomingDetail",
    "OutgoingRow", "SignatureRecord", "OutgoingDetail", "ListPage", "TrackingRow", "ReportRow",
    "OUTGOING_BOXES", "LIEN_THONG", "VIEW_PAGES",
    "person", "organisations", "org_of", "org_tree", "incoming_list", "outgoing_list", "search", "incoming_doc",
    "outgoing_doc", "tracking", "assignments_of", "signatures_of", "history", "register", "pdf_of", "attachment_of",
    "tokens_for", "report", "record_view", "views",
]


# =========================================================================================
# read models
# =========================================================================================
@dataclass
class PersonInfo:
    id: int
    address: str
    full_name: str
    title: str
    role: str
    role_label: str
    leads: str
    org_id: int
    org_code: str
    org_name: str
    unit_id: int | None
    unit_code: str | None
    unit_name: str | None
    clerk_mode: str


@dataclass
class OrgInfo:
    id: int
    code: str
    name: str
    parent_name: str
    place: str
    email: str
    clerk_mode: str
    org_token_id: int | None


@dataclass
class UnitNode:
    id: int
    code: str
    name: str
    people: list[PersonInfo]


@dataclass
class OrgTree:
    org: OrgInfo
    leaders: list[PersonInfo]          # people without a unit (organisation leaders, clerk...)
    units: list[UnitNode]


@dataclass
class AssignmentInfo:
    id: int
    incoming_id: int
    parent_id: int | None              # the unit assignment it was passed on from (second level)
    target_kind: str                   # unit | person
    target_id: int
    target_label: str
    role: str
    role_label: str
    deadline: date | None
    status: str
    status_label: str
    overdue: bool
    notes: list[dict]
    assigned_by: str
    assigned_at: datetime
    read_at: datetime | None
    completed_at: datetime | None


@dataclass
class EventInfo:
    at: datetime
    actor: str
    actor_name: str
    what: str
    status: str
    detail: dict


@dataclass
class IncomingRow:
    id: int
    arrival_number: int
    arrival_date: date
    sender_name: str
    original_symbol: str
    original_date: date | None
    type_code: str
    summary: str
    urgency: str
    urgency_label: str
    due_date: date | None
    status: str
    status_label: str
    overdue: bool
    my_role: str | None = None         # the viewer's assignment role, if any
    my_status: str | None = None
    internal: bool = False


@dataclass
class IncomingDetail(IncomingRow):
    org_id: int = 0
    pdf_blob: str | None = None
    attachments: list[dict] = field(default_factory=list)
    directive: str = ""
    directive_by: str = ""
    directive_at: datetime | None = None
    source_outgoing_id: int | None = None
    rejected_reason: str = ""
    assignments: list[AssignmentInfo] = field(default_factory=list)
    history: list[EventInfo] = field(default_factory=list)
    my_assignments: list[int] = field(default_factory=list)


@dataclass
class OutgoingRow:
    id: int
    type_code: str
    type_name: str
    summary: str
    symbol: str
    number: int | None
    issued_date: date | None
    drafter: str
    signer_id: int
    signer_name: str
    status: str
    status_label: str
    updated_at: datetime
    clerk_refusal: str = ""
    return_reason: str = ""


@dataclass
class SignatureRecord:
    role: str                          # leader | organisation
    field: str
    signer: str                        # certificate common name
    subject: str
    serial: str
    fingerprint: str
    kind: str | None
    holder: str | None                 # in-world holder of the token
    by: str                            # account that made it
    at: str
    own_certificate: bool | None
    superseded: bool
    blob: str | None = None            # the PDF as signed (leader: the signed draft)


@dataclass
class OutgoingDetail(OutgoingRow):
    org_id: int = 0
    unit_id: int | None = None
    body: list[str] = field(default_factory=list)
    addressees: list[str] = field(default_factory=list)
    signer_title: str = ""
    recipients: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    version: int = 1
    pdf_blob: str | None = None
    signatures: list[SignatureRecord] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    versions: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    history: list[EventInfo] = field(default_factory=list)
    forwarded_to_clerk: bool = False
    layers: int = 0
    #: an automatic clerk's background job is waiting or at work on it (the page refreshes)
    clerk_at_work: bool = False
    #: her job gave up (its reasons are kept with the job, for the examiner)
    clerk_failed: bool = False


@dataclass
class ListPage:
    items: list
    total: int
    page: int
    per_page: int
    counts: dict[str, int]


@dataclass
class TrackingRow:
    incoming: IncomingRow
    directive: str
    assignments: list[AssignmentInfo]
    overdue: bool                      # any assignment overdue


# =========================================================================================
# people and organisations
# =========================================================================================
def _now(runtime) -> datetime:
    return as_utc(runtime.clock.now())


def _overdue(deadline: date | None, status: str, now: datetime) -> bool:
    return deadline is not None and status != "completed" and rules.vn_today(now) > deadline


def _person_info(q: Scoped, p: Person) -> PersonInfo:
    org = q.get(Organisation, p.org_id)
    unit = q.get(Unit, p.unit_id) if p.unit_id is not None else None
    return PersonInfo(p.id, p.address, p.full_name, p.title, p.role, rules.ROLES[p.role], p.leads, org.id, org.code,
                      org.name, unit.id if unit else None, unit.code if unit else None, unit.name if unit else None,
                      org.clerk_mode)


def _me(q: Scoped, viewer: str) -> Person:
    me = q.first(Person, Person.address == (viewer or "").strip().lower())
    if me is None:
        raise DocflowForbidden("Tài khoản của bạn không có trong phần mềm quản lý văn bản của cơ quan.",
                               f"{viewer} is not a person")
    return me


def person(runtime, sandbox_id: int, address: str) -> PersonInfo | None:
    """The person record for an in-world address (role, organisation, unit), or None."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        p = q.first(Person, Person.address == (address or "").strip().lower())
        return _person_info(q, p) if p else None


def _org_info(o: Organisation) -> OrgInfo:
    return OrgInfo(o.id, o.code, o.name, o.parent_name, o.place, o.email, o.clerk_mode, o.org_token_id)


def organisations(runtime, sandbox_id: int) -> list[OrgInfo]:
    with runtime.db.read() as s:
        return [_org_info(o) for o in Scoped(s, sandbox_id).all(Organisation, order_by=Organisation.id)]


def org_of(runtime, sandbox_id: int, org_id: int) -> OrgInfo | None:
    with runtime.db.read() as s:
        o = Scoped(s, sandbox_id).get(Organisation, org_id)
        return _org_info(o) if o else None


def org_tree(runtime, sandbox_id: int, org_id: int) -> OrgTree:
    """Units and people of an organisation, for the forwarding form."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        org = q.get(Organisation, org_id)
        if org is None:
            raise DocflowNotFound("Không tìm thấy cơ quan.", f"org {org_id}")
        people = q.all(Person, Person.org_id == org.id, order_by=Person.id)
        units = q.all(Unit, Unit.org_id == org.id, order_by=Unit.id)
        infos = {p.id: _person_info(q, p) for p in people}
        return OrgTree(_org_info(org), [infos[p.id] for p in people if p.unit_id is None],
                       [UnitNode(u.id, u.code, u.name, [infos[p.id] for p in people if p.unit_id == u.id])
                        for u in units])


# =========================================================================================
# documents: lists, search, one document, tracking
# =========================================================================================
def _target_label(q: Scoped, a: Assignment) -> tuple[str, int, str]:
    if a.unit_id is not None:
        u = q.get(Unit, a.unit_id)
        return "unit", a.unit_id, u.name if u else "?"
    p = q.get(Person, a.person_id)
    return "person", a.person_id, (f"{p.full_name} ({p.title})" if p and p.title else (p.full_name if p else "?"))


def _assignment_info(q: Scoped, a: Assignment, now: datetime) -> AssignmentInfo:
    kind, tid, label = _target_label(q, a)
    return AssignmentInfo(a.id, a.incoming_id, a.parent_id, kind, tid, label, a.role, rules.ASSIGNMENT_ROLES[a.role], a.deadline,
                          a.status, rules.ASSIGNMENT_STATUS[a.status], _overdue(a.deadline, a.status, now),
                          list(a.notes or []), a.assigned_by, as_utc(a.assigned_at),
                          as_utc(a.read_at) if a.read_at else None,
                          as_utc(a.completed_at) if a.completed_at else None)


def _incoming_row(doc: IncomingDoc, now: datetime, mine: Assignment | None = None, cls=IncomingRow, **extra):
    overdue = doc.due_date is not None and doc.status != "done" and rules.vn_today(now) > doc.due_date
    return cls(doc.id, doc.arrival_number, doc.arrival_date, doc.sender_name, doc.original_symbol,
               doc.original_date, doc.type_code, doc.summary, doc.urgency, rules.URGENCY[doc.urgency], doc.due_date,
               doc.status, rules.INCOMING_STATUS[doc.status], overdue, mine.role if mine else None,
               mine.status if mine else None, doc.to_unit_id is not None, **extra)


def _events(q: Scoped, kind: str, doc_id: int) -> list[EventInfo]:
    names = {p.address: p.full_name for p in q.all(Person)}
    names["lien-thong"] = "Trục liên thông văn bản"
    names["system"] = "Hệ thống"
    return [EventInfo(as_utc(e.at), e.actor, names.get(e.actor, e.actor), e.what, e.status, dict(e.detail or {}))
            for e in q.all(DocEvent, DocEvent.doc_kind == kind, DocEvent.doc_id == doc_id,
                           order_by=(DocEvent.at, DocEvent.id))]


_IN_TAB_DOC = {"cho_xu_ly": ("registered",), "dang_xu_ly": ("assigned", "in_progress"), "da_xu_ly": ("done",)}
_IN_TAB_ASG = {"cho_xu_ly": ("unread", "read"), "dang_xu_ly": ("processing",), "da_xu_ly": ("completed",)}


def _sees_whole_org(me: Person) -> bool:
    return me.role == "van_thu" or (me.role == "lanh_dao" and me.leads == "org")


def _text_filter(model, text: str, *cols):
    like = f"%{rules.nfc(text)}%"
    return or_(*[func.lower(c).like(func.lower(like)) for c in cols])


def incoming_list(runtime, sandbox_id: int, viewer: str, *, tab: str | None = None, q: str | None = None,
                  page: int = 1, per_page: int = 20) -> ListPage:
    """Văn bản đến for ``viewer``, newest first. The clerk and the organisation's leaders see
    every document of the organisation, tabbed by document status (chờ xử lý = awaiting the
    directive); others see what was assigned to them or their unit, tabbed by their
    assignment's status. ``tab``: cho_xu_ly | dang_xu_ly | da_xu_ly | None (all); ``q``
    searches arrival number, symbol, summary and sender. ``counts`` has every tab and ``all``."""
    now = _now(runtime)
    page, per_page = max(1, int(page)), max(1, min(200, int(per_page)))
    with runtime.db.read() as s:
        sq = Scoped(s, sandbox_id)
        me = _me(sq, viewer)
        where = [IncomingDoc.org_id == me.org_id]
        if q:
            conds = [_text_filter(IncomingDoc, q, IncomingDoc.summary, IncomingDoc.sender_name,
                                  IncomingDoc.original_symbol)]
            if q.strip().isdigit():
                conds.append(IncomingDoc.arrival_number == int(q.strip()))
            where.append(or_(*conds))
        if _sees_whole_org(me):
            counts = sq.grouped_count(IncomingDoc, IncomingDoc.status, *where)
            tab_counts = {t: sum(counts.get(st, 0) for st in sts) for t, sts in _IN_TAB_DOC.items()}
            tab_counts["all"] = sum(counts.values())
            if tab in _IN_TAB_DOC:
                where.append(IncomingDoc.status.in_(_IN_TAB_DOC[tab]))
            total = tab_counts.get(tab, tab_counts["all"]) if tab in _IN_TAB_DOC else tab_counts["all"]
            docs = sq.all(IncomingDoc, *where, order_by=(IncomingDoc.registered_at.desc(), IncomingDoc.id.desc()),
                          limit=per_page, offset=(page - 1) * per_page)
            items = [_incoming_row(d, now) for d in docs]
            return ListPage(items, total, page, per_page, tab_counts)
        mine_cond = Assignment.person_id == me.id
        if me.unit_id is not None:
            mine_cond = or_(mine_cond, Assignment.unit_id == me.unit_id)
        found = sq.rows([Assignment.id, Assignment.incoming_id, Assignment.person_id, Assignment.status,
                         Assignment.assigned_at], [Assignment, IncomingDoc], mine_cond, *where,
                        join=(IncomingDoc, IncomingDoc.id == Assignment.incoming_id))
        best: dict[int, Any] = {}
        for r in sorted(found, key=lambda r: r.id):  # one row per document: a personal assignment first
            cur = best.get(r.incoming_id)
            if cur is None or (r.person_id == me.id and cur.person_id != me.id):
                best[r.incoming_id] = r
        rows = list(best.values())
        tab_counts = {t: sum(1 for a in rows if a.status in sts) for t, sts in _IN_TAB_ASG.items()}
        tab_counts["all"] = len(rows)
        if tab in _IN_TAB_ASG:
            rows = [a for a in rows if a.status in _IN_TAB_ASG[tab]]
        rows.sort(key=lambda a: (as_utc(a.assigned_at), a.incoming_id), reverse=True)
        total = len(rows)
        rows = rows[(page - 1) * per_page: page * per_page]
        ids = [a.id for a in rows]
        asg = {a.id: a for a in sq.all(Assignment, Assignment.id.in_(ids))} if ids else {}
        docs = {d.id: d for d in sq.all(IncomingDoc, IncomingDoc.id.in_([a.incoming_id for a in rows]))} if ids else {}
        return ListPage([_incoming_row(docs[a.incoming_id], now, asg[a.id]) for a in rows], total, page, per_page,
                        tab_counts)


#: Boxes of the outgoing list.
OUTGOING_BOXES = {
    "du_thao": ("Dự thảo", rules.DRAFT_STATUSES),
    "cho_ky": ("Dự thảo chờ ký", ("submitted", "approved")),
    "cho_phat_hanh": ("Văn bản chờ phát hành", rules.RELEASE_STATUSES),
    "da_phat_hanh": ("Văn bản đã phát hành", rules.DONE_STATUSES),
}


def _outgoing_row(q: Scoped, d: OutgoingDoc, names: dict[int, str], cls=OutgoingRow, **extra):
    if d.signer_id not in names:
        p = q.get(Person, d.signer_id)
        names[d.signer_id] = p.full_name if p else ""
    return cls(d.id, d.type_code, rules.TYPES[d.type_code], d.summary, d.symbol, d.number, d.issued_date, d.drafter,
               d.signer_id, names[d.signer_id], d.status, rules.OUTGOING_STATUS[d.status], as_utc(d.updated_at),
               d.clerk_refusal, d.return_reason, **extra)


def outgoing_list(runtime, sandbox_id: int, viewer: str, *, box: str | None = None, q: str | None = None,
                  page: int = 1, per_page: int = 20) -> ListPage:
    """Văn bản đi of the viewer's organisation, newest first. ``box``: du_thao | cho_ky (for a
    leader: drafts awaiting *my* signature) | cho_phat_hanh (awaiting release, for the
    clerk) | da_phat_hanh | None. A specialist sees the drafts they wrote and everything
    issued. ``q`` searches symbol, summary. ``counts`` has every box and ``all``."""
    page, per_page = max(1, int(page)), max(1, min(200, int(per_page)))
    with runtime.db.read() as s:
        sq = Scoped(s, sandbox_id)
        me = _me(sq, viewer)
        base = [OutgoingDoc.org_id == me.org_id]
        if me.role == "chuyen_vien" or (me.role == "lanh_dao" and me.leads != "org"):
            base.append(or_(OutgoingDoc.drafter == me.address, OutgoingDoc.signer_id == me.id,
                            OutgoingDoc.status.in_(rules.DONE_STATUSES)))
        if q:
            base.append(_text_filter(OutgoingDoc, q, OutgoingDoc.summary, OutgoingDoc.symbol))
        box_where = {k: [OutgoingDoc.status.in_(sts)] for k, (_l, sts) in OUTGOING_BOXES.items()}
        if me.role == "lanh_dao":
            box_where["cho_ky"].append(OutgoingDoc.signer_id == me.id)
        counts = sq.grouped_count(OutgoingDoc, OutgoingDoc.status, *base)
        box_counts = {k: sum(counts.get(st, 0) for st in sts) for k, (_l, sts) in OUTGOING_BOXES.items()}
        box_counts["cho_ky"] = sq.count(OutgoingDoc, *base, *box_where["cho_ky"])
        box_counts["all"] = sum(counts.values())
        where = base + box_where.get(box, [])
        total = box_counts.get(box, box_counts["all"]) if box in OUTGOING_BOXES else box_counts["all"]
        docs = sq.all(OutgoingDoc, *where, order_by=(OutgoingDoc.updated_at.desc(), OutgoingDoc.id.desc()),
                      limit=per_page, offset=(page - 1) * per_page)
        names: dict[int, str] = {}
        return ListPage([_outgoing_row(sq, d, names) for d in docs], total, page, per_page, box_counts)


def search(runtime, sandbox_id: int, viewer: str, text: str, *, limit: int = 50) -> dict[str, list]:
    """Search incoming and outgoing documents by number/symbol, summary, sender."""
    return {"incoming": incoming_list(runtime, sandbox_id, viewer, q=text, per_page=limit).items,
            "outgoing": outgoing_list(runtime, sandbox_id, viewer, q=text, per_page=limit).items}


def incoming_doc(runtime, sandbox_id: int, viewer: str | None, incoming_id: int) -> IncomingDetail:
    """One văn bản đến with its assignments and history. ``viewer=None``: no person check (grader)."""
    now = _now(runtime)
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        doc = q.get(IncomingDoc, incoming_id)
        me = _me(q, viewer) if viewer is not None else None
        if doc is None or (me is not None and doc.org_id != me.org_id):
            raise DocflowNotFound("Không tìm thấy văn bản đến.", f"incoming {incoming_id}")
        asg = q.all(Assignment, Assignment.incoming_id == doc.id, order_by=Assignment.id)
        mine = [a for a in asg if me is not None and (a.person_id == me.id or
                                                      (a.unit_id is not None and a.unit_id == me.unit_id))]
        return _incoming_row(doc, now, mine[0] if mine else None, IncomingDetail, org_id=doc.org_id,
                             pdf_blob=doc.pdf_blob, attachments=list(doc.attachments or []), directive=doc.directive,
                             directive_by=doc.directive_by,
                             directive_at=as_utc(doc.directive_at) if doc.directive_at else None,
                             source_outgoing_id=doc.source_outgoing_id, rejected_reason=doc.rejected_reason,
                             assignments=[_assignment_info(q, a, now) for a in asg],
                             history=_events(q, "in", doc.id), my_assignments=[a.id for a in mine])


#: Incoming status -> liên thông status code a sender sees (01 đã đến, 02 từ chối, 03 đã
#: tiếp nhận, 04 đã phân công, 05 đang xử lý, 06 hoàn thành).
LIEN_THONG = {"registered": "03", "assigned": "04", "in_progress": "05", "done": "06", "rejected": "02"}


def _signature_records(d: OutgoingDoc) -> list[SignatureRecord]:
    return [SignatureRecord(s.get("role", ""), s.get("field", ""), s.get("signer", ""), s.get("subject", ""),
                            s.get("serial", ""), s.get("fingerprint", ""), s.get("kind"), s.get("holder"),
                            s.get("by", ""), s.get("at", ""), s.get("own_certificate"), bool(s.get("superseded")),
                            s.get("blob"))
            for s in d.signatures or []]


def outgoing_doc(runtime, sandbox_id: int, viewer: str | None, outgoing_id: int) -> OutgoingDetail:
    """One văn bản đi with versions, comments, signatures, deliveries and history."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        d = q.get(OutgoingDoc, outgoing_id)
        me = _me(q, viewer) if viewer is not None else None
        if d is None or (me is not None and d.org_id != me.org_id):
            raise DocflowNotFound("Không tìm thấy văn bản đi.", f"outgoing {outgoing_id}")
        versions = [{"version": v.version, "summary": v.summary, "by": v.by, "at": as_utc(v.at), "note": v.note,
                     "pdf_blob": v.pdf_blob}
                    for v in q.all(DraftVersion, DraftVersion.outgoing_id == d.id, order_by=DraftVersion.version)]
        comments = [{"id": c.id, "by": c.by, "at": as_utc(c.at), "text": c.text}
                    for c in q.all(Comment, Comment.outgoing_id == d.id, order_by=Comment.id)]
        sigs = _signature_records(d)
        live = [x for x in sigs if not x.superseded]
        deliveries = []
        for x in d.deliveries or []:
            x = dict(x)
            inc = q.get(IncomingDoc, x["incoming_id"]) if x.get("incoming_id") else None
            x["lien_thong"] = (LIEN_THONG[inc.status] if inc is not None else
                               "01" if x.get("status") == "delivered" else None)
            deliveries.append(x)
        job = jobs.find(s, sandbox_id, f"outgoing:{d.id}", AUTO_CLERK_JOB) if d.status == "at_clerk" else None
        return _outgoing_row(q, d, {}, OutgoingDetail, org_id=d.org_id, unit_id=d.unit_id, body=list(d.body),
                             addressees=list(d.addressees), signer_title=d.signer_title,
                             recipients=list(d.recipients), attachments=list(d.attachments), version=d.version,
                             pdf_blob=d.pdf_blob, signatures=sigs, deliveries=deliveries,
                             versions=versions, comments=comments, history=_events(q, "out", d.id),
                             forwarded_to_clerk=d.forwarded_to_clerk, layers=len(live),
                             clerk_at_work=job is not None and job.status in (jobs.PENDING, jobs.RUNNING),
                             clerk_failed=job is not None and job.status == jobs.FAILED)


def tracking(runtime, sandbox_id: int, viewer: str, *, only_overdue: bool = False, q: str | None = None,
             limit: int = 200) -> list[TrackingRow]:
    """"Theo dõi tình hình xử lý văn bản": the organisation's forwarded incoming documents with
    every assignee's status, deadline and overdue flag (now > deadline and not completed)."""
    now = _now(runtime)
    with runtime.db.read() as s:
        sq = Scoped(s, sandbox_id)
        me = _me(sq, viewer)
        where = [IncomingDoc.org_id == me.org_id, IncomingDoc.status != "registered"]
        if q:
            where.append(_text_filter(IncomingDoc, q, IncomingDoc.summary, IncomingDoc.sender_name,
                                      IncomingDoc.original_symbol))
        docs = sq.all(IncomingDoc, *where, order_by=(IncomingDoc.registered_at.desc(), IncomingDoc.id.desc()),
                      limit=limit)
        ids = [d.id for d in docs]
        by_doc: dict[int, list[Assignment]] = {}
        for a in (sq.all(Assignment, Assignment.incoming_id.in_(ids), order_by=Assignment.id) if ids else []):
            by_doc.setdefault(a.incoming_id, []).append(a)
        out = []
        for d in docs:
            infos = [_assignment_info(sq, a, now) for a in by_doc.get(d.id, [])]
            row = TrackingRow(_incoming_row(d, now), d.directive, infos, any(i.overdue for i in infos))
            if not only_overdue or row.overdue:
                out.append(row)
        return out


# =========================================================================================
# for the grader (and the files of a document)
# =========================================================================================
def assignments_of(runtime, sandbox_id: int, incoming_id: int) -> list[AssignmentInfo]:
    """Every assignment of a document, who assigned it and when, with statuses."""
    now = _now(runtime)
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        return [_assignment_info(q, a, now)
                for a in q.all(Assignment, Assignment.incoming_id == incoming_id, order_by=Assignment.id)]


def signatures_of(runtime, sandbox_id: int, outgoing_id: int) -> list[SignatureRecord]:
    """Every signature ever recorded on a draft (superseded ones too), with certificate
    fingerprint, holder and whether it was the designated signer's own certificate."""
    with runtime.db.read() as s:
        d = Scoped(s, sandbox_id).get(OutgoingDoc, outgoing_id)
        if d is None:
            raise DocflowNotFound("Không tìm thấy văn bản đi.", f"outgoing {outgoing_id}")
        return _signature_records(d)


def history(runtime, sandbox_id: int, kind: str, doc_id: int) -> list[EventInfo]:
    """A document's history; ``kind`` "in" or "out"."""
    with runtime.db.read() as s:
        return _events(Scoped(s, sandbox_id), kind, doc_id)


def register(runtime, sandbox_id: int, org_id: int, kind: str, year: int) -> list[dict]:
    """The numbers taken in a register (sổ đến ``den`` / sổ đi ``di``) of a year, in order."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        reg = q.first(Register, Register.org_id == org_id, Register.kind == kind, Register.year == year)
        if reg is None:
            return []
        return [{"number": e.number, "symbol": e.symbol, "doc_kind": e.doc_kind, "doc_id": e.doc_id,
                 "at": as_utc(e.at), "by": e.by}
                for e in q.all(RegisterEntry, RegisterEntry.register_id == reg.id, order_by=RegisterEntry.number)]


def pdf_of(runtime, sandbox_id: int, viewer: str | None, kind: str, doc_id: int) -> bytes | None:
    """The current PDF of a document ("in" or "out") the viewer may see."""
    detail = incoming_doc(runtime, sandbox_id, viewer, doc_id) if kind == "in" else \
        outgoing_doc(runtime, sandbox_id, viewer, doc_id)
    return runtime.blobs.get(detail.pdf_blob) if detail.pdf_blob else None


def attachment_of(runtime, sandbox_id: int, viewer: str | None, kind: str, doc_id: int, index: int) -> tuple[dict, bytes]:
    detail = incoming_doc(runtime, sandbox_id, viewer, doc_id) if kind == "in" else \
        outgoing_doc(runtime, sandbox_id, viewer, doc_id)
    try:
        att = detail.attachments[int(index)]
    except (IndexError, ValueError, TypeError):
        raise DocflowNotFound("Không tìm thấy tệp đính kèm.", f"attachment {index}") from None
    return att, runtime.blobs.get(att["blob"])


def tokens_for(runtime, sandbox_id: int, address: str) -> list:
    """The certificates the person may choose in the signing dialog (``signing.api.TokenView``;
    the organisation's token only for the clerk)."""
    p = person(runtime, sandbox_id, address)
    role = "clerk" if p is not None and p.role == "van_thu" else None
    with runtime.db.read() as s:
        return signing_api.certificates_for(s, sandbox_id, address, role)


# =========================================================================================
# the report (báo cáo tình hình giải quyết văn bản đến)
# =========================================================================================
@dataclass
class ReportRow:
    target_kind: str                   # unit | person
    target_id: int
    target_label: str
    total: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    in_progress: int = 0               # not completed, deadline not passed (or none)
    overdue: int = 0                   # not completed, deadline passed


def report(runtime, sandbox_id: int, viewer: str, *, year: int | None = None) -> dict:
    """"Báo cáo tình hình giải quyết văn bản đến": per unit/person with organisation-level
    assignments of the viewer's organisation (optionally one arrival year), the counts of
    completed on time / late, in progress and overdue; plus document totals by status."""
    now = _now(runtime)
    with runtime.db.read() as s:
        sq = Scoped(s, sandbox_id)
        me = _me(sq, viewer)
        where = [IncomingDoc.org_id == me.org_id]
        if year:
            where.append(IncomingDoc.arrival_year == int(year))
        docs = sq.grouped_count(IncomingDoc, IncomingDoc.status, *where)
        rows = sq.rows([Assignment.unit_id, Assignment.person_id, Assignment.status, Assignment.deadline,
                        Assignment.completed_at], [Assignment, IncomingDoc], Assignment.parent_id.is_(None), *where,
                       join=(IncomingDoc, IncomingDoc.id == Assignment.incoming_id))
        out: dict[tuple[str, int], ReportRow] = {}
        for r in rows:
            key = ("unit", r.unit_id) if r.unit_id is not None else ("person", r.person_id)
            row = out.get(key)
            if row is None:
                target = sq.get(Unit, key[1]) if key[0] == "unit" else sq.get(Person, key[1])
                row = out[key] = ReportRow(key[0], key[1], target.name if key[0] == "unit" else target.full_name)
            row.total += 1
            if r.status == "completed":
                late = (r.deadline is not None and r.completed_at is not None
                        and rules.vn_today(as_utc(r.completed_at)) > r.deadline)
                if late:
                    row.completed_late += 1
                else:
                    row.completed_on_time += 1
            elif _overdue(r.deadline, r.status, now):
                row.overdue += 1
            else:
                row.in_progress += 1
        return {"documents": {st: docs.get(st, 0) for st in rules.INCOMING_STATUS},
                "total": sum(docs.values()),
                "rows": sorted(out.values(), key=lambda x: (x.target_kind != "unit", x.target_label))}


# =========================================================================================
# page openings
# =========================================================================================
#: Pages whose opening is recorded (``docflow.viewed``).
VIEW_PAGES = ("tracking", "report", "incoming_doc", "outgoing_doc")


@action("docflow.viewed",
        ids={"doc_id": KindBy("doc_kind", {"in": "incoming", "out": "outgoing"}, default="outgoing")},
        result_ids={})
def viewed_action(ctx: ActionContext, *, page: str, doc_kind: str | None = None, doc_id: int | None = None) -> dict:
    """Record that the actor opened a page (the tracking view, a document)."""
    if page not in VIEW_PAGES:
        raise DocflowError("Trang không hợp lệ.", f"bad page {page!r}")
    acting_person(ctx)
    if doc_id is not None:
        get_row(ctx, IncomingDoc if doc_kind == "in" else OutgoingDoc, doc_id, "văn bản")
    ctx.session.add(PageView(sandbox_id=ctx.sandbox.id, actor=ctx.actor, at=ctx.now, page=page,
                             doc_kind=doc_kind if doc_id is not None else None, doc_id=doc_id))
    return {"page": page}


def record_view(runtime, sandbox_id: int, actor: str, page: str, kind: str | None = None,
                doc_id: int | None = None) -> None:
    """Record that ``actor`` opened ``page`` (``tracking`` | ``report`` | ``incoming_doc`` |
    ``outgoing_doc``, with ``kind`` "in"/"out" and ``doc_id`` for a document): the UI calls it
    when such a page is shown, so the grader can tell the candidate looked."""
    dispatch(runtime, sandbox_id, actor, "docflow.viewed", dict(page=page, doc_kind=kind, doc_id=doc_id))


def views(runtime, sandbox_id: int, actor: str | None = None, page: str | None = None) -> list[dict]:
    """Recorded page openings, oldest first: ``{actor, at, page, doc_kind, doc_id}``."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        where = []
        if actor:
            where.append(PageView.actor == actor.strip().lower())
        if page:
            where.append(PageView.page == page)
        return [{"actor": v.actor, "at": as_utc(v.at), "page": v.page, "doc_kind": v.doc_kind, "doc_id": v.doc_id}
                for v in q.all(PageView, *where, order_by=PageView.id)]
