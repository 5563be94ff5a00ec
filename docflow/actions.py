"""The workflow's actions (``docflow.*``): every change of an organisation, a register, an
incoming or outgoing document goes through one of these handlers, run by the dispatcher in
one transaction. A handler that refuses raises a :class:`~sandbox.kernel.errors.SandboxError`
subclass before changing anything (or the transaction is rolled back), so a refusal changes
nothing and is not logged.

PDF bytes are produced outside the handlers (rendering, the leader's and a candidate clerk's
signatures: the PIN never reaches an action) and passed by blob hash; handlers re-check
every guard against the stored state. The automatic (NPC) clerk is the exception: she signs
with the organisation token inside the leader's ``docflow.forward_to_clerk`` action, as
DESIGN.md §3 asks of NPC reactions.
"""
from __future__ import annotations


import re
import unicodedata

from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, KindBy, action, id_kinds
from sandbox.kernel.clock import VN_TZ

from . import rules
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .models import (Assignment, Comment, DocEvent, DraftVersion, IncomingDoc, Organisation, OutgoingDoc, PageView,
                     Person, Register, RegisterEntry, Unit)
from .rules import nfc

#: Actors that build the world (scenario loader, tests, CLI) rather than play in it.
WORLD_ACTORS = ("system", "scenario")
ADDRESS_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


#: a recipient or delivery row names its target's kind: {"kind": "unit"|"org"|"email", "id": …}
_RECIPIENT = KindBy("kind", {"unit": "unit", "org": "org"})
#: the deliveries a release reports (internal ones became incoming documents)
_RELEASE_IDS = {"deliveries[].id": _RECIPIENT, "deliveries[].incoming_id": "incoming"}
#: the id kinds of the workflow's rows that actions name
id_kinds({"org": "docflow_orgs", "unit": "docflow_units", "person": "docflow_people", "incoming": "docflow_incoming",
          "assignment": "docflow_assignments", "outgoing": "docflow_outgoing", "comment": "docflow_comments"})


# --- lookups, all scoped to ctx.sandbox -----------------------------------------------------
def _get(ctx: ActionContext, model, id_, what: str):
    row = ctx.session.get(model, int(id_)) if id_ is not None else None
    if row is None or row.sandbox_id != ctx.sandbox.id:
        raise DocflowNotFound(f"Không tìm thấy {what}.", f"{model.__name__} {id_} not in sandbox {ctx.sandbox.id}")
    return row


def _person_at(ctx: ActionContext, address: str) -> Person | None:
    return ctx.session.scalar(select(Person).where(Person.sandbox_id == ctx.sandbox.id,
                                                   Person.address == (address or "").strip().lower()))


def _actor(ctx: ActionContext) -> Person:
    p = _person_at(ctx, ctx.actor)
    if p is None:
        raise DocflowForbidden("Tài khoản của bạn không có trong phần mềm quản lý văn bản của cơ quan.",
                               f"actor {ctx.actor} is not a docflow person")
    return p


def _is_world(ctx: ActionContext) -> bool:
    return ctx.actor in WORLD_ACTORS


def _event(ctx: ActionContext, kind: str, doc_id: int, what: str, status: str = "", actor: str | None = None,
           **detail) -> None:
    ctx.session.add(DocEvent(sandbox_id=ctx.sandbox.id, doc_kind=kind, doc_id=doc_id, at=ctx.now,
                             actor=actor or ctx.actor, what=what, status=status, detail=detail))


def _clerk_of(ctx: ActionContext, org: Organisation) -> Person | None:
    return ctx.session.scalar(select(Person).where(Person.sandbox_id == ctx.sandbox.id, Person.org_id == org.id,
                                                   Person.role == "van_thu").order_by(Person.id))


def _require_clerk(ctx: ActionContext, org: Organisation, what: str) -> Person:
    p = _actor(ctx)
    if p.org_id != org.id or p.role != "van_thu":
        raise DocflowForbidden(f"Chỉ văn thư của {org.name} mới được {what}. "
                               "Lãnh đạo ký số xong thì chuyển văn thư phát hành.",
                               f"{ctx.actor} (role {p.role}) may not {what}")
    return p


def _register(ctx: ActionContext, org: Organisation, kind: str, year: int) -> Register:
    reg = ctx.session.scalar(select(Register).where(Register.org_id == org.id, Register.kind == kind,
                                                    Register.year == year))
    if reg is None:
        reg = Register(sandbox_id=ctx.sandbox.id, org_id=org.id, kind=kind, year=year, last_number=0)
        ctx.session.add(reg)
        ctx.session.flush()
    return reg


def _take_number(ctx: ActionContext, org: Organisation, kind: str, year: int, doc_kind: str, doc_id: int,
                 symbol_of=None, number: int | None = None) -> tuple[int, str]:
    """The next free number of the register (or ``number`` when still free); never reused."""
    reg = _register(ctx, org, kind, year)

    def used(n: int) -> RegisterEntry | None:
        return ctx.session.scalar(select(RegisterEntry).where(RegisterEntry.register_id == reg.id,
                                                              RegisterEntry.number == n))

    if number is not None:
        if int(number) < 1:
            raise DocflowError("Số văn bản phải là số nguyên dương.", f"bad number {number}")
        n = int(number)
        prior = used(n)
        if prior is not None:
            book = "sổ văn bản đi" if kind == "di" else "sổ văn bản đến"
            raise DocflowError(f"Số {rules.format_number(n)} đã được cấp trong {book} năm {year} "
                               f"({prior.symbol or 'văn bản khác'}): mỗi số chỉ được cấp một lần trong năm.",
                               f"number {n} already used in register {reg.id}")
    else:
        n = reg.last_number + 1
        while used(n) is not None:
            n += 1
    sym = symbol_of(n) if symbol_of else ""
    ctx.session.add(RegisterEntry(sandbox_id=ctx.sandbox.id, register_id=reg.id, number=n, symbol=sym,
                                  doc_kind=doc_kind, doc_id=doc_id, at=ctx.now, by=ctx.actor))
    reg.last_number = max(reg.last_number, n)
    return n, sym


def _check_blob(ctx: ActionContext, digest: str | None, what: str) -> None:
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)
                                   and ctx.blobs.exists(digest)):
        raise DocflowError(f"Không tìm thấy tệp {what} đã tải lên; hãy tải lại.", f"missing blob {digest!r}")


