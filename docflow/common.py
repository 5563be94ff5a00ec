"""What every noun of the workflow shares (``incoming``, ``outgoing``, ``clerk``, ``organisations``,
``reads``).

*Inside an action* (``ctx``): lookups scoped to ``ctx.sandbox``, the acting person and the
role guards, the history line, the registers (a number is never reused in a year), checks of
uploaded blobs, and the outgoing document's status guards.

*Outside* (``runtime``, the writers of the API): :func:`dispatch` runs one ``docflow.*`` action
with the signing PKI in place for the handlers (the automatic clerk signs inside one).
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, KindBy, id_kinds
from signing import api as signing_api

from . import rules
from . import state_digest as _state_digest  # noqa: F401  (registers the docflow part of the state digest)
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .models import DocEvent, Organisation, OutgoingDoc, Person, Register, RegisterEntry
from .queries import Scoped
from .rules import nfc

__all__ = ["WORLD_ACTORS", "SYSTEM", "ADDRESS_RE", "RECIPIENT", "AUTO_CLERK_JOB", "dispatch", "open_outgoing", "iso",
           "get_row", "person_at", "acting_person", "is_world", "add_event", "require_clerk", "take_number",
           "next_number", "check_blob", "clean_attachments", "outgoing_and_org", "need_status", "signer_of", "require_signer",
           "reset_to_unsigned"]

#: Actors that build the world (scenario loader, tests, CLI) rather than play in it.
WORLD_ACTORS = ("system", "scenario")
#: The actor of the API's world-building writers by default.
SYSTEM = "system"
ADDRESS_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

#: the background job of an automatic clerk (queued by the NPC rule ``auto_clerk`` on a forward)
AUTO_CLERK_JOB = "docflow.auto_clerk"
#: a recipient or delivery row names its target's kind: {"kind": "unit"|"org"|"email", "id": …}
RECIPIENT = KindBy("kind", {"unit": "unit", "org": "org"})
#: the id kinds of the workflow's rows that actions name
id_kinds({"org": "docflow_orgs", "unit": "docflow_units", "person": "docflow_people", "incoming": "docflow_incoming",
          "assignment": "docflow_assignments", "outgoing": "docflow_outgoing", "comment": "docflow_comments"})


# =========================================================================================
# outside an action: the API's writers
# =========================================================================================
def dispatch(runtime, sandbox_id: int, actor: str, name: str, args: dict) -> dict:
    """One ``docflow.*`` action, with the runtime's signing PKI where its handler finds it."""
    signing_api.use_pki(runtime)
    return runtime.dispatcher.dispatch(sandbox_id, actor, name, args)


def open_outgoing(runtime, sandbox_id: int, outgoing_id: int) -> tuple[OutgoingDoc, Organisation, Person]:
    """A văn bản đi with its organisation and designated signer (detached rows, to read)."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        doc = q.get(OutgoingDoc, outgoing_id)
        if doc is None:
            raise DocflowNotFound("Không tìm thấy văn bản đi.", f"outgoing {outgoing_id}")
        return doc, q.get(Organisation, doc.org_id), q.get(Person, doc.signer_id)


def iso(d) -> str | None:
    """A date as the log keeps it (``YYYY-MM-DD``); text and None as they are."""
    return d.isoformat() if isinstance(d, date) else d


# =========================================================================================
# inside an action: lookups, all scoped to ctx.sandbox
# =========================================================================================
def get_row(ctx: ActionContext, model, id_, what: str):
    row = ctx.session.get(model, int(id_)) if id_ is not None else None
    if row is None or row.sandbox_id != ctx.sandbox.id:
        raise DocflowNotFound(f"Không tìm thấy {what}.", f"{model.__name__} {id_} not in sandbox {ctx.sandbox.id}")
    return row


def person_at(ctx: ActionContext, address: str) -> Person | None:
    return ctx.session.scalar(select(Person).where(Person.sandbox_id == ctx.sandbox.id,
                                                   Person.address == (address or "").strip().lower()))


def acting_person(ctx: ActionContext) -> Person:
    p = person_at(ctx, ctx.actor)
    if p is None:
        raise DocflowForbidden("Tài khoản của bạn không có trong phần mềm quản lý văn bản của cơ quan.",
                               f"actor {ctx.actor} is not a docflow person")
    return p


def is_world(ctx: ActionContext) -> bool:
    return ctx.actor in WORLD_ACTORS


def add_event(ctx: ActionContext, kind: str, doc_id: int, what: str, status: str = "", actor: str | None = None,
              **detail) -> None:
    """A line of a document's history (``kind`` "in" or "out")."""
    ctx.session.add(DocEvent(sandbox_id=ctx.sandbox.id, doc_kind=kind, doc_id=doc_id, at=ctx.now,
                             actor=actor or ctx.actor, what=what, status=status, detail=detail))


