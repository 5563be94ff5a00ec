"""The clerk's release of a văn bản đi (văn thư): numbering in the year's sổ đi (cấp số), the
organisation signature (ký số của cơ quan: number and date filled in, the red seal; separate
PDF attachments signed too), issuing (phát hành: internal units and other organisations get an
incoming document, e-mail recipients a message from the organisation's mailbox), refusing it
back to the leader, archiving; and the automatic clerk (NPC) who does all of it inside the
leader's forwarding action: the forward says whether the clerk is automatic
(:func:`forwarded_result`), and the NPC rule ``auto_clerk`` (``scenarios.npc.clerk``) then
releases it in the same action (:func:`auto_clerk_in_action`).

The actions (``docflow.clerk_refuse``, ``docflow.number``, ``docflow.org_signed``,
``docflow.issue``, ``docflow.archive``) come first, then the automatic clerk, then the API's
writers. A clerk played by a person signs in the writer :func:`org_sign` with a ready signer
from ``signing.api`` (the PIN never reaches an action); ``docflow.org_signed`` re-checks both
signatures of the file.
"""
from __future__ import annotations

import unicodedata
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy import select

from sandbox.kernel import jobs
from sandbox.kernel.actions import ActionContext, action
from sandbox.kernel.clock import VN_TZ
from signing import api as signing_api

from . import rules
from .common import (AUTO_CLERK_JOB, RECIPIENT, add_event, check_blob, dispatch, get_row, need_status, next_number,
                     open_outgoing, outgoing_and_org, require_clerk, reset_to_unsigned, signer_of, take_number)
from .errors import DocflowError, DocflowForbidden
from .models import Assignment, IncomingDoc, Organisation, OutgoingDoc, Person, Unit
from .queries import Scoped
from .render import layout_from_json
from .rules import nfc
from .signatures import (derived_from, embedded, fact_signature, holders, leader_problem, leader_problem_in,
                         own_fingerprints, sign_attachments, signed_facts)

__all__ = ["clerk_refuse", "number", "leader_check", "org_sign", "issue", "archive", "forwarded_result",
           "queue_auto_clerk", "AUTO_CLERK_JOB", "automatic_clerk_job", "auto_clerk_in_action",
           "release_by_automatic_clerk", "org_signature_inputs", "safe_pdf_name"]

#: the deliveries a release reports (internal ones became incoming documents)
RELEASE_IDS = {"deliveries[].id": RECIPIENT, "deliveries[].incoming_id": "incoming"}


# =========================================================================================
# actions
# =========================================================================================
def _refuse_at_clerk(ctx: ActionContext, doc: OutgoingDoc, clerk: str, reason: str) -> None:
    reset_to_unsigned(doc)
    doc.status, doc.clerk_refusal, doc.forwarded_to_clerk, doc.updated_at = "approved", reason, False, ctx.now
    add_event(ctx, "out", doc.id, f"Văn thư trả lại, không phát hành: {reason}", "approved", actor=clerk)


def _unit_code(ctx: ActionContext, doc: OutgoingDoc) -> str | None:
    return get_row(ctx, Unit, doc.unit_id, "đơn vị").code if doc.unit_id is not None else None


def _number(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: str, number: int | None) -> None:
    today = rules.vn_today(ctx.now)
    unit_code = _unit_code(ctx, doc)
    if doc.number is not None and doc.year == today.year and number in (None, doc.number):
        # numbered before, sent back, forwarded again: it keeps its number (never given to another)
        n, sym = doc.number, doc.symbol
    else:
        n, sym = take_number(ctx, org, "di", today.year, "out", doc.id,
                             lambda k: rules.symbol(k, doc.type_code, org.code, unit_code), number)
    doc.number, doc.year, doc.symbol, doc.issued_date = n, today.year, sym, today
    doc.status, doc.updated_at = "numbered", ctx.now
    add_event(ctx, "out", doc.id, f"Cấp số {sym}, {rules.date_line(org.place, today)}", "numbered", actor=clerk)


@action("docflow.clerk_refuse", ids={"outgoing_id": "outgoing"}, result_ids={})
def clerk_refuse_action(ctx: ActionContext, *, outgoing_id: int, reason: str) -> dict:
    doc, org = outgoing_and_org(ctx, outgoing_id)
    require_clerk(ctx, org, "trả lại văn bản cho lãnh đạo")
    need_status(doc, ("at_clerk", "numbered"), "trả lại văn bản")
    if not nfc(reason):
        raise DocflowError("Hãy nhập lý do trả lại.", "empty reason")
    _refuse_at_clerk(ctx, doc, ctx.actor, nfc(reason))
    return {"status": doc.status}


