"""Văn bản đi up to the clerk: a draft (rendered to a Decree 30 PDF with empty signing fields),
its new versions, comments, submitting it to the leader, her approval or return, the leader's
approval signature (ký số phê duyệt) and forwarding it to the clerk (chuyển văn thư phát hành),
where the clerk's part begins (:mod:`docflow.clerk`; an automatic clerk does it inside the
forwarding action).

The actions (``docflow.create_draft``, ``docflow.update_draft``, ``docflow.comment``,
``docflow.submit``, ``docflow.return_draft``, ``docflow.approve``, ``docflow.leader_signed``,
``docflow.forward_to_clerk``) come first, then the API's writers that dispatch them. The
leader's signature is made by the writer with a ready signer from ``signing.api`` (the PIN
never reaches an action); the action re-checks the signed file.
"""
from __future__ import annotations

from sandbox.kernel.actions import ActionContext, action
from signing import api as signing_api

from . import rules
from .clerk import forwarded_result
from .common import (ADDRESS_RE, RECIPIENT, acting_person, add_event, check_blob, clean_attachments, dispatch,
                     get_row, is_world, need_status, open_outgoing, outgoing_and_org, person_at, require_signer,
                     reset_to_unsigned, signer_of)
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .models import Comment, DraftVersion, Organisation, OutgoingDoc, Person, Unit
from .queries import Scoped
from .render import render_draft
from .rules import nfc
from .signatures import derived_from, embedded, fact_signature, holders, own_fingerprints, signed_facts
from .uploads import stored_uploads

__all__ = ["create_draft", "update_draft", "comment", "submit", "approve", "return_draft", "sign_as_leader",
           "forward_to_clerk"]


# =========================================================================================
# actions
# =========================================================================================
def _check_recipients(ctx: ActionContext, org: Organisation, recipients) -> list[dict]:
    out = []
    for r in recipients or []:
        kind = r.get("kind")
        if kind == "unit":
            u = get_row(ctx, Unit, r.get("id"), "đơn vị nhận")
            if u.org_id != org.id:
                raise DocflowError("Đơn vị nhận không thuộc cơ quan.", "unit outside org")
            out.append({"kind": "unit", "id": u.id, "label": nfc(r.get("label")) or u.name})
        elif kind == "org":
            o = get_row(ctx, Organisation, r.get("id"), "cơ quan nhận")
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


@action("docflow.create_draft",
        ids={"signer_id": "person", "unit_id": "unit", "recipients[].id": RECIPIENT},
        result_ids={"outgoing_id": "outgoing"})