def _clean_attachments(ctx: ActionContext, attachments) -> list[dict]:
    out = []
    for a in attachments or []:
        _check_blob(ctx, a.get("blob"), "đính kèm")
        out.append({"name": nfc(a.get("name")), "blob": a["blob"], "size": int(a.get("size") or ctx.blobs.size(a["blob"])),
                    "content_type": a.get("content_type") or "application/octet-stream"})
    return out


# --- world building ------------------------------------------------------------------------
@action("docflow.create_org", ids={}, result_ids={"org_id": "org"})
def create_org(ctx: ActionContext, *, code: str, name: str, parent_name: str = "", place: str = "",
               email: str = "", clerk_mode: str = "npc") -> dict:
    code, name = nfc(code), nfc(name)
    if not code or not name:
        raise DocflowError("Thiếu tên hoặc tên viết tắt của cơ quan.", "empty org code/name")
    if clerk_mode not in ("npc", "person"):
        raise DocflowError("Chế độ văn thư không hợp lệ.", f"bad clerk_mode {clerk_mode!r}")
    if ctx.session.scalar(select(Organisation).where(Organisation.sandbox_id == ctx.sandbox.id,
                                                     Organisation.code == code)):
        raise DocflowError(f"Đã có cơ quan viết tắt «{code}».", f"org {code} exists")
    org = Organisation(sandbox_id=ctx.sandbox.id, code=code, name=name, parent_name=nfc(parent_name),
                       place=nfc(place), email=(email or "").strip().lower(), clerk_mode=clerk_mode)
    ctx.session.add(org)
    ctx.session.flush()
    return {"org_id": org.id}


@action("docflow.set_org_token", ids={"org_id": "org", "token_id": "token"}, result_ids={"org_id": "org"})
def set_org_token(ctx: ActionContext, *, org_id: int, token_id: int, npc_pin_blob: str | None = None,
                  clerk_mode: str | None = None) -> dict:
    """Which signing token holds the organisation's key; for an automatic clerk, the blob
    holding its PIN (the PIN itself never enters the log)."""
    org = _get(ctx, Organisation, org_id, "cơ quan")
    _check_blob(ctx, npc_pin_blob, "mã PIN")
    org.org_token_id = int(token_id)
    org.npc_pin_blob = npc_pin_blob
    if clerk_mode:
        org.clerk_mode = clerk_mode
    return {"org_id": org.id}


@action("docflow.create_unit", ids={"org_id": "org"}, result_ids={"unit_id": "unit"})
def create_unit(ctx: ActionContext, *, org_id: int, code: str, name: str) -> dict:
    org = _get(ctx, Organisation, org_id, "cơ quan")
    unit = Unit(sandbox_id=ctx.sandbox.id, org_id=org.id, code=nfc(code), name=nfc(name))
    ctx.session.add(unit)
    ctx.session.flush()
    return {"unit_id": unit.id}


@action("docflow.create_person", ids={"org_id": "org", "unit_id": "unit"}, result_ids={"person_id": "person"})
def create_person(ctx: ActionContext, *, org_id: int, address: str, full_name: str, role: str, title: str = "",
                  unit_id: int | None = None, leads: str = "none") -> dict:
    org = _get(ctx, Organisation, org_id, "cơ quan")
    if role not in rules.ROLES:
        raise DocflowError("Vai trò không hợp lệ (lãnh đạo, chuyên viên hoặc văn thư).", f"bad role {role!r}")
    if leads not in rules.LEADS:
        raise DocflowError("Phạm vi lãnh đạo không hợp lệ.", f"bad leads {leads!r}")
    if unit_id is not None and _get(ctx, Unit, unit_id, "đơn vị").org_id != org.id:
        raise DocflowError("Đơn vị không thuộc cơ quan này.", f"unit {unit_id} not in org {org.id}")
    address = (address or "").strip().lower()
    if not ADDRESS_RE.match(address):
        raise DocflowError(f"Địa chỉ thư điện tử không hợp lệ: «{address}».", "bad address")
    if _person_at(ctx, address) is not None:
        raise DocflowError(f"Đã có người dùng {address}.", "person exists")
    p = Person(sandbox_id=ctx.sandbox.id, org_id=org.id, unit_id=unit_id, address=address,
               full_name=nfc(full_name), title=nfc(title), role=role, leads=leads)
    ctx.session.add(p)
    ctx.session.flush()
    return {"person_id": p.id}


# --- incoming ------------------------------------------------------------------------------
@action("docflow.register_incoming", ids={"org_id": "org"}, result_ids={"incoming_id": "incoming"})
def register_incoming(ctx: ActionContext, *, org_id: int, sender_name: str, summary: str, original_symbol: str = "",
                      original_date: str | None = None, type_code: str = "CV", urgency: str = "thuong",
                      pdf_blob: str | None = None, attachments: list | None = None, due_date: str | None = None,
                      arrival_date: str | None = None) -> dict:
    """The clerk (or the scenario) registers a văn bản đến: next arrival number of the year."""
    org = _get(ctx, Organisation, org_id, "cơ quan")
    if not _is_world(ctx):
        _require_clerk(ctx, org, "vào sổ văn bản đến")
    if not nfc(sender_name) or not nfc(summary):
        raise DocflowError("Hãy nhập cơ quan gửi và trích yếu của văn bản đến.", "empty sender/summary")
    if urgency not in rules.URGENCY:
        raise DocflowError("Độ khẩn không hợp lệ.", f"bad urgency {urgency!r}")
    _check_blob(ctx, pdf_blob, "văn bản")
    atts = _clean_attachments(ctx, attachments)
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
    doc.arrival_number, _ = _take_number(ctx, org, "den", arrived.year, "in", doc.id,
                                         lambda n: f"{rules.format_number(n)}")
    _event(ctx, "in", doc.id, f"Vào sổ văn bản đến, số đến {rules.format_number(doc.arrival_number)}",
           "registered")
    return {"incoming_id": doc.id, "arrival_number": doc.arrival_number}