@action("docflow.number", ids={"outgoing_id": "outgoing"}, result_ids={}, not_ids=("number",))
def number_action(ctx: ActionContext, *, outgoing_id: int, number: int | None = None) -> dict:
    """Cấp số (the clerk): the next number of this year's sổ đi, or a free number she types."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    require_clerk(ctx, org, "cấp số văn bản")
    need_status(doc, ("at_clerk",), "cấp số")
    _number(ctx, doc, org, ctx.actor, number)
    return {"status": doc.status, "number": doc.number, "symbol": doc.symbol}


def org_signature_inputs(doc: OutgoingDoc, org: Organisation) -> tuple[str, str]:
    """The number and the date line the clerk writes into the ``SoVB``/``NgayVB`` fields."""
    return doc.symbol, rules.date_line(org.place, doc.issued_date)


def _record_org_signature(ctx: ActionContext, doc: OutgoingDoc, blob: str, sig: dict, clerk: str) -> None:
    record = {**sig, "holder": holders(ctx).get(sig["fingerprint"]), "by": clerk, "at": ctx.now.isoformat(),
              "blob": blob, "role": "organisation", "superseded": False}
    doc.org_signature = record
    doc.signatures = [*doc.signatures, record]
    doc.pdf_blob, doc.status, doc.updated_at = blob, "org_signed", ctx.now
    add_event(ctx, "out", doc.id, f"Ký số của cơ quan (đóng dấu) bằng chứng thư số «{sig['signer']}»", "org_signed",
              actor=clerk, fingerprint=sig["fingerprint"])


def _record_attachments(ctx: ActionContext, doc: OutgoingDoc, atts: list[dict], failed: list[str],
                        clerk: str) -> None:
    signed = [a["name"] for a, old in zip(atts, doc.attachments) if a.get("signed") and not old.get("signed")]
    doc.attachments = atts
    if signed:
        add_event(ctx, "out", doc.id, "Ký số của cơ quan trên tệp đính kèm: " + "; ".join(signed), doc.status,
                  actor=clerk)
    if failed:
        add_event(ctx, "out", doc.id, "Không ký số được tệp đính kèm: " + "; ".join(failed), doc.status, actor=clerk)


def _signed_attachments(ctx: ActionContext, doc: OutgoingDoc, rows: list | None) -> list[dict]:
    """The attachment list with the signed files of ``rows`` (``[{"index", "blob", "signed"?}]``)
    in place: each must extend the attachment it signs and end with an organisation signature,
    checked from the facts read outside (``signed``, see ``signatures.signed_facts``) or, in
    entries recorded before issue 14, by reading the file here."""
    atts = [dict(a) for a in doc.attachments]
    for row in rows or []:
        i = int(row["index"])
        if not 0 <= i < len(atts):
            raise DocflowError("Tệp đính kèm không có trong văn bản.", f"attachment {i}")
        check_blob(ctx, row["blob"], "đính kèm đã ký")
        signed = derived_from(ctx, row["blob"], atts[i]["blob"])
        facts = row.get("signed")
        if facts is None:
            found = embedded(signed)
            ok = bool(found) and found[-1]["kind"] == "organisation"
        else:
            found = facts.get("signatures") or []
            ok = bool(found) and facts.get("extends") == atts[i]["blob"] and fact_signature(
                ctx, signed, ctx.blobs.size(atts[i]["blob"]), found[-1], field=found[-1].get("field"),
                kind="organisation") is not None
        if not ok:
            raise DocflowError(f"Tệp đính kèm «{atts[i]['name']}» chưa có chữ ký số của cơ quan.", "attachment")
        atts[i] = {**atts[i], "blob": row["blob"], "size": len(signed), "original_blob": atts[i]["blob"],
                   "signed": True}
    return atts


def _org_signature_from_facts(ctx: ActionContext, doc: OutgoingDoc, data: bytes, signed: dict) -> dict:
    """The organisation signature's record from the facts read outside (cheap checks only): the
    file extends the current one (the leader-signed draft), holds two signatures, the first
    the leader's recorded one, the second on the organisation field with an organisation
    certificate of the sandbox, embedded in the bytes the release added."""
    sigs = signed.get("signatures") or []
    if signed.get("extends") != doc.pdf_blob:
        raise DocflowError("Tệp đã ký không phải là bản ký của văn bản này (có thể đã tải nhầm tệp).",
                           f"signed facts about {signed.get('extends')}, the document is {doc.pdf_blob}")
    leader = doc.leader_signature or {}
    if not leader:
        raise DocflowError("Không thể ký số của cơ quan: Dự thảo chưa được lãnh đạo ký số.", "no leader signature")
    if len(sigs) != 2 or sigs[0].get("field") != signing_api.LEADER_FIELD \
            or sigs[0].get("fingerprint") != leader.get("fingerprint"):
        raise DocflowError("Chữ ký thứ hai phải là chữ ký số của cơ quan tại ô đóng dấu.", f"signatures {sigs}")
    signer = signer_of(ctx, doc)
    if leader.get("fingerprint") not in own_fingerprints(ctx.session, ctx.sandbox.id, signer.address):
        raise DocflowError("Không thể ký số của cơ quan: dự thảo không được ký bằng chứng thư số của người ký "
                           f"{signer.full_name}.", "leader certificate is not the signer's own")
    return fact_signature(ctx, data, ctx.blobs.size(doc.pdf_blob), sigs[1], field=signing_api.ORG_FIELD,
                          kind="organisation")


@action("docflow.org_signed", ids={"outgoing_id": "outgoing"}, result_ids={})
def org_signed_action(ctx: ActionContext, *, outgoing_id: int, pdf_blob: str, attachments: list | None = None,
                      signed: dict | None = None) -> dict:
    """Record the organisation signature a (candidate) clerk made outside with the org token:
    the PDF must extend the numbered draft, keep a valid leader signature by the designated
    signer's own certificate, and add an organisation-certificate signature. ``attachments``:
    ``[{"index": i, "blob": signed PDF, "signed": facts}]`` for separate PDF attachments she
    signed too.

    ``signed``: the facts the API read from the file (``signatures.signed_facts``) after it
    had the verifier judge the leader's signature in it, both before dispatching; only cheap
    checks run here (:func:`_org_signature_from_facts`). Entries recorded before issue 14 have
    no ``signed``: the verifier runs here, as it did then."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    clerk = require_clerk(ctx, org, "ký số của cơ quan (đóng dấu)")
    need_status(doc, ("numbered",), "ký số của cơ quan")
    check_blob(ctx, pdf_blob, "đã ký")
    data = derived_from(ctx, pdf_blob, doc.pdf_blob)
    if signed is None:
        problem = leader_problem_in(ctx, doc, data)
        if problem:
            raise DocflowError(f"Không thể ký số của cơ quan: {problem}", "leader signature not acceptable")
        sigs = embedded(data)
        last = sigs[-1]
        if len(sigs) != 2 or last["field"] != signing_api.ORG_FIELD or last["kind"] != "organisation":
            raise DocflowError("Chữ ký thứ hai phải là chữ ký số của cơ quan tại ô đóng dấu.", f"signatures {sigs}")
    else:
        last = _org_signature_from_facts(ctx, doc, data, signed)
    atts = _signed_attachments(ctx, doc, attachments)
    _record_org_signature(ctx, doc, pdf_blob, last, clerk.address)
    _record_attachments(ctx, doc, atts, [], clerk.address)
    return {"status": doc.status}


