"""The document-workflow part of a sandbox's state digest
(``sandbox.kernel.actions.state_contributor``): what the workflow's pages and the grader read,
without database ids and without the bytes of signed PDFs (the automatic clerk's
organisation signature differs between runs: pyHanko writes a random document id).

Rows are listed in creation order (a replay creates them in the same order) and other rows
are referred to by what people see: a unit by its code, a person by address, a document by
its position in the sandbox ("in#2", "out#1")."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from sandbox.kernel.actions import state_contributor
from sandbox.kernel.clock import as_utc

from .models import (Assignment, Comment, DocEvent, DraftVersion, IncomingDoc, Organisation, OutgoingDoc, PageView,
                     Person, Register, RegisterEntry, Unit)

#: what a signature record shows (its blob, token id and validation details stay out)
_SIGNATURE_KEYS = ("role", "field", "signer", "fingerprint", "kind", "holder", "by", "at", "own_certificate",
                   "superseded")


def _t(value) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _d(value) -> str | None:
    return value.isoformat() if value is not None else None


def _signature(record: dict | None) -> dict | None:
    return {k: record.get(k) for k in _SIGNATURE_KEYS} if record else None


def _attachments(rows: list) -> list:
    return [[a.get("name"), a.get("content_type"), bool(a.get("signed"))] for a in rows or []]


def _rows(model, *names: str):
    """A prepared query (plain columns, no ORM objects: this runs after every action) of a
    table's rows of one sandbox, in creation order."""
    t = model.__table__
    return select(*(t.c[n] for n in names)).where(t.c.sandbox_id == bindparam("sid")).order_by(t.c.id)


_ORGS = _rows(Organisation, "id", "code", "name", "parent_name", "place", "email", "clerk_mode", "org_token_id",
              "npc_pin_blob")
_UNITS = _rows(Unit, "id", "org_id", "code", "name")
_PEOPLE = _rows(Person, "id", "address", "org_id", "unit_id", "full_name", "title", "role", "leads")
_INCOMING = _rows(IncomingDoc, "id", "org_id", "arrival_year", "arrival_number", "arrival_date", "sender_name",
                  "original_symbol", "original_date", "type_code", "summary", "urgency", "attachments", "due_date",
                  "status", "directive", "directive_by", "directive_at", "source_outgoing_id", "to_unit_id",
                  "rejected_reason", "registered_by")
_ASSIGNMENTS = _rows(Assignment, "id", "incoming_id", "parent_id", "unit_id", "person_id", "role", "deadline",
                     "status", "notes", "assigned_by", "assigned_at", "read_at", "completed_at")
_OUTGOING = _rows(OutgoingDoc, "id", "org_id", "unit_id", "type_code", "summary", "body", "addressees", "drafter",
                  "signer_id", "signer_title", "recipients", "attachments", "status", "version", "number", "year",
                  "symbol", "issued_date", "leader_signature", "org_signature", "signatures", "deliveries",
                  "return_reason", "clerk_refusal", "forwarded_to_clerk")
_VERSIONS = _rows(DraftVersion, "outgoing_id", "version", "summary", "body", "by", "at", "note")
_COMMENTS = _rows(Comment, "outgoing_id", "by", "at", "text")
_EVENTS = _rows(DocEvent, "doc_kind", "doc_id", "at", "actor", "what", "status")
_REGISTERS = _rows(Register, "id", "org_id", "kind", "year", "last_number")
_ENTRIES = _rows(RegisterEntry, "register_id", "number", "symbol", "doc_kind", "doc_id", "at", "by")
_VIEWS = _rows(PageView, "actor", "at", "page", "doc_kind", "doc_id")


_DOC_IDS = (select(IncomingDoc.__table__.c.id).where(IncomingDoc.__table__.c.sandbox_id == bindparam("sid"))
            .order_by(IncomingDoc.__table__.c.id))
_OUT_IDS = (select(OutgoingDoc.__table__.c.id).where(OutgoingDoc.__table__.c.sandbox_id == bindparam("sid"))
            .order_by(OutgoingDoc.__table__.c.id))


@state_contributor("docflow_views", label="quản lý văn bản", sections={"views": "trang đã mở"},
                   tables=("docflow_views", "docflow_incoming", "docflow_outgoing"))
def views_state(session, sandbox_id: int) -> dict:
    """The pages opened (a part of its own: opening a page is the most frequent action and
    changes nothing else)."""
    p = {"sid": sandbox_id}
    ref = {("in", i): f"in#{n + 1}" for n, i in enumerate(session.execute(_DOC_IDS, p).scalars())}
    ref.update({("out", i): f"out#{n + 1}" for n, i in enumerate(session.execute(_OUT_IDS, p).scalars())})
    return {"views": [[v.actor, _t(v.at), v.page,
                       ref.get(("in" if v.doc_kind == "in" else "out", v.doc_id)) if v.doc_id is not None else None]
                      for v in session.execute(_VIEWS, p)]}