def require_clerk(ctx: ActionContext, org: Organisation, what: str) -> Person:
    p = acting_person(ctx)
    if p.org_id != org.id or p.role != "van_thu":
        raise DocflowForbidden(f"Chỉ văn thư của {org.name} mới được {what}. "
                               "Lãnh đạo ký số xong thì chuyển văn thư phát hành.",
                               f"{ctx.actor} (role {p.role}) may not {what}")
    return p


# --- registers ----------------------------------------------------------------------------
def _register(ctx: ActionContext, org: Organisation, kind: str, year: int) -> Register:
    reg = ctx.session.scalar(select(Register).where(Register.org_id == org.id, Register.kind == kind,
                                                    Register.year == year))
    if reg is None:
        reg = Register(sandbox_id=ctx.sandbox.id, org_id=org.id, kind=kind, year=year, last_number=0)
        ctx.session.add(reg)
        ctx.session.flush()
    return reg


def _entry(session, register_id: int, n: int) -> RegisterEntry | None:
    return session.scalar(select(RegisterEntry).where(RegisterEntry.register_id == register_id,
                                                      RegisterEntry.number == n))


def _next_free(session, reg: Register) -> int:
    n = reg.last_number + 1
    while _entry(session, reg.id, n) is not None:
        n += 1
    return n


def next_number(session, org_id: int, kind: str, year: int) -> int:
    """The number :func:`take_number` would give next (for a job that signs it before the
    action takes it; the action checks it is still the next)."""
    reg = session.scalar(select(Register).where(Register.org_id == org_id, Register.kind == kind,
                                                Register.year == year))
    return 1 if reg is None else _next_free(session, reg)


def take_number(ctx: ActionContext, org: Organisation, kind: str, year: int, doc_kind: str, doc_id: int,
                symbol_of=None, number: int | None = None) -> tuple[int, str]:
    """The next free number of the register (or ``number`` when still free); never reused."""
    reg = _register(ctx, org, kind, year)

    def used(n: int) -> RegisterEntry | None:
        return _entry(ctx.session, reg.id, n)

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
        n = _next_free(ctx.session, reg)
    sym = symbol_of(n) if symbol_of else ""
    ctx.session.add(RegisterEntry(sandbox_id=ctx.sandbox.id, register_id=reg.id, number=n, symbol=sym,
                                  doc_kind=doc_kind, doc_id=doc_id, at=ctx.now, by=ctx.actor))
    reg.last_number = max(reg.last_number, n)
    return n, sym


# --- uploaded files (by blob hash) --------------------------------------------------------
def check_blob(ctx: ActionContext, digest: str | None, what: str) -> None:
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)
                                   and ctx.blobs.exists(digest)):
        raise DocflowError(f"Không tìm thấy tệp {what} đã tải lên; hãy tải lại.", f"missing blob {digest!r}")


def clean_attachments(ctx: ActionContext, attachments) -> list[dict]:
    out = []
    for a in attachments or []:
        check_blob(ctx, a.get("blob"), "đính kèm")
        out.append({"name": nfc(a.get("name")), "blob": a["blob"], "size": int(a.get("size") or ctx.blobs.size(a["blob"])),
                    "content_type": a.get("content_type") or "application/octet-stream"})
    return out


# --- outgoing documents: the guards every step shares ----------------------------------------
def outgoing_and_org(ctx: ActionContext, doc_id: int) -> tuple[OutgoingDoc, Organisation]:
    doc = get_row(ctx, OutgoingDoc, doc_id, "văn bản đi")
    return doc, get_row(ctx, Organisation, doc.org_id, "cơ quan")


def need_status(doc: OutgoingDoc, allowed: tuple[str, ...], what: str) -> None:
    if doc.status not in allowed:
        raise DocflowError(f"Không thể {what}: văn bản đang ở trạng thái «{rules.OUTGOING_STATUS[doc.status]}».",
                           f"{what}: status {doc.status} not in {allowed}")


def signer_of(ctx: ActionContext, doc: OutgoingDoc) -> Person:
    return get_row(ctx, Person, doc.signer_id, "người ký")


def require_signer(ctx: ActionContext, doc: OutgoingDoc, what: str) -> Person:
    signer = signer_of(ctx, doc)
    if ctx.actor.strip().lower() != signer.address:
        raise DocflowForbidden(f"Chỉ người ký được giao ({signer.full_name}, {signer.title}) mới được {what}.",
                               f"{ctx.actor} is not the designated signer {signer.address}")
    return signer


def reset_to_unsigned(doc: OutgoingDoc) -> None:
    """Back to the prepared draft of the current version (a signature cannot be undone in a
    PDF: the next signature is made on a fresh copy). Earlier signatures stay in ``signatures``."""
    doc.pdf_blob = doc.draft_pdf
    doc.leader_signature = None
    doc.signatures = [{**s, "superseded": True} for s in doc.signatures]