# --- issuing: delivery to units, organisations and e-mail recipients -------------------------
def release_mail(blobs, org: Organisation, *, type_code: str, summary: str, symbol: str, issued_date,
                 pdf_blob: str, attachments: list[dict], to: list[str], when) -> bytes:
    """The e-mail that carries a released document (and its attachments) from the
    organisation's mailbox to ``to``: built before the action that sends it (MIME building is
    CPU work, kept out of the write), which gets it by blob hash."""
    type_name = "Công văn" if type_code == "CV" else rules.TYPES[type_code].capitalize()
    msg = EmailMessage()
    msg["From"] = formataddr((org.name, org.email), charset="utf-8")
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"{type_name} số {symbol} - {rules.render_summary(type_code, summary)}"
    msg["Date"] = format_datetime(when.astimezone(VN_TZ))
    msg.set_content(
        f"Kính gửi: Quý cơ quan,\n\n{org.name} gửi {type_name.lower()} số {symbol} "
        f"{rules.date_line('', issued_date).lower()} "
        f"({rules.render_summary(type_code, summary)}).\n"
        "Văn bản điện tử đính kèm đã được ký số của người có thẩm quyền và của cơ quan.\n\n"
        f"Văn thư {org.name}\n")
    msg.add_attachment(blobs.get(pdf_blob), maintype="application", subtype="pdf",
                       filename=safe_pdf_name(symbol))
    for a in attachments:
        main, _, sub = (a.get("content_type") or "application/octet-stream").partition("/")
        msg.add_attachment(blobs.get(a["blob"]), maintype=main, subtype=sub or "octet-stream",
                           filename=a["name"])
    return msg.as_bytes()


def _mail_for(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, to: list[str]) -> bytes:
    """The release mail built inside the action (entries recorded before issue 14)."""
    return release_mail(ctx.blobs, org, type_code=doc.type_code, summary=doc.summary, symbol=doc.symbol,
                        issued_date=doc.issued_date, pdf_blob=doc.pdf_blob, attachments=doc.attachments, to=to,
                        when=ctx.now)