@state_contributor("docflow", label="quản lý văn bản",
                   sections={"world": "cơ quan, đơn vị, người dùng", "incoming": "văn bản đến",
                             "outgoing": "văn bản đi", "registers": "sổ văn bản"},
                   tables=("docflow_orgs", "docflow_units", "docflow_people", "docflow_incoming",
                           "docflow_assignments", "docflow_outgoing", "docflow_versions", "docflow_comments",
                           "docflow_events", "docflow_registers", "docflow_register_entries"))
def docflow_state(session, sandbox_id: int) -> dict:
    def rows(stmt):
        return session.execute(stmt, {"sid": sandbox_id}).all()

    orgs = rows(_ORGS)
    units = rows(_UNITS)
    people = rows(_PEOPLE)
    org_code = {o.id: o.code for o in orgs}
    unit_code = {u.id: f"{org_code.get(u.org_id)}/{u.code}" for u in units}
    address = {p.id: p.address for p in people}
    world = {
        "orgs": [[o.code, o.name, o.parent_name, o.place, o.email, o.clerk_mode, o.org_token_id is not None,
                  o.npc_pin_blob is not None] for o in orgs],
        "units": [[unit_code[u.id], u.name] for u in units],
        "people": [[p.address, org_code.get(p.org_id), unit_code.get(p.unit_id), p.full_name, p.title, p.role,
                    p.leads] for p in people],
    }

    incoming = rows(_INCOMING)
    outgoing = rows(_OUTGOING)
    ref = {("in", d.id): f"in#{i + 1}" for i, d in enumerate(incoming)}
    ref.update({("out", d.id): f"out#{i + 1}" for i, d in enumerate(outgoing)})
    events: dict[tuple, list] = {}
    for e in rows(_EVENTS):
        events.setdefault((e.doc_kind, e.doc_id), []).append([_t(e.at), e.actor, e.what, e.status])

    assignments: dict[int, list] = {}
    position: dict[int, str] = {}
    for a in rows(_ASSIGNMENTS):
        target = unit_code.get(a.unit_id) if a.unit_id is not None else address.get(a.person_id)
        position[a.id] = f"{ref.get(('in', a.incoming_id))}:{target}"
        assignments.setdefault(a.incoming_id, []).append(
            [target, position.get(a.parent_id), a.role, _d(a.deadline), a.status, a.notes, a.assigned_by,
             _t(a.assigned_at), _t(a.read_at), _t(a.completed_at)])
    incoming_state = [
        [ref[("in", d.id)], org_code.get(d.org_id), d.arrival_year, d.arrival_number, _d(d.arrival_date),
         d.sender_name, d.original_symbol, _d(d.original_date), d.type_code, d.summary, d.urgency,
         _attachments(d.attachments), _d(d.due_date), d.status, d.directive, d.directive_by, _t(d.directive_at),
         ref.get(("out", d.source_outgoing_id)), unit_code.get(d.to_unit_id), d.rejected_reason, d.registered_by,
         assignments.get(d.id, []), events.get(("in", d.id), [])]
        for d in incoming]

    versions: dict[int, list] = {}
    for v in rows(_VERSIONS):
        versions.setdefault(v.outgoing_id, []).append([v.version, v.summary, v.body, v.by, _t(v.at), v.note])
    comments: dict[int, list] = {}
    for c in rows(_COMMENTS):
        comments.setdefault(c.outgoing_id, []).append([c.by, _t(c.at), c.text])
    outgoing_state = [
        [ref[("out", d.id)], org_code.get(d.org_id), unit_code.get(d.unit_id), d.type_code, d.summary, d.body,
         d.addressees, d.drafter, address.get(d.signer_id), d.signer_title,
         [[r.get("kind"), r.get("label"), r.get("address")] for r in d.recipients or []],
         _attachments(d.attachments), d.status, d.version, d.number, d.year, d.symbol, _d(d.issued_date),
         _signature(d.leader_signature), _signature(d.org_signature), [_signature(x) for x in d.signatures or []],
         [[x.get("kind"), x.get("label"), x.get("status"), x.get("code"), x.get("error"),
           ref.get(("in", x.get("incoming_id")))] for x in d.deliveries or []],
         d.return_reason, d.clerk_refusal, bool(d.forwarded_to_clerk), versions.get(d.id, []),
         comments.get(d.id, []), events.get(("out", d.id), [])]
        for d in outgoing]

    entries: dict[int, list] = {}
    for e in rows(_ENTRIES):
        entries.setdefault(e.register_id, []).append([e.number, e.symbol, ref.get((e.doc_kind, e.doc_id)), _t(e.at),
                                                      e.by])
    registers = [[org_code.get(r.org_id), r.kind, r.year, r.last_number, entries.get(r.id, [])]
                 for r in rows(_REGISTERS)]
    return {"world": world, "incoming": incoming_state, "outgoing": outgoing_state, "registers": registers}