@action("docflow.reject_incoming", ids={"incoming_id": "incoming"}, result_ids={})
def reject_incoming(ctx: ActionContext, *, incoming_id: int, reason: str) -> dict:
    doc = _get(ctx, IncomingDoc, incoming_id, "văn bản đến")
    org = _get(ctx, Organisation, doc.org_id, "cơ quan")
    _require_clerk(ctx, org, "trả lại văn bản đến")
    if doc.status != "registered":
        raise DocflowError("Chỉ trả lại được văn bản đến chưa được chuyển xử lý (trạng thái hiện tại: "
                           f"«{rules.INCOMING_STATUS[doc.status]}»).", f"reject in status {doc.status}")
    reason = nfc(reason)
    if not reason:
        raise DocflowError("Hãy nhập lý do trả lại văn bản.", "empty reason")
    doc.status, doc.rejected_reason = "rejected", reason
    _event(ctx, "in", doc.id, f"Trả lại văn bản cho {doc.sender_name}: {reason}", "rejected")
    if doc.source_outgoing_id is not None:
        out = ctx.session.get(OutgoingDoc, doc.source_outgoing_id)
        if out is not None and out.sandbox_id == ctx.sandbox.id:
            out.deliveries = [{**d, "status": "rejected", "reason": reason} if d.get("incoming_id") == doc.id else d
                              for d in out.deliveries]
            _event(ctx, "out", out.id, f"{org.name} trả lại văn bản: {reason}", out.status)
    return {"status": doc.status}


def _target(ctx: ActionContext, org: Organisation, row: dict) -> tuple[int | None, int | None, str]:
    unit_id, person_id = row.get("unit_id"), row.get("person_id")
    if (unit_id is None) == (person_id is None):
        raise DocflowError("Mỗi dòng chuyển xử lý phải chọn một đơn vị hoặc một cá nhân.", f"bad target {row}")
    if unit_id is not None:
        u = _get(ctx, Unit, unit_id, "đơn vị")
        if u.org_id != org.id:
            raise DocflowError("Đơn vị không thuộc cơ quan.", f"unit {unit_id} outside org")
        return u.id, None, u.name
    p = _get(ctx, Person, person_id, "cá nhân")
    if p.org_id != org.id:
        raise DocflowError("Người nhận không thuộc cơ quan.", f"person {person_id} outside org")
    return None, p.id, p.full_name


@action("docflow.direct",
        ids={"incoming_id": "incoming", "assignments[].unit_id": "unit", "assignments[].person_id": "person"},
        result_ids={"assignment_ids[]": "assignment"})
def direct(ctx: ActionContext, *, incoming_id: int, directive: str, assignments: list) -> dict:
    """Bút phê + chuyển xử lý in one step: the directive and the forwarding rows
    (exactly one xử lý chính overall, deadlines not in the past).

    An organisation leader forwards to units and people of the organisation. A unit leader
    whose unit was given the document passes it on to people of the unit (second level of
    the phiếu giải quyết): the same rules hold within that level."""
    doc = _get(ctx, IncomingDoc, incoming_id, "văn bản đến")
    org = _get(ctx, Organisation, doc.org_id, "cơ quan")
    me = _actor(ctx)
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
        if parent is not None and (person_id is None or _get(ctx, Person, person_id, "cá nhân").unit_id != me.unit_id):
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
    _event(ctx, "in", doc.id, what, doc.status, assignments=ids, parent_id=parent.id if parent else None)
    return {"assignment_ids": ids, "status": doc.status}


def _may_act_on(ctx: ActionContext, me: Person, a: Assignment) -> bool:
    if a.person_id is not None:
        return a.person_id == me.id
    return me.unit_id is not None and me.unit_id == a.unit_id


@action("docflow.progress", ids={"assignment_id": "assignment"}, result_ids={})
def progress(ctx: ActionContext, *, assignment_id: int, status: str, note: str = "") -> dict:
    """An assignee marks read / processing / completed, optionally with a progress note."""
    a = _get(ctx, Assignment, assignment_id, "phân công xử lý")
    me = _actor(ctx)
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
    doc = _get(ctx, IncomingDoc, a.incoming_id, "văn bản đến")
    all_rows = list(ctx.session.scalars(select(Assignment).where(Assignment.incoming_id == doc.id)))
    if any(r.role == "xlc" and r.parent_id is None and r.status == "completed" for r in all_rows):
        doc.status = "done"
    elif any(r.status in ("processing", "completed") for r in all_rows) and doc.status in ("registered", "assigned"):
        doc.status = "in_progress"
    if status != "read" or note:
        _event(ctx, "in", doc.id, f"{me.full_name}: {rules.ASSIGNMENT_STATUS[status]}"
               + (f" - {note}" if note else ""), doc.status, assignment_id=a.id)
    return {"status": a.status, "doc_status": doc.status}


# --- outgoing: drafting --------------------------------------------------------------------
def _check_recipients(ctx: ActionContext, org: Organisation, recipients) -> list[dict]:
    out = []
    for r in recipients or []:
        kind = r.get("kind")
        if kind == "unit":
            u = _get(ctx, Unit, r.get("id"), "đơn vị nhận")
            if u.org_id != org.id:
                raise DocflowError("Đơn vị nhận không thuộc cơ quan.", "unit outside org")
            out.append({"kind": "unit", "id": u.id, "label": nfc(r.get("label")) or u.name})
        elif kind == "org":
            o = _get(ctx, Organisation, r.get("id"), "cơ quan nhận")
            if o.id == org.id:
                raise DocflowError("Nơi nhận là chính cơ quan ban hành; hãy chọn đơn vị nội bộ.", "self org")
            out.append({"kind": "org", "id": o.id, "label": nfc(r.get("label")) or o.name})
        elif kind == "email":
            addr = (r.get("address") or "").strip().lower()
            if not ADDRESS_RE.match(addr):
                raise DocflowError(f"Địa chỉ thư điện tử nơi nhận không hợp lệ: «{addr}».", "bad address")
            out.append({"kind": "email", "address": addr, "label": nfc(r.get("label")) or addr})
        else:
            raise DocflowError("Loại nơi nhận không hợp lệ (đơn vị, cơ quan hoặc thư điện tử).", f"bad kind {kind!r}")
    return out