def mail_addresses(session, sandbox_id: int, recipients: list[dict]) -> list[str]:
    """The e-mail recipients a release writes to (those outside the world's domains are not
    sent to: their rows bounce)."""
    from mailserver.api import outside_world

    emails = [r["address"] for r in recipients if r["kind"] == "email"]
    outside = set(outside_world(session, sandbox_id, emails))
    return [a for a in emails if a not in outside]


def _prepared_mail(ctx: ActionContext, mail: dict, addresses: list[str]) -> bytes:
    """The release mail built before the action (``{"blob", "to"}``), for the addresses the
    action finds now."""
    if list(mail.get("to") or []) != addresses:
        raise DocflowError("Danh sách nơi nhận thư điện tử đã thay đổi; hãy phát hành lại.",
                           f"stale: mail for {mail.get('to')}, recipients now {addresses}")
    check_blob(ctx, mail.get("blob"), "thư phát hành")
    return ctx.blobs.get(mail["blob"])


def _mail_args(runtime, sandbox_id: int, org: Organisation, recipients: list[dict], **fields) -> dict | None:
    """``mail=`` for an issuing action: the release mail built now, or None (nothing to send)."""
    with runtime.db.read() as s:
        addresses = mail_addresses(s, sandbox_id, recipients)
    if not addresses or not org.email:
        return None
    raw = release_mail(runtime.blobs, org, to=addresses, **fields)
    return {"blob": runtime.blobs.put(raw), "to": addresses}


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
        inc.arrival_number, _ = take_number(ctx, to_org, "den", year, "in", inc.id,
                                            lambda n: rules.format_number(n))
        add_event(ctx, "in", inc.id, f"Nhận qua trục liên thông từ {org.name}, văn bản số {doc.symbol}; "
                  f"vào sổ văn bản đến số {rules.format_number(inc.arrival_number)}", "registered", actor="lien-thong")
    else:  # an internal unit: distributed for information, no arrival number
        ctx.session.add(Assignment(sandbox_id=ctx.sandbox.id, incoming_id=inc.id, unit_id=to_unit.id,
                                   person_id=None, role="db", deadline=None, status="unread", notes=[],
                                   assigned_by=ctx.actor, assigned_at=ctx.now))
        inc.status = "assigned"
        add_event(ctx, "in", inc.id, f"Văn bản nội bộ số {doc.symbol} gửi {to_unit.name}", "assigned")
    return inc