def create_draft_action(ctx: ActionContext, *, type_code: str, summary: str, signer_id: int, signer_title: str,
                        body: list | None = None, addressees: list | None = None, recipients: list | None = None,
                        attachments: list | None = None, unit_id: int | None = None, pdf_blob: str, layout: dict,
                        drafter: str | None = None) -> dict:
    """A new draft by the actor (or, for the scenario, by ``drafter``) with its rendered PDF."""
    author = person_at(ctx, drafter) if (drafter and is_world(ctx)) else acting_person(ctx)
    if author is None:
        raise DocflowNotFound("Không tìm thấy người soạn thảo.", f"drafter {drafter}")
    org = get_row(ctx, Organisation, author.org_id, "cơ quan")
    if type_code not in rules.TYPES:
        raise DocflowError(f"Loại văn bản không hợp lệ: «{type_code}».", f"bad type {type_code!r}")
    if not nfc(summary):
        raise DocflowError("Hãy nhập trích yếu nội dung văn bản.", "empty summary")
    signer = get_row(ctx, Person, signer_id, "người ký")
    if signer.org_id != org.id or signer.role != "lanh_dao":
        raise DocflowError("Người ký phải là lãnh đạo của cơ quan.", f"signer {signer_id} not a leader")
    if unit_id is not None and get_row(ctx, Unit, unit_id, "đơn vị soạn thảo").org_id != org.id:
        raise DocflowError("Đơn vị soạn thảo không thuộc cơ quan.", "unit outside org")
    check_blob(ctx, pdf_blob, "dự thảo")
    doc = OutgoingDoc(sandbox_id=ctx.sandbox.id, org_id=org.id, unit_id=unit_id if unit_id is not None else author.unit_id,
                      type_code=type_code, summary=nfc(summary), body=[nfc(p) for p in body or []],
                      addressees=[nfc(a) for a in addressees or []], drafter=author.address, signer_id=signer.id,
                      signer_title=nfc(signer_title), recipients=_check_recipients(ctx, org, recipients),
                      attachments=clean_attachments(ctx, attachments), status="drafting", version=1,
                      draft_pdf=pdf_blob, pdf_blob=pdf_blob, layout=layout, signatures=[], deliveries=[],
                      created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(doc)
    ctx.session.flush()
    ctx.session.add(DraftVersion(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, version=1, summary=doc.summary,
                                 body=doc.body, pdf_blob=pdf_blob, by=author.address, at=ctx.now, note="Tạo dự thảo"))
    add_event(ctx, "out", doc.id, "Tạo dự thảo (phiên bản 1)", "drafting", actor=author.address)
    return {"outgoing_id": doc.id}


@action("docflow.update_draft", ids={"outgoing_id": "outgoing", "recipients[].id": RECIPIENT}, result_ids={})
def update_draft_action(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, layout: dict,
                        summary: str | None = None, body: list | None = None, addressees: list | None = None,
                        recipients: list | None = None, attachments: list | None = None,
                        signer_title: str | None = None, note: str = "") -> dict:
    """A new version of a draft being written or returned (by its drafter)."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    me = acting_person(ctx)
    if me.address != doc.drafter:
        raise DocflowForbidden("Chỉ người soạn thảo mới được sửa dự thảo.", "not the drafter")
    need_status(doc, ("drafting", "returned"), "sửa dự thảo")
    check_blob(ctx, pdf_blob, "dự thảo")
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
        doc.attachments = clean_attachments(ctx, attachments)
    if signer_title is not None:
        doc.signer_title = nfc(signer_title)
    doc.version += 1
    doc.draft_pdf = doc.pdf_blob = pdf_blob
    doc.layout = layout
    doc.updated_at = ctx.now
    ctx.session.add(DraftVersion(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, version=doc.version,
                                 summary=doc.summary, body=doc.body, pdf_blob=pdf_blob, by=me.address, at=ctx.now,
                                 note=nfc(note)))
    add_event(ctx, "out", doc.id, f"Sửa dự thảo (phiên bản {doc.version})" + (f": {nfc(note)}" if note else ""),
              doc.status)
    return {"version": doc.version}


@action("docflow.comment", ids={"outgoing_id": "outgoing"}, result_ids={"comment_id": "comment"})
def comment_action(ctx: ActionContext, *, outgoing_id: int, text: str) -> dict:
    doc, org = outgoing_and_org(ctx, outgoing_id)
    me = acting_person(ctx)
    if me.org_id != org.id:
        raise DocflowForbidden("Bạn không thuộc cơ quan soạn thảo văn bản này.", "comment outside org")
    if not nfc(text):
        raise DocflowError("Ý kiến trống.", "empty comment")
    c = Comment(sandbox_id=ctx.sandbox.id, outgoing_id=doc.id, by=me.address, at=ctx.now, text=nfc(text))
    ctx.session.add(c)
    ctx.session.flush()
    add_event(ctx, "out", doc.id, f"Góp ý: {nfc(text)}", doc.status)
    return {"comment_id": c.id}


@action("docflow.submit", ids={"outgoing_id": "outgoing"}, result_ids={})
def submit_action(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, _org = outgoing_and_org(ctx, outgoing_id)
    if ctx.actor.strip().lower() != doc.drafter and not is_world(ctx):
        raise DocflowForbidden("Chỉ người soạn thảo mới được trình dự thảo.", "not the drafter")
    need_status(doc, ("drafting", "returned"), "trình lãnh đạo")
    doc.status, doc.return_reason, doc.updated_at = "submitted", "", ctx.now
    signer = signer_of(ctx, doc)
    add_event(ctx, "out", doc.id, f"Trình lãnh đạo ký: {signer.full_name}", "submitted")
    return {"status": doc.status}


@action("docflow.return_draft", ids={"outgoing_id": "outgoing"}, result_ids={})
def return_draft_action(ctx: ActionContext, *, outgoing_id: int, reason: str) -> dict:
    doc, _org = outgoing_and_org(ctx, outgoing_id)
    require_signer(ctx, doc, "trả lại dự thảo")
    need_status(doc, ("submitted", "approved", "leader_signed"), "trả lại dự thảo")
    if not nfc(reason):
        raise DocflowError("Hãy nhập lý do trả lại.", "empty reason")
    reset_to_unsigned(doc)
    doc.status, doc.return_reason, doc.updated_at = "returned", nfc(reason), ctx.now
    add_event(ctx, "out", doc.id, f"Trả lại dự thảo: {nfc(reason)}", "returned")
    return {"status": doc.status}


@action("docflow.approve", ids={"outgoing_id": "outgoing"}, result_ids={})
def approve_action(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, _org = outgoing_and_org(ctx, outgoing_id)
    require_signer(ctx, doc, "duyệt dự thảo")
    need_status(doc, ("submitted",), "duyệt dự thảo")
    doc.status, doc.updated_at = "approved", ctx.now
    add_event(ctx, "out", doc.id, "Duyệt dự thảo", "approved")
    return {"status": doc.status}


# --- the leader's signature and the forwarding ----------------------------------------------
@action("docflow.leader_signed", ids={"outgoing_id": "outgoing", "token_id": "token"}, result_ids={})
def leader_signed_action(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, token_id: int | None = None,
                         signed: dict | None = None) -> dict:
    """Record the leader's approval signature made outside (the PIN never reaches the log):
    the signed PDF is checked to extend the current draft with a signature on the leader
    field; the certificate used is recorded, and flagged when it is not the signer's own.

    ``signed``: the facts the API read from the file before dispatching
    (``signatures.signed_facts``: the file it extends, every signature's field and
    fingerprint); only cheap checks run here (the file extends the current draft, exactly one
    signature, on the leader field, its certificate on a token of the sandbox and embedded in
    the bytes the signature added). Entries recorded before issue 14 have no ``signed``: the
    file is read here, as it was then."""
    doc, _org = outgoing_and_org(ctx, outgoing_id)
    signer = require_signer(ctx, doc, "ký số dự thảo này")
    need_status(doc, ("submitted", "approved"), "ký số")
    check_blob(ctx, pdf_blob, "đã ký")
    data = derived_from(ctx, pdf_blob, doc.pdf_blob)
    if signed is None:
        sigs = embedded(data)
        if len(sigs) != 1 or sigs[0]["field"] != signing_api.LEADER_FIELD:
            raise DocflowError("Tệp đã ký không có đúng một chữ ký tại ô chữ ký của lãnh đạo.", f"signatures {sigs}")
        sig = sigs[0]
    else:
        facts = signed.get("signatures") or []
        if signed.get("extends") != doc.pdf_blob:
            raise DocflowError("Tệp đã ký không phải là bản ký của văn bản này (có thể đã tải nhầm tệp).",
                               f"signed facts about {signed.get('extends')}, the draft is {doc.pdf_blob}")
        if len(facts) != 1 or facts[0].get("field") != signing_api.LEADER_FIELD:
            raise DocflowError("Tệp đã ký không có đúng một chữ ký tại ô chữ ký của lãnh đạo.", f"signatures {facts}")
        sig = fact_signature(ctx, data, ctx.blobs.size(doc.pdf_blob), facts[0], field=signing_api.LEADER_FIELD)
    holder = holders(ctx).get(sig["fingerprint"])
    own = sig["fingerprint"] in own_fingerprints(ctx.session, ctx.sandbox.id, signer.address)
    record = {**sig, "holder": holder, "by": ctx.actor, "at": ctx.now.isoformat(), "blob": pdf_blob,
              "token_id": token_id, "own_certificate": own, "role": "leader", "superseded": False}
    doc.leader_signature = record
    doc.signatures = [*doc.signatures, record]
    doc.pdf_blob, doc.status, doc.updated_at, doc.clerk_refusal = pdf_blob, "leader_signed", ctx.now, ""
    what = f"Ký số phê duyệt bằng chứng thư số «{sig['signer']}»"
    if not own:
        what += (f" - CẢNH BÁO: không phải chứng thư số của người ký {signer.full_name}"
                 + (f" (của {holder})" if holder else ""))
    add_event(ctx, "out", doc.id, what, "leader_signed", fingerprint=sig["fingerprint"], own_certificate=own,
              holder=holder)
    return {"status": doc.status, "fingerprint": sig["fingerprint"], "own_certificate": own}


# the deliveries of an old entry (the clerk inside it): in ``created``
@action("docflow.forward_to_clerk", ids={"outgoing_id": "outgoing"}, result_ids={})
def forward_to_clerk_action(ctx: ActionContext, *, outgoing_id: int, note: str = "", deferred: bool = False) -> dict:
    """"Chuyển văn thư phát hành" by the designated signer.

    ``deferred`` (every forward since issue 14): an automatic clerk does her part later, in a
    background job, logged as her own action ``docflow.auto_clerk`` (the NPC rule
    ``auto_clerk`` queues it: the result says ``queued``). Entries recorded before have no
    ``deferred``: there the automatic clerk numbered, signed and released (or refused) inside
    this action, and a replay of such an entry does the same."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    require_signer(ctx, doc, "chuyển văn thư phát hành")
    need_status(doc, ("submitted", "approved", "leader_signed"), "chuyển văn thư phát hành")
    doc.status, doc.forwarded_to_clerk, doc.clerk_refusal, doc.updated_at = "at_clerk", True, "", ctx.now
    add_event(ctx, "out", doc.id, "Chuyển văn thư phát hành" + (f": {nfc(note)}" if nfc(note) else ""), "at_clerk")
    return forwarded_result(doc, org)


# =========================================================================================
# the API's writers
# =========================================================================================
def _render(runtime, sandbox_id: int, *, org_id: int, type_code: str, summary: str, body: list[str],
            addressees: list[str], signer_id: int, signer_title: str, recipients: list[dict],
            unit_id: int | None) -> tuple[str, dict, list[dict]]:
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        org = q.get(Organisation, org_id)
        signer = q.get(Person, signer_id)
        if org is None or signer is None:
            raise DocflowNotFound("Không tìm thấy cơ quan hoặc người ký.", f"org {org_id} / signer {signer_id}")
        unit = q.get(Unit, unit_id) if unit_id is not None else None
        labelled = []
        for r in recipients:
            r = dict(r)
            if not r.get("label"):
                if r.get("kind") == "unit":
                    u = q.get(Unit, r.get("id"))
                    r["label"] = u.name if u else ""
                elif r.get("kind") == "org":
                    o = q.get(Organisation, r.get("id"))
                    r["label"] = o.name if o else ""
                else:
                    r["label"] = r.get("address", "")
            labelled.append(r)
        if type_code not in rules.TYPES:
            raise DocflowError(f"Loại văn bản không hợp lệ: «{type_code}».", f"bad type {type_code!r}")
        pdf, layout = render_draft(org_name=org.name, parent_name=org.parent_name, type_code=type_code,
                                   summary=summary, body=body, addressees=addressees, signer_title=signer_title,
                                   signer_name=signer.full_name, recipients=labelled,
                                   unit_code=unit.code if unit else None)
    return runtime.blobs.put(pdf), layout, labelled


def create_draft(runtime, sandbox_id: int, actor: str, *, type_code: str, summary: str, signer_id: int,
                 signer_title: str, body: list[str] | None = None, addressees: list[str] | None = None,
                 recipients: list[dict] | None = None, attachments: list | None = None, unit_id: int | None = None,
                 drafter: str | None = None) -> int:
    """A new draft (rendered to PDF) by ``actor`` (the scenario may pass ``actor="system"``
    and ``drafter``). ``recipients``: ``[{"kind": "unit"|"org", "id": ..} | {"kind": "email",
    "address": ..}]`` (``label`` optional). Returns the outgoing id."""
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        author = q.first(Person, Person.address == (drafter or actor).strip().lower())
        if author is None:
            raise DocflowForbidden("Tài khoản của bạn không có trong phần mềm quản lý văn bản của cơ quan.",
                                   f"{drafter or actor} is not a person")
        org_id = author.org_id
        unit_id = unit_id if unit_id is not None else author.unit_id
    atts = stored_uploads(runtime, attachments)
    blob, layout, recips = _render(runtime, sandbox_id, org_id=org_id, type_code=type_code, summary=summary,
                                   body=list(body or []), addressees=list(addressees or []), signer_id=signer_id,
                                   signer_title=signer_title, recipients=list(recipients or []), unit_id=unit_id)
    return dispatch(runtime, sandbox_id, actor, "docflow.create_draft", dict(
        type_code=type_code, summary=summary, signer_id=signer_id, signer_title=signer_title, body=list(body or []),
        addressees=list(addressees or []), recipients=recips, attachments=atts, unit_id=unit_id, pdf_blob=blob,
        layout=layout, drafter=drafter))["outgoing_id"]


def update_draft(runtime, sandbox_id: int, actor: str, outgoing_id: int, *, summary: str | None = None,
                 body: list[str] | None = None, addressees: list[str] | None = None,
                 recipients: list[dict] | None = None, attachments: list | None = None,
                 signer_title: str | None = None, note: str = "") -> int:
    """A new version of the draft (re-rendered). Returns the version number."""
    with runtime.db.read() as s:
        doc = Scoped(s, sandbox_id).get(OutgoingDoc, outgoing_id)
        if doc is None:
            raise DocflowNotFound("Không tìm thấy văn bản đi.", f"outgoing {outgoing_id}")
        cur = dict(org_id=doc.org_id, type_code=doc.type_code, summary=doc.summary, body=doc.body,
                   addressees=doc.addressees, signer_id=doc.signer_id, signer_title=doc.signer_title,
                   recipients=doc.recipients, unit_id=doc.unit_id)
    new = dict(cur)
    for k, v in dict(summary=summary, body=body, addressees=addressees, recipients=recipients,
                     signer_title=signer_title).items():
        if v is not None:
            new[k] = v
    atts = stored_uploads(runtime, attachments) if attachments is not None else None
    blob, layout, recips = _render(runtime, sandbox_id, **new)
    return dispatch(runtime, sandbox_id, actor, "docflow.update_draft", dict(
        outgoing_id=outgoing_id, pdf_blob=blob, layout=layout, summary=summary, body=body, addressees=addressees,
        recipients=recips if recipients is not None else None, attachments=atts, signer_title=signer_title,
        note=note))["version"]


def comment(runtime, sandbox_id: int, actor: str, outgoing_id: int, text: str) -> int:
    return dispatch(runtime, sandbox_id, actor, "docflow.comment",
                    dict(outgoing_id=outgoing_id, text=text))["comment_id"]


def submit(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    """Trình lãnh đạo (drafting | returned → submitted)."""
    return dispatch(runtime, sandbox_id, actor, "docflow.submit", dict(outgoing_id=outgoing_id))


def approve(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    return dispatch(runtime, sandbox_id, actor, "docflow.approve", dict(outgoing_id=outgoing_id))


def return_draft(runtime, sandbox_id: int, actor: str, outgoing_id: int, reason: str) -> dict:
    return dispatch(runtime, sandbox_id, actor, "docflow.return_draft", dict(outgoing_id=outgoing_id, reason=reason))


def sign_as_leader(runtime, sandbox_id: int, actor: str, outgoing_id: int, token_id: int, pin: str) -> dict:
    """Ký số phê duyệt: open the token with the PIN (wrong PINs are recorded by signing),
    sign the draft's leader field, then record it (``docflow.leader_signed``). Any personal
    token the actor can open is accepted; its certificate is recorded and flagged in the
    history when it is not the designated signer's own (the grader decides)."""
    doc, _org, signer = open_outgoing(runtime, sandbox_id, outgoing_id)
    if actor.strip().lower() != signer.address:
        raise DocflowForbidden(f"Chỉ người ký được giao ({signer.full_name}, {signer.title}) mới được ký số dự thảo này.",
                               f"{actor} is not the designated signer")
    if doc.status not in ("submitted", "approved"):
        raise DocflowError(f"Không thể ký số: văn bản đang ở trạng thái «{rules.OUTGOING_STATUS[doc.status]}».",
                           f"sign in status {doc.status}")
    leader = signing_api.leader_signer(runtime, sandbox_id, token_id, pin, actor=actor)
    # all the CPU work before the write: the signature, storing it, reading it back (pyHanko)
    pdf = leader.sign(runtime.blobs.get(doc.pdf_blob), when=runtime.clock.now())
    blob = runtime.blobs.put(pdf)
    facts = signed_facts(runtime.blobs, blob, doc.pdf_blob)
    return dispatch(runtime, sandbox_id, actor, "docflow.leader_signed", dict(outgoing_id=outgoing_id, pdf_blob=blob,
                                                                              token_id=token_id, signed=facts))


def forward_to_clerk(runtime, sandbox_id: int, actor: str, outgoing_id: int, note: str = "") -> dict:
    """Chuyển văn thư phát hành: answers at once. With an automatic clerk the result says
    ``queued``: her release (or refusal, also stored on the draft: ``clerk_refusal``) follows
    as her own action ``docflow.auto_clerk``, done by the job worker (``sandbox serve``), or by
    ``sandbox.kernel.jobs.run_pending(runtime)`` where no worker runs."""
    return dispatch(runtime, sandbox_id, actor, "docflow.forward_to_clerk",
                    dict(outgoing_id=outgoing_id, note=note, deferred=True))