def _outgoing(ctx: ActionContext, doc_id: int) -> tuple[OutgoingDoc, Organisation]:
    doc = _get(ctx, OutgoingDoc, doc_id, "văn bản đi")
    return doc, _get(ctx, Organisation, doc.org_id, "cơ quan")


def _need(doc: OutgoingDoc, allowed: tuple[str, ...], what: str) -> None:
    if doc.status not in allowed:
        raise DocflowError(f"Không thể {what}: văn bản đang ở trạng thái «{rules.OUTGOING_STATUS[doc.status]}».",
                           f"{what}: status {doc.status} not in {allowed}")


def _signer(ctx: ActionContext, doc: OutgoingDoc) -> Person:
    return _get(ctx, Person, doc.signer_id, "người ký")


def _require_signer(ctx: ActionContext, doc: OutgoingDoc, what: str) -> Person:
    signer = _signer(ctx, doc)
    if ctx.actor.strip().lower() != signer.address:
        raise DocflowForbidden(f"Chỉ người ký được giao ({signer.full_name}, {signer.title}) mới được {what}.",
                               f"{ctx.actor} is not the designated signer {signer.address}")
    return signer


@action("docflow.create_draft",
        ids={"signer_id": "person", "unit_id": "unit", "recipients[].id": _RECIPIENT},
        result_ids={"outgoing_id": "outgoing"})