def _issue(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: str, mail: dict | None = None) -> None:
    doc.status = "issued"
    add_event(ctx, "out", doc.id, f"Phát hành văn bản {doc.symbol}", "issued", actor=clerk)
    deliveries = []
    emails = []
    for r in doc.recipients:
        if r["kind"] == "unit":
            unit = get_row(ctx, Unit, r["id"], "đơn vị nhận")
            inc = _deliver_incoming(ctx, doc, org, org, unit)
            deliveries.append({**r, "status": "delivered", "incoming_id": inc.id})
        elif r["kind"] == "org":
            to_org = get_row(ctx, Organisation, r["id"], "cơ quan nhận")
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
                raw = _prepared_mail(ctx, mail, addresses) if mail is not None else _mail_for(ctx, doc, org, addresses)
                res = send_in_action(ctx, org.email, raw, addresses, via="docflow")
            except MailError as exc:
                res = {"bounced": addresses, "error": exc.message_vi}
                add_event(ctx, "out", doc.id, f"Không gửi được thư điện tử: {exc.message_vi}", "issued", actor=clerk)
        if outside:
            add_event(ctx, "out", doc.id, "Không gửi được thư điện tử tới địa chỉ ngoài hệ thống: "
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
    add_event(ctx, "out", doc.id, f"Gửi văn bản đến nơi nhận: {listing}", "sent", actor=clerk)


@action("docflow.issue", ids={"outgoing_id": "outgoing"}, result_ids=RELEASE_IDS)
def issue_action(ctx: ActionContext, *, outgoing_id: int, mail: dict | None = None) -> dict:
    """Phát hành (the clerk): deliver to units, organisations and e-mail recipients. ``mail``:
    the release mail the API built before dispatching (``{"blob", "to"}``); entries recorded
    before issue 14 have none, and the mail is built here as it was then."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    require_clerk(ctx, org, "phát hành văn bản")
    if doc.status in ("at_clerk", "numbered"):
        unsigned = " (lãnh đạo cũng chưa ký số)" if doc.leader_signature is None else ""
        raise DocflowError(f"Không thể phát hành: văn bản chưa có chữ ký số của cơ quan{unsigned}. "
                           "Hãy cấp số và ký số của cơ quan trước khi phát hành.", f"issue in status {doc.status}")
    need_status(doc, ("org_signed",), "phát hành")
    _issue(ctx, doc, org, ctx.actor, mail)
    return {"status": doc.status, "deliveries": doc.deliveries}


@action("docflow.archive", ids={"outgoing_id": "outgoing"}, result_ids={})
def archive_action(ctx: ActionContext, *, outgoing_id: int) -> dict:
    doc, org = outgoing_and_org(ctx, outgoing_id)
    require_clerk(ctx, org, "lưu hồ sơ văn bản")
    need_status(doc, ("sent", "issued"), "lưu hồ sơ")
    doc.status, doc.updated_at = "archived", ctx.now
    add_event(ctx, "out", doc.id, "Lưu hồ sơ", "archived")
    return {"status": doc.status}


# =========================================================================================
# the automatic clerk: her background job and its action ``docflow.auto_clerk``
# =========================================================================================
def forwarded_result(doc: OutgoingDoc, org: Organisation) -> dict:
    """The result of ``docflow.forward_to_clerk`` (``doc`` is now ``at_clerk``): the one place
    that says whether the clerk is automatic. A clerk played by a person (``"person"``) does her
    part later through the clerk's actions; for an automatic one (``"npc"``) the NPC rule
    ``auto_clerk`` queues her job in the same action (:func:`queue_auto_clerk`: ``queued`` is
    merged into this result) or, replaying an entry recorded before issue 14, releases or
    refuses it inside it (:func:`auto_clerk_in_action`)."""
    return {"status": doc.status, "clerk": "npc" if org.clerk_mode == "npc" else "person"}


def _ready_clerk(ctx: ActionContext, org: Organisation) -> Person:
    """The automatic clerk of ``org`` with a usable organisation token, or a refusal."""
    clerk = _clerk_of(ctx, org)
    if clerk is None or org.org_token_id is None or org.npc_pin_blob is None:
        raise DocflowError("Cơ quan chưa có văn thư tự động với chứng thư số cơ quan.",
                           f"org {org.id} has no NPC clerk")
    tok = next((t for t in signing_api.tokens_of(ctx.session, ctx.sandbox.id, clerk.address)
                if t.id == org.org_token_id), None)
    if tok is None or tok.locked:
        raise DocflowError("Văn thư không dùng được thiết bị ký số của cơ quan.", f"org token {org.org_token_id}")
    return clerk


def queue_auto_clerk(ctx: ActionContext, outgoing_id: int) -> dict:
    """Inside the forwarding action: queue the automatic clerk's job for draft ``outgoing_id``
    (she must exist and be able to use the organisation token: else the forward is refused,
    as it was when she acted inside it). Returns what is merged into the forward's result."""
    doc = ctx.session.get(OutgoingDoc, outgoing_id)
    org = ctx.session.get(Organisation, doc.org_id)
    _ready_clerk(ctx, org)
    jobs.enqueue(ctx, AUTO_CLERK_JOB, {"outgoing_id": doc.id}, key=f"outgoing:{doc.id}")
    return {"queued": True}


# its deliveries: in ``created``
@action("docflow.auto_clerk", ids={"outgoing_id": "outgoing"}, result_ids={}, not_ids=("number",))
def auto_clerk_action(ctx: ActionContext, *, outgoing_id: int, extends: str, refusal: str | None = None,
                      number: int | None = None, symbol: str | None = None, issued: str | None = None,
                      pdf_blob: str | None = None, signed: dict | None = None, attachments: list | None = None,
                      unsigned: list | None = None, mail: dict | None = None) -> dict:
    """The automatic clerk's part (actor: her address), recorded by her background job, which
    did the slow work before (the verifier's judgement of the leader's signature, the number
    and date filled in, the organisation signature, the signed attachments): she sends the
    draft back with ``refusal``, or numbers (``number``/``symbol`` on ``issued``, the date she
    signed), records the organisation signature of ``pdf_blob`` (its ``signed`` facts) and the
    ``attachments`` she signed (``unsigned``: those she could not) and issues it. Only cheap
    checks run here, the same in a replay: the draft is still the file she read
    (``extends``), still at the clerk, the number still the next, the signed files extend
    theirs with the organisation's certificate in what they added. A stale job is refused
    (and retried by the queue with fresh work)."""
    doc, org = outgoing_and_org(ctx, outgoing_id)
    clerk = _clerk_of(ctx, org)
    if org.clerk_mode != "npc" or clerk is None or clerk.address != ctx.actor.strip().lower():
        raise DocflowForbidden("Chỉ văn thư tự động của cơ quan mới được phát hành theo cách này.",
                               f"{ctx.actor} is not the automatic clerk of org {org.id}")
    need_status(doc, ("at_clerk",), "phát hành")
    if extends != doc.pdf_blob:
        raise DocflowError("Văn bản đã thay đổi từ khi văn thư xem; văn thư sẽ xem lại.",
                           f"stale: the job read {extends}, the document is {doc.pdf_blob}")
    if refusal is not None:
        _refuse_at_clerk(ctx, doc, clerk.address, refusal)
        return {"status": doc.status, "clerk": "npc", "released": False, "refusal": refusal}
    today = rules.vn_today(ctx.now)
    if issued != today.isoformat() or [number, symbol] != list(_planned(ctx.session, doc, org, today)):
        raise DocflowError("Số văn bản đã được cấp cho văn bản khác; văn thư sẽ cấp lại.",
                           f"stale: number {number} {symbol} on {issued}, now {_planned(ctx.session, doc, org, today)}"
                           f" on {today}")
    check_blob(ctx, pdf_blob, "đã ký")
    data = derived_from(ctx, pdf_blob, doc.pdf_blob)
    record = _org_signature_from_facts(ctx, doc, data, signed or {})
    token = signing_api.token_view(ctx.session, ctx.sandbox.id, org.org_token_id)
    if token is None or record["fingerprint"] != token.fingerprint:
        raise DocflowError("Văn thư phải ký bằng chứng thư số của cơ quan.", "not the organisation's token")
    atts = _signed_attachments(ctx, doc, attachments)
    _number(ctx, doc, org, clerk.address, None)
    _record_org_signature(ctx, doc, pdf_blob, record, clerk.address)
    _record_attachments(ctx, doc, atts, list(unsigned or []), clerk.address)
    _issue(ctx, doc, org, clerk.address, mail)
    return {"status": doc.status, "clerk": "npc", "released": True, "symbol": doc.symbol}


def _planned(session, doc: OutgoingDoc, org: Organisation, today) -> tuple[int, str]:
    """The number and symbol the clerk gives ``doc`` on ``today``: its own when it was numbered
    this year before (sent back, forwarded again), else the next free one of the sổ đi."""
    if doc.number is not None and doc.year == today.year:
        return doc.number, doc.symbol
    unit = session.get(Unit, doc.unit_id) if doc.unit_id is not None else None
    n = next_number(session, org.id, "di", today.year)
    return n, rules.symbol(n, doc.type_code, org.code, unit.code if unit else None)


@jobs.job_kind(AUTO_CLERK_JOB)
def automatic_clerk_job(run) -> dict | None:
    """The automatic clerk at work (a ``sandbox.kernel.jobs`` function, outside any
    transaction): she reads the draft, has the verifier judge the leader's signature, and
    either refuses it or numbers it, signs it for the organisation (and its PDF attachments)
    with the token she holds, then records all of it with one ``docflow.auto_clerk``. Run
    again after a crash, she finds the draft no longer at the clerk and does nothing."""
    rt, sid, oid = run.runtime, run.sandbox_id, int(run.args["outgoing_id"])
    signing_api.use_pki(rt)
    with rt.db.read() as s:
        q = Scoped(s, sid)
        doc = q.get(OutgoingDoc, oid)
        org = q.get(Organisation, doc.org_id) if doc is not None else None
        if doc is None or org is None or doc.status != "at_clerk" or org.clerk_mode != "npc":
            return {"skipped": f"văn bản không còn chờ văn thư ({doc.status if doc else 'không có'})"}
        clerk = s.scalar(select(Person).where(Person.sandbox_id == sid, Person.org_id == org.id,
                                              Person.role == "van_thu").order_by(Person.id))
    if clerk is None or org.org_token_id is None or org.npc_pin_blob is None:
        raise DocflowError("Cơ quan chưa có văn thư tự động với chứng thư số cơ quan.",
                           f"org {org.id} has no NPC clerk")
    problem = leader_check(rt, sid, oid)
    if problem:
        return run.dispatch(clerk.address, "docflow.auto_clerk",
                            {"outgoing_id": oid, "extends": doc.pdf_blob, "refusal": problem})
    when = rt.clock.now()
    today = rules.vn_today(when)
    with rt.db.read() as s:
        number_, symbol = _planned(s, doc, org, today)
    seal = signing_api.npc_organisation_signer(rt, sid, org.org_token_id, rt.blobs.get(org.npc_pin_blob).decode(),
                                               holder=clerk.address, seal_name=org.name)
    if seal is None:
        raise DocflowError("Văn thư không dùng được thiết bị ký số của cơ quan.", f"org token {org.org_token_id}")
    pdf = seal.sign(rt.blobs.get(doc.pdf_blob), layout=layout_from_json(doc.layout), number=symbol,
                    date_text=rules.date_line(org.place, today), when=when)
    blob = rt.blobs.put(pdf)
    atts, failed = sign_attachments(rt.blobs, seal, doc.attachments, symbol, when)
    rows = [{"index": i, "blob": a["blob"], "signed": signed_facts(rt.blobs, a["blob"], old["blob"])}
            for i, (a, old) in enumerate(zip(atts, doc.attachments)) if a.get("signed") and not old.get("signed")]
    mail = _mail_args(rt, sid, org, doc.recipients, type_code=doc.type_code, summary=doc.summary, symbol=symbol,
                      issued_date=today, pdf_blob=blob, attachments=atts, when=when)
    return run.dispatch(clerk.address, "docflow.auto_clerk", dict(
        outgoing_id=oid, extends=doc.pdf_blob, number=number_, symbol=symbol, issued=today.isoformat(),
        pdf_blob=blob, signed=signed_facts(rt.blobs, blob, doc.pdf_blob), attachments=rows, unsigned=failed,
        mail=mail))


# --- before issue 14: the automatic clerk inside the forwarding action (replays of old logs) ----
def auto_clerk_in_action(ctx: ActionContext, outgoing_id: int) -> dict:
    """The automatic clerk's part inside the forwarding action of draft ``outgoing_id``: how
    every forward recorded before issue 14 (no ``deferred``) was released, kept so that such a
    log still replays."""
    doc = ctx.session.get(OutgoingDoc, outgoing_id)
    org = ctx.session.get(Organisation, doc.org_id)
    return release_by_automatic_clerk(ctx, doc, org)


def release_by_automatic_clerk(ctx: ActionContext, doc: OutgoingDoc, org: Organisation) -> dict:
    """The automatic clerk, deterministically at ``ctx.now``: she checks the leader signature and
    refuses (reason in ``clerk_refusal``, the draft back to ``approved`` unsigned) or numbers,
    signs for the organisation with the token she holds (its PIN from the blob store) and issues."""
    clerk = _clerk_of(ctx, org)
    if clerk is None or org.org_token_id is None or org.npc_pin_blob is None:
        raise DocflowError("Cơ quan chưa có văn thư tự động với chứng thư số cơ quan.",
                           f"org {org.id} has no NPC clerk")
    problem = leader_problem_in(ctx, doc)
    if problem:
        _refuse_at_clerk(ctx, doc, clerk.address, problem)
        return {"status": doc.status, "clerk": "npc", "released": False, "refusal": problem}
    _number(ctx, doc, org, clerk.address, None)
    _npc_org_sign(ctx, doc, org, clerk)
    _issue(ctx, doc, org, clerk.address)
    return {"status": doc.status, "clerk": "npc", "released": True, "symbol": doc.symbol}


def _clerk_of(ctx: ActionContext, org: Organisation) -> Person | None:
    return ctx.session.scalar(select(Person).where(Person.sandbox_id == ctx.sandbox.id, Person.org_id == org.id,
                                                   Person.role == "van_thu").order_by(Person.id))


def _npc_org_sign(ctx: ActionContext, doc: OutgoingDoc, org: Organisation, clerk: Person) -> None:
    pin = ctx.blobs.get(org.npc_pin_blob).decode()
    seal = signing_api.held_organisation_signer(ctx, org.org_token_id, pin, holder=clerk.address, seal_name=org.name)
    if seal is None:
        raise DocflowError("Văn thư không dùng được thiết bị ký số của cơ quan.", f"org token {org.org_token_id}")
    number_text, date_text = org_signature_inputs(doc, org)
    pdf = seal.sign(ctx.blobs.get(doc.pdf_blob), layout=layout_from_json(doc.layout), number=number_text,
                    date_text=date_text, when=ctx.now)
    _record_org_signature(ctx, doc, ctx.blobs.put(pdf), seal.record(signing_api.ORG_FIELD), clerk.address)
    atts, failed = sign_attachments(ctx.blobs, seal, doc.attachments, doc.symbol, ctx.now)
    _record_attachments(ctx, doc, atts, failed, clerk.address)


# =========================================================================================
# the API's writers
# =========================================================================================
def clerk_refuse(runtime, sandbox_id: int, actor: str, outgoing_id: int, reason: str) -> dict:
    return dispatch(runtime, sandbox_id, actor, "docflow.clerk_refuse", dict(outgoing_id=outgoing_id, reason=reason))


def number(runtime, sandbox_id: int, actor: str, outgoing_id: int, number: int | None = None) -> dict:
    """Cấp số (clerk): ``{status, number, symbol}``; ``number`` to take a specific free number."""
    return dispatch(runtime, sandbox_id, actor, "docflow.number", dict(outgoing_id=outgoing_id, number=number))


def leader_check(runtime, sandbox_id: int, outgoing_id: int) -> str | None:
    """Why the organisation may not sign this document now (Vietnamese), or None."""
    signing_api.use_pki(runtime)
    doc, _org, signer = open_outgoing(runtime, sandbox_id, outgoing_id)
    if doc.leader_signature is None:
        return "Dự thảo chưa được lãnh đạo ký số."
    with runtime.db.read() as s:
        own = own_fingerprints(s, sandbox_id, signer.address)
        owners = signing_api.holders_by_fingerprint(s, sandbox_id)
    return leader_problem(runtime.blobs.get(doc.pdf_blob), own=own, signer_name=signer.full_name, holders=owners,
                          trust=signing_api.trust_of(runtime.dispatcher.services))


def org_sign(runtime, sandbox_id: int, actor: str, outgoing_id: int, token_id: int, pin: str) -> dict:
    """Đóng dấu (clerk played by a person): fill number and date, add the organisation
    signature with the organisation token and PIN, sign each separate PDF attachment with the
    same certificate (Decree 30: top right of page 1, number/symbol + time), record it all
    (``docflow.org_signed``)."""
    doc, org, signer = open_outgoing(runtime, sandbox_id, outgoing_id)
    with runtime.db.read() as s:
        me = Scoped(s, sandbox_id).first(Person, Person.address == actor.strip().lower())
    if me is None or me.org_id != org.id or me.role != "van_thu":
        raise DocflowForbidden(f"Chỉ văn thư của {org.name} mới được ký số của cơ quan (đóng dấu). "
                               "Lãnh đạo ký số xong thì chuyển văn thư phát hành.", f"{actor} is not the clerk")
    if doc.status != "numbered":
        raise DocflowError("Không thể ký số của cơ quan: văn bản đang ở trạng thái "
                           f"«{rules.OUTGOING_STATUS[doc.status]}»"
                           + (" (hãy cấp số trước)." if doc.status == "at_clerk" else "."), f"status {doc.status}")
    problem = leader_check(runtime, sandbox_id, outgoing_id)
    if problem:
        raise DocflowError(f"Không thể ký số của cơ quan: {problem}", "leader signature not acceptable")
    seal = signing_api.organisation_signer(runtime, sandbox_id, token_id, pin, actor=actor, seal_name=org.name)
    seal.open()  # the PIN is checked (wrong tries recorded) before anything is signed
    number_text, date_text = org_signature_inputs(doc, org)
    when = runtime.clock.now()
    pdf = seal.sign(runtime.blobs.get(doc.pdf_blob), layout=layout_from_json(doc.layout), number=number_text,
                    date_text=date_text, when=when)
    atts, _failed = sign_attachments(runtime.blobs, seal, doc.attachments, doc.symbol, when)
    blob = runtime.blobs.put(pdf)
    # the verifier's judgement of the leader's signature in the signed file, before the write
    with runtime.db.read() as s:
        own = own_fingerprints(s, sandbox_id, signer.address)
        owners = signing_api.holders_by_fingerprint(s, sandbox_id)
    problem = leader_problem(pdf, own=own, signer_name=signer.full_name, holders=owners,
                             trust=signing_api.trust_of(runtime.dispatcher.services))
    if problem:
        raise DocflowError(f"Không thể ký số của cơ quan: {problem}", "leader signature not acceptable")
    signed = [{"index": i, "blob": a["blob"], "signed": signed_facts(runtime.blobs, a["blob"], old["blob"])}
              for i, (a, old) in enumerate(zip(atts, doc.attachments)) if a.get("signed") and not old.get("signed")]
    return dispatch(runtime, sandbox_id, actor, "docflow.org_signed", dict(
        outgoing_id=outgoing_id, pdf_blob=blob, attachments=signed,
        signed=signed_facts(runtime.blobs, blob, doc.pdf_blob)))


def issue(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    """Phát hành (clerk): deliver to units, organisations and e-mail recipients → ``sent``
    (the release mail is built first, outside the write)."""
    doc, org, _signer = open_outgoing(runtime, sandbox_id, outgoing_id)
    args: dict = dict(outgoing_id=outgoing_id)
    if doc.status == "org_signed" and doc.symbol:
        mail = _mail_args(runtime, sandbox_id, org, doc.recipients, type_code=doc.type_code, summary=doc.summary,
                          symbol=doc.symbol, issued_date=doc.issued_date, pdf_blob=doc.pdf_blob,
                          attachments=doc.attachments, when=runtime.clock.now())
        if mail is not None:
            args["mail"] = mail
    return dispatch(runtime, sandbox_id, actor, "docflow.issue", args)


def archive(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    return dispatch(runtime, sandbox_id, actor, "docflow.archive", dict(outgoing_id=outgoing_id))