def create_draft(ctx: ActionContext, *, type_code: str, summary: str, signer_id: int, signer_title: str,
                 body: list | None = None, addressees: list | None = None, recipients: list | None = None,
                 attachments: list | None = None, unit_id: int | None = None, pdf_blob: str, layout: dict,
                 drafter: str | None = None) -> dict:
    """A new draft by the actor (or, for the scenario, by ``drafter``) with its rendered PDF."""
    author = _person_at(ctx, drafter) if (drafter and _is_world(ctx)) else _actor(ctx)
    if author is None:
        raise DocflowNotFound("Không tìm thấy người soạn thảo.", f"drafter {drafter}")
    org = _get(ctx, Organisation, author.org_id, "cơ quan")
    if type_code not in rules.TYPES:
        raise DocflowError(f"Loại văn bản không hợp lệ: «{type_code}».", f"bad type {type_code!r}")
    if not nfc(summary):
        raise DocflowError("Hãy nhập trích yếu nội dung văn bản.", "empty summary")
    signer = _get(ctx, Person, signer_id, "người ký")
    if signer.org_id != org.id or signer.role != "lanh_dao":
        raise DocflowError("Người ký phải là lãnh đạo của cơ quan.", f"signer {signer_id} not a leader")
    if unit_id is not None and _get(ctx, Unit, unit_id, "đơn vị soạn thảo").org_id != org.id:
        raise DocflowError("Đơn vị soạn thảo không thuộc cơ quan.", "unit outside org")
    _check_blob(ctx, pdf_blob, "dự thảo")
    doc = OutgoingDoc(sandbox_id=ctx.sandbox.id, org_id=org.id, unit_id=unit_id if unit_id is not None else author.unit_id,
                      type_code=type_code, summary=nfc(summary), body=[nfc(p) for p in body or []],
                      addressees=[nfc(a) for a in addressees or []], drafter=author.address, signer_id=signer.id,
                      signer_title=nfc(signer_title), recipients=_check_recipients(ctx, org, recipients),
                      attachments=_clean_attachments(ctx, attachments), status="drafting", version=1,
                      draft_pdf=pdf_blob, pdf_blob=pdf_blob, layout=layout, signatures=[], deliveries=[],
                      created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(doc)
    ctx.session.flush()
    ctx.session.add(DraftVersion(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, version=1, summary=doc.summary,
                                 body=doc.body, pdf_blob=pdf_blob, by=author.address, at=ctx.now, note="Tạo dự thảo"))
    _event(ctx, "out", doc.id, "Tạo dự thảo (phiên bản 1)", "drafting", actor=author.address)
    return {"outgoing_id": doc.id}


@action("docflow.update_draft", ids={"outgoing_id": "outgoing", "recipients[].id": _RECIPIENT}, result_ids={})
def update_draft(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, layout: dict, summary: str | None = None,
                 body: list | None = None, addressees: list | None = None, recipients: list | None = None,
                 attachments: list | None = None, signer_title: str | None = None, note: str = "") -> dict:
    """A new version of a draft being written or returned (by its drafter)."""
    doc, org = _outgoing(ctx, outgoing_id)
    me = _actor(ctx)
    if me.address != doc.drafter:
        raise DocflowForbidden("Chỉ người soạn thảo mới được sửa dự thảo.", "not the drafter")
    _need(doc, ("drafting", "returned"), "sửa dự thảo")
    _check_blob(ctx, pdf_blob, "dự thảo")
    if summary is not None:
        if not nfc(summary):
            raise DocflowError("Hãy nhập trích yếu nội dung văn bản.", "empty summary")
        doc.summary = nfc(summary)
    if body is not None:
        doc.body = [nfc(p) for p in body]
    if addressees is not None:
        doc.addressees = [nfc(a) for a in addressees]
    if recipients is not None:
        doc.recipients = _check_recipients(ctx, org, recipients)
    if attachments is not None:
        doc.attachments = _clean_attachments(ctx, attachments)
    if signer_title is not None:
        doc.signer_title = nfc(signer_title)
    doc.version += 1
    doc.draft_pdf = doc.pdf_blob = pdf_blob
    doc.layout = layout
    doc.updated_at = ctx.now
    ctx.session.add(DraftVersion(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, version=doc.version,
                                 summary=doc.summary, body=doc.body, pdf_blob=pdf_blob, by=me.address, at=ctx.now,
                                 note=nfc(note)))
    _event(ctx, "out", doc.id, f"Sửa dự thảo (phiên bản {doc.version})" + (f": {nfc(note)}" if note else ""),
           doc.status)
    return {"version": doc.version}


@action("docflow.comment", ids={"outgoing_id": "outgoing"}, result_ids={"comment_id": "comment"})
def comment(ctx: ActionContext, *, outgoing_id: int, text: str) -> dict:
    doc, org = _outgoing(ctx, outgoing_id)
    me = _actor(ctx)
    if me.org_id != org.id:
        raise DocflowForbidden("Bạn không thuộc cơ quan soạn thảo văn bản này.", "comment outside org")
    if not nfc(text):
        raise DocflowError("Ý kiến trống.", "empty comment")
    c = Comment(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, by=me.address, at=ctx.now, text=nfc(text))
    ctx.session.add(c)
    ctx.session.flush()
    _event(ctx, "out", doc.id, f"Góp ý: {nfc(text)}", doc.status)
    return {"comment_id": c.id}


@action("docflow.submit", ids={"outgoing_id": "outgoing"}, result_ids={})
def submit(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, _org = _outgoing(ctx, outgoing_id)
    if ctx.actor.strip().lower() != doc.drafter and not _is_world(ctx):
        raise DocflowForbidden("Chỉ người soạn thảo mới được trình dự thảo.", "not the drafter")
    _need(doc, ("drafting", "returned"), "trình lãnh đạo")
    doc.status, doc.return_reason, doc.updated_at = "submitted", "", ctx.now
    signer = _signer(ctx, doc)
    _event(ctx, "out", doc.id, f"Trình lãnh đạo ký: {signer.full_name}", "submitted")
    return {"status": doc.status}


def _reset_to_unsigned(doc: OutgoingDoc) -> None:
    """Back to the prepared draft of the current version (a signature cannot be undone in a
    PDF: the next signature is made on a fresh copy). Earlier signatures stay in ``signatures``."""
    doc.pdf_blob = doc.draft_pdf
    doc.leader_signature = None
    doc.signatures = [{**s, "superseded": True} for s in doc.signatures]


@action("docflow.return_draft", ids={"outgoing_id": "outgoing"}, result_ids={})
def return_draft(ctx: ActionContext, *, outgoing_id: int, reason: str) -> dict:
    doc, _org = _outgoing(ctx, outgoing_id)
    _require_signer(ctx, doc, "trả lại dự thảo")
    _need(doc, ("submitted", "approved", "leader_signed"), "trả lại dự thảo")
    if not nfc(reason):
        raise DocflowError("Hãy nhập lý do trả lại.", "empty reason")
    _reset_to_unsigned(doc)
    doc.status, doc.return_reason, doc.updated_at = "returned", nfc(reason), ctx.now
    _event(ctx, "out", doc.id, f"Trả lại dự thảo: {nfc(reason)}", "returned")
    return {"status": doc.status}


@action("docflow.approve", ids={"outgoing_id": "outgoing"}, result_ids={})
def approve(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, _org = _outgoing(ctx, outgoing_id)
    _require_signer(ctx, doc, "duyệt dự thảo")
    _need(doc, ("submitted",), "duyệt dự thảo")
    doc.status, doc.updated_at = "approved", ctx.now
    _event(ctx, "out", doc.id, "Duyệt dự thảo", "approved")
    return {"status": doc.status}


# --- signatures ------------------------------------------------------------------------------
def _own_fingerprints(ctx: ActionContext, person: Person) -> set[str]:
    from . import sigcheck
    return sigcheck.own_fingerprints(ctx.session, ctx.sandbox.id, person.address)


def _holders(ctx: ActionContext) -> dict[str, str]:
    """Certificate fingerprint -> the in-world person it belongs to (its owner)."""
    from signing.api import holders_by_fingerprint
    return holders_by_fingerprint(ctx.session, ctx.sandbox.id)


def _embedded(pdf: bytes) -> list[dict]:
    """Signatures in a PDF, in order, without validation: field and certificate."""
    from . import sigcheck
    return sigcheck.embedded(pdf)


def _derived_from(ctx: ActionContext, new_blob: str, old_blob: str | None) -> bytes:
    data = ctx.blobs.get(new_blob)
    old = ctx.blobs.get(old_blob) if old_blob else b""
    if not old or len(data) <= len(old) or data[:len(old)] != old:
        raise DocflowError("Tệp đã ký không phải là bản ký của văn bản này (có thể đã tải nhầm tệp).",
                           "signed PDF is not an incremental update of the current one")
    return data


@action("docflow.leader_signed", ids={"outgoing_id": "outgoing", "token_id": "token"}, result_ids={})
def leader_signed(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, token_id: int | None = None) -> dict:
    """Record the leader's approval signature made outside (the PIN never reaches the log):
    the signed PDF is checked to extend the current draft with a signature on the leader
    field; the certificate used is recorded, and flagged when it is not the signer's own."""
    from signing.document import LEADER_FIELD

    doc, _org = _outgoing(ctx, outgoing_id)
    signer = _require_signer(ctx, doc, "ký số dự thảo này")
    _need(doc, ("submitted", "approved"), "ký số")
    _check_blob(ctx, pdf_blob, "đã ký")
    data = _derived_from(ctx, pdf_blob, doc.pdf_blob)
    sigs = _embedded(data)
    if len(sigs) != 1 or sigs[0]["field"] != LEADER_FIELD:
        raise DocflowError("Tệp đã ký không có đúng một chữ ký tại ô chữ ký của lãnh đạo.", f"signatures {sigs}")
    sig = sigs[0]
    holder = _holders(ctx).get(sig["fingerprint"])
    own = sig["fingerprint"] in _own_fingerprints(ctx, signer)
    record = {**sig, "holder": holder, "by": ctx.actor, "at": ctx.now.isoformat(), "blob": pdf_blob,
              "token_id": token_id, "own_certificate": own, "role": "leader", "superseded": False}
    doc.leader_signature = record
    doc.signatures = [*doc.signatures, record]
    doc.pdf_blob, doc.status, doc.updated_at, doc.clerk_refusal = pdf_blob, "leader_signed", ctx.now, ""
    what = f"Ký số phê duyệt bằng chứng thư số «{sig['signer']}»"
    if not own:
        what += (f" - CẢNH BÁO: không phải chứng thư số của người ký {signer.full_name}"
                 + (f" (của {holder})" if holder else ""))
    _event(ctx, "out", doc.id, what, "leader_signed", fingerprint=sig["fingerprint"], own_certificate=own,
           holder=holder)
    return {"status": doc.status, "fingerprint": sig["fingerprint"], "own_certificate": own}


def _leader_problem(ctx: ActionContext, doc: OutgoingDoc, pdf: bytes | None = None) -> str | None:
    """Why the organisation may not sign yet (Vietnamese), or None: a leader signature must be
    present, valid, unchanged except form filling, and made with the designated signer's own
    certificate (checked with signing's verifier)."""
    from . import sigcheck

    signer = _signer(ctx, doc)
    if doc.leader_signature is None and pdf is None:
        return "Dự thảo chưa được lãnh đạo ký số."
    data = pdf if pdf is not None else ctx.blobs.get(doc.pdf_blob)
    return sigcheck.leader_problem(data, own=_own_fingerprints(ctx, signer), signer_name=signer.full_name,
                                   holders=_holders(ctx), trust=sigcheck.trust_of(ctx.services))


def _refuse_at_clerk(ctx: ActionContext, doc: OutgoingDoc, clerk: str, reason: str) -> None:
    _reset_to_unsigned(doc)
    doc.status, doc.clerk_refusal, doc.forwarded_to_clerk, doc.updated_at = "approved", reason, False, ctx.now
    _event(ctx, "out", doc.id, f"Văn thư trả lại, không phát hành: {reason}", "approved", actor=clerk)


@action("docflow.forward_to_clerk", ids={"outgoing_id": "outgoing"}, result_ids={})  # its deliveries: in ``created``
def forward_to_clerk(ctx: ActionContext, *, outgoing_id: int, note: str = "") -> dict:
    """"Chuyển văn thư phát hành" by the designated signer. An automatic clerk does her part
    at once (number, organisation signature, release) or refuses with a reason."""
    doc, org = _outgoing(ctx, outgoing_id)
    _require_signer(ctx, doc, "chuyển văn thư phát hành")
    _need(doc, ("submitted", "approved", "leader_signed"), "chuyển văn thư phát hành")
    doc.status, doc.forwarded_to_clerk, doc.clerk_refusal, doc.updated_at = "at_clerk", True, "", ctx.now
    _event(ctx, "out", doc.id, "Chuyển văn thư phát hành" + (f": {nfc(note)}" if nfc(note) else ""), "at_clerk")
    if org.clerk_mode != "npc":
        return {"status": doc.status, "clerk": "person"}
    clerk = _clerk_of(ctx, org)
    if clerk is None or org.org_token_id is None or org.npc_pin_blob is None:
        raise DocflowError("Cơ quan chưa có văn thư tự động với chứng thư số cơ quan.", f"org {org.id} has no NPC clerk")
    problem = _leader_problem(ctx, doc)
    if problem:
        _refuse_at_clerk(ctx, doc, clerk.address, problem)
        return {"status": doc.status, "clerk": "npc", "released": False, "refusal": problem}
    _number(ctx, doc, org, clerk.address, None)
    _npc_org_sign(ctx, doc, org, clerk)
    _issue(ctx, doc, org, clerk.address)
    return {"status": doc.status, "clerk": "npc", "released": True, "symbol": doc.symbol}


# --- outgoing: the clerk -------------------------------------------------------------------
def _unit_code(ctx: ActionContext, doc: OutgoingDoc) -> str | None:
    return _get(ctx, Unit, doc.unit_id, "đơn vị").code if doc.unit_id is not None else None


def _number(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: str, number: int | None) -> None:
    today = rules.vn_today(ctx.now)
    unit_code = _unit_code(ctx, doc)
    if doc.number is not None and doc.year == today.year and number in (None, doc.number):
        # numbered before, sent back, forwarded again: it keeps its number (never given to another)
        n, sym = doc.number, doc.symbol
    else:
        n, sym = _take_number(ctx, org, "di", today.year, "out", doc.id,
                              lambda k: rules.symbol(k, doc.type_code, org.code, unit_code), number)
    doc.number, doc.year, doc.symbol, doc.issued_date = n, today.year, sym, today
    doc.status, doc.updated_at = "numbered", ctx.now
    _event(ctx, "out", doc.id, f"Cấp số {sym}, {rules.date_line(org.place, today)}", "numbered", actor=clerk)


@action("docflow.clerk_refuse", ids={"outgoing_id": "outgoing"}, result_ids={})
def clerk_refuse(ctx: ActionContext, *, outgoing_id: int, reason: str) -> dict:
    doc, org = _outgoing(ctx, outgoing_id)
    _require_clerk(ctx, org, "trả lại văn bản cho lãnh đạo")
    _need(doc, ("at_clerk", "numbered"), "trả lại văn bản")
    if not nfc(reason):
        raise DocflowError("Hãy nhập lý do trả lại.", "empty reason")
    _refuse_at_clerk(ctx, doc, ctx.actor, nfc(reason))
    return {"status": doc.status}


@action("docflow.number", ids={"outgoing_id": "outgoing"}, result_ids={}, not_ids=("number",))
def number(ctx: ActionContext, *, outgoing_id: int, number: int | None = None) -> dict:
    """Cấp số (the clerk): the next number of this year's sổ đi, or a free number she types."""
    doc, org = _outgoing(ctx, outgoing_id)
    _require_clerk(ctx, org, "cấp số văn bản")
    _need(doc, ("at_clerk",), "cấp số")
    _number(ctx, doc, org, ctx.actor, number)
    return {"status": doc.status, "number": doc.number, "symbol": doc.symbol}


def org_signature_inputs(doc: OutgoingDoc, org: Organisation) -> tuple[str, str]:
    """The number and the date line the clerk writes into the ``SoVB``/``NgayVB`` fields."""
    return doc.symbol, rules.date_line(org.place, doc.issued_date)


def _record_org_signature(ctx: ActionContext, doc: OutgoingDoc, blob: str, sig: dict, clerk: str) -> None:
    record = {**sig, "holder": _holders(ctx).get(sig["fingerprint"]), "by": clerk, "at": ctx.now.isoformat(),
              "blob": blob, "role": "organisation", "superseded": False}
    doc.org_signature = record
    doc.signatures = [*doc.signatures, record]
    doc.pdf_blob, doc.status, doc.updated_at = blob, "org_signed", ctx.now
    _event(ctx, "out", doc.id, f"Ký số của cơ quan (đóng dấu) bằng chứng thư số «{sig['signer']}»", "org_signed",
           actor=clerk, fingerprint=sig["fingerprint"])


def _npc_org_sign(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: Person) -> None:
    from . import sigcheck

    pin = ctx.blobs.get(org.npc_pin_blob).decode()
    bundle = sigcheck.npc_org_bundle(ctx, org, clerk.address, pin)
    number_text, date_text = org_signature_inputs(doc, org)
    pdf, sig = sigcheck.org_sign(ctx, org, bundle, ctx.blobs.get(doc.pdf_blob), doc.layout, number_text, date_text)
    _record_org_signature(ctx, doc, ctx.blobs.put(pdf), sig, clerk.address)
    atts, failed = sigcheck.sign_attachments(ctx.blobs, ctx.services, bundle, doc.attachments, doc.symbol, ctx.now)
    _record_attachments(ctx, doc, atts, failed, clerk.address)


def _record_attachments(ctx: ActionContext, doc: OutgoingDoc, atts: list[dict], failed: list[str],
                        clerk: str) -> None:
    signed = [a["name"] for a, old in zip(atts, doc.attachments) if a.get("signed") and not old.get("signed")]
    doc.attachments = atts
    if signed:
        _event(ctx, "out", doc.id, "Ký số của cơ quan trên tệp đính kèm: " + "; ".join(signed), doc.status,
               actor=clerk)
    if failed:
        _event(ctx, "out", doc.id, "Không ký số được tệp đính kèm: " + "; ".join(failed), doc.status, actor=clerk)


@action("docflow.org_signed", ids={"outgoing_id": "outgoing"}, result_ids={})
def org_signed(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, attachments: list | None = None) -> dict:
    """Record the organisation signature a (candidate) clerk made outside with the org token:
    the PDF must extend the numbered draft, keep a valid leader signature by the designated
    signer's own certificate, and add an organisation-certificate signature. ``attachments``:
    ``[{"index": i, "blob": signed PDF}]`` for separate PDF attachments she signed too."""
    from signing.document import ORG_FIELD

    doc, org = _outgoing(ctx, outgoing_id)
    clerk = _require_clerk(ctx, org, "ký số của cơ quan (đóng dấu)")
    _need(doc, ("numbered",), "ký số của cơ quan")
    _check_blob(ctx, pdf_blob, "đã ký")
    data = _derived_from(ctx, pdf_blob, doc.pdf_blob)
    problem = _leader_problem(ctx, doc, data)
    if problem:
        raise DocflowError(f"Không thể ký số của cơ quan: {problem}", "leader signature not acceptable")
    sigs = _embedded(data)
    last = sigs[-1]
    if len(sigs) != 2 or last["field"] != ORG_FIELD or last["kind"] != "organisation":
        raise DocflowError("Chữ ký thứ hai phải là chữ ký số của cơ quan tại ô đóng dấu.", f"signatures {sigs}")
    atts = [dict(a) for a in doc.attachments]
    for row in attachments or []:
        i = int(row["index"])
        if not 0 <= i < len(atts):
            raise DocflowError("Tệp đính kèm không có trong văn bản.", f"attachment {i}")
        _check_blob(ctx, row["blob"], "đính kèm đã ký")
        signed = _derived_from(ctx, row["blob"], atts[i]["blob"])
        found = _embedded(signed)
        if not found or found[-1]["kind"] != "organisation":
            raise DocflowError(f"Tệp đính kèm «{atts[i]['name']}» chưa có chữ ký số của cơ quan.", "attachment")
        atts[i] = {**atts[i], "blob": row["blob"], "size": len(signed), "original_blob": atts[i]["blob"],
                   "signed": True}
    _record_org_signature(ctx, doc, pdf_blob, last, clerk.address)
    _record_attachments(ctx, doc, atts, [], clerk.address)
    return {"status": doc.status}


def _mail_for(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, to: list[str]) -> bytes:
    type_name = "Công văn" if doc.type_code == "CV" else rules.TYPES[doc.type_code].capitalize()
    msg = EmailMessage()
    msg["From"] = formataddr((org.name, org.email), charset="utf-8")
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"{type_name} số {doc.symbol} - {rules.render_summary(doc.type_code, doc.summary)}"
    msg["Date"] = format_datetime(ctx.now.astimezone(VN_TZ))
    msg.set_content(
        f"Kính gửi: Quý cơ quan,\n\n{org.name} gửi {type_name.lower()} số {doc.symbol} "
        f"{rules.date_line('', doc.issued_date).lower()} "
        f"({rules.render_summary(doc.type_code, doc.summary)}).\n"
        "Văn bản điện tử đính kèm đã được ký số của người có thẩm quyền và của cơ quan.\n\n"
        f"Văn thư {org.name}\n")
    msg.add_attachment(ctx.blobs.get(doc.pdf_blob), maintype="application", subtype="pdf",
                       filename=safe_pdf_name(doc.symbol))
    for a in doc.attachments:
        main, _, sub = (a.get("content_type") or "application/octet-stream").partition("/")
        msg.add_attachment(ctx.blobs.get(a["blob"]), maintype=main, subtype=sub or "octet-stream",
                           filename=a["name"])
    return msg.as_bytes()


def safe_pdf_name(symbol: str) -> str:
    base = unicodedata.normalize("NFC", symbol).replace("/", "-")
    return f"{base}.pdf"


def _deliver_incoming(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, to_org: Organisation,
                      to_unit: Unit | None) -> IncomingDoc:
    inc = IncomingDoc(sandbox_id=ctx.sandbox.id, org_id=to_org.id, arrival_number=0,
                      arrival_year=doc.issued_date.year, arrival_date=rules.vn_today(ctx.now), sender_name=org.name,
                      original_symbol=doc.symbol, original_date=doc.issued_date, type_code=doc.type_code,
                      summary=doc.summary, urgency="thuong", pdf_blob=doc.pdf_blob, attachments=list(doc.attachments),
                      status="registered", source_outgoing_id=doc.id, to_unit_id=to_unit.id if to_unit else None,
                      registered_by="lien-thong" if to_unit is None else ctx.actor, registered_at=ctx.now)
    ctx.session.add(inc)
    ctx.session.flush()
    if to_unit is None:  # another organisation: its own register, as the national exchange does
        year = rules.vn_today(ctx.now).year
        inc.arrival_year = year
        inc.arrival_number, _ = _take_number(ctx, to_org, "den", year, "in", inc.id,
                                             lambda n: rules.format_number(n))
        _event(ctx, "in", inc.id, f"Nhận qua trục liên thông từ {org.name}, văn bản số {doc.symbol}; "
               f"vào sổ văn bản đến số {rules.format_number(inc.arrival_number)}", "registered", actor="lien-thong")
    else:  # an internal unit: distributed for information, no arrival number
        ctx.session.add(Assignment(sandbox_id=ctx.sandbox.id, incoming_id=inc.id, unit_id=to_unit.id,
                                   person_id=None, role="db", deadline=None, status="unread", notes=[],
                                   assigned_by=ctx.actor, assigned_at=ctx.now))
        inc.status = "assigned"
        _event(ctx, "in", inc.id, f"Văn bản nội bộ số {doc.symbol} gửi {to_unit.name}", "assigned")
    return inc


def _issue(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: str) -> None:
    doc.status = "issued"
    _event(ctx, "out", doc.id, f"Phát hành văn bản {doc.symbol}", "issued", actor=clerk)
    deliveries = []
    emails = []
    for r in doc.recipients:
        if r["kind"] == "unit":
            unit = _get(ctx, Unit, r["id"], "đơn vị nhận")
            inc = _deliver_incoming(ctx, doc, org, org, unit)
            deliveries.append({**r, "status": "delivered", "incoming_id": inc.id})
        elif r["kind"] == "org":
            to_org = _get(ctx, Organisation, r["id"], "cơ quan nhận")
            inc = _deliver_incoming(ctx, doc, org, to_org, None)
            deliveries.append({**r, "status": "delivered", "code": "03", "incoming_id": inc.id})
        else:
            emails.append(r)
    if emails:
        from mailserver.api import MailError, outside_world, send_in_action

        outside = set(outside_world(ctx.session, ctx.sandbox.id, [r["address"] for r in emails]))
        addresses = [r["address"] for r in emails if r["address"] not in outside]
        res: dict = {"bounced": []}
        if addresses:
            try:
                if not org.email:
                    raise MailError("Cơ quan chưa có hộp thư điện tử để gửi văn bản.", f"org {org.id} has no email")
                # mail.submit refuses before it stores anything: a refusal leaves no half-sent mail
                res = send_in_action(ctx, org.email, _mail_for(ctx, doc, org, addresses), addresses, via="docflow")
            except MailError as exc:
                res = {"bounced": addresses, "error": exc.message_vi}
                _event(ctx, "out", doc.id, f"Không gửi được thư điện tử: {exc.message_vi}", "issued", actor=clerk)
        if outside:
            _event(ctx, "out", doc.id, "Không gửi được thư điện tử tới địa chỉ ngoài hệ thống: "
                   + ", ".join(sorted(outside)), "issued", actor=clerk)
        for r in emails:
            if r["address"] in outside:
                deliveries.append({**r, "status": "bounced", "error": "Địa chỉ ngoài hệ thống thư điện tử."})
                continue
            status = "bounced" if r["address"] in res.get("bounced", []) else "delivered"
            deliveries.append({**r, "status": status, "message_id": res.get("message_id"),
                               **({"error": res["error"]} if "error" in res else {})})
    doc.deliveries = deliveries
    doc.status, doc.updated_at = "sent", ctx.now
    listing = "; ".join(f"{d['label']} ({'đã gửi' if d['status'] == 'delivered' else 'không gửi được'})"
                        for d in deliveries) or "không có nơi nhận ngoài lưu"
    _event(ctx, "out", doc.id, f"Gửi văn bản đến nơi nhận: {listing}", "sent", actor=clerk)


@action("docflow.issue", ids={"outgoing_id": "outgoing"}, result_ids=_RELEASE_IDS)
def issue(ctx: ActionContext, *, outgoing_id: int) -> dict:
    """Phát hành (the clerk): deliver to units, organisations and e-mail recipients."""
    doc, org = _outgoing(ctx, outgoing_id)
    _require_clerk(ctx, org, "phát hành văn bản")
    if doc.status in ("at_clerk", "numbered"):
        unsigned = " (lãnh đạo cũng chưa ký số)" if doc.leader_signature is None else ""
        raise DocflowError(f"Không thể phát hành: văn bản chưa có chữ ký số của cơ quan{unsigned}. "
                           "Hãy cấp số và ký số của cơ quan trước khi phát hành.", f"issue in status {doc.status}")
    _need(doc, ("org_signed",), "phát hành")
    _issue(ctx, doc, org, ctx.actor)
    return {"status": doc.status, "deliveries": doc.deliveries}


@action("docflow.archive", ids={"outgoing_id": "outgoing"}, result_ids={})
def archive(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, org = _outgoing(ctx, outgoing_id)
    _require_clerk(ctx, org, "lưu hồ sơ văn bản")
    _need(doc, ("sent", "issued"), "lưu hồ sơ")
    doc.status, doc.updated_at = "archived", ctx.now
    _event(ctx, "out", doc.id, "Lưu hồ sơ", "archived")
    return {"status": doc.status}


#: Pages whose opening is recorded (``docflow.viewed``).
VIEW_PAGES = ("tracking", "report", "incoming_doc", "outgoing_doc")


@action("docflow.viewed",
        ids={"doc_id": KindBy("doc_kind", {"in": "incoming", "out": "outgoing"}, default="outgoing")},
        result_ids={})
def viewed(ctx: ActionContext, *, page: str, doc_kind: str | None = None, doc_id: int | None = None) -> dict:
    """Record that the actor opened a page (the tracking view, a document)."""
    if page not in VIEW_PAGES:
        raise DocflowError("Trang không hợp lệ.", f"bad page {page!r}")
    _actor(ctx)
    if doc_id is not None:
        _get(ctx, IncomingDoc if doc_kind == "in" else OutgoingDoc, doc_id, "văn bản")
    ctx.session.add(PageView(sandbox_id=ctx.sandbox.id, actor=ctx.actor, at=ctx.now, page=page,
                             doc_kind=doc_kind if doc_id is not None else None, doc_id=doc_id))
    return {"page": page}


__all__ = ["WORLD_ACTORS", "VIEW_PAGES", "org_signature_inputs", "safe_pdf_name"]


from . import state_digest as _state_digest  # noqa: E402,F401  (registers the docflow part of the state digest)
