"""The document workflow's public API: the ONLY import surface for the web UI, scenarios and
the grader (see docs/docflow.md).

* Write functions take ``(runtime, sandbox_id, actor, ...)`` and wrap exactly one dispatch of a
  ``docflow.*`` action (rendering and signing happen before it, outside the transaction; the
  PIN is used here and never passed to an action). Refusals raise
  :class:`~sandbox.kernel.errors.SandboxError` subclasses with a Vietnamese ``message_vi``.
* Read functions take ``(runtime, sandbox_id, ...)`` and return plain dataclasses; every query
  goes through :class:`docflow.queries.Scoped` (isolation in one place).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_

from sandbox.kernel.clock import as_utc


from .actions import WORLD_ACTORS  # importing it registers the docflow.* actions
from . import rules, sigcheck
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .models import (Assignment, Comment, DocEvent, DraftVersion, IncomingDoc, Organisation, OutgoingDoc, PageView,
                     Person, Register, RegisterEntry, Unit)
from .queries import Scoped
from .render import render_draft

__all__ = [
    # vocabulary
    "rules", "DocflowError", "DocflowForbidden", "DocflowNotFound", "Upload", "WORLD_ACTORS",
    # setup
    "use_pki", "create_org", "create_unit", "create_person", "setup_org_token",
    # incoming
    "register_incoming", "reject_incoming", "direct", "progress", "mark_read", "record_view",
    # outgoing
    "create_draft", "update_draft", "comment", "submit", "approve", "return_draft", "sign_as_leader",
    "forward_to_clerk", "clerk_refuse", "number", "org_sign", "issue", "archive", "check_upload", "safe_file_name",
    # reads
    "person", "org_of", "organisations", "org_tree", "incoming_list", "outgoing_list", "search", "incoming_doc",
    "outgoing_doc", "tracking", "assignments_of", "signatures_of", "history", "register", "pdf_of", "attachment_of",
    "leader_check", "tokens_for", "record_view", "views", "report", "LIEN_THONG",
]

SYSTEM = "system"


# =========================================================================================
# setup
# =========================================================================================
def use_pki(runtime, pki) -> None:
    """Use ``pki`` (a ``signing.api.TestPKI``) instead of the installation's
    (``signing.api.pki_for(runtime)``, the default): signatures carry its chain and an
    in-process time-stamp at the in-world time; the clerk's check of the leader signature
    requires a chain to its root."""
    runtime.dispatcher.services[sigcheck.PKI_SERVICE] = pki


def _d(runtime, sandbox_id: int, actor: str, name: str, args: dict) -> dict:
    sigcheck.ensure_pki(runtime)
    return runtime.dispatcher.dispatch(sandbox_id, actor, name, args)


def create_org(runtime, sandbox_id: int, *, code: str, name: str, parent_name: str = "", place: str = "",
               email: str = "", clerk_mode: str = "npc", actor: str = SYSTEM) -> int:
    return _d(runtime, sandbox_id, actor, "docflow.create_org", dict(
        code=code, name=name, parent_name=parent_name, place=place, email=email, clerk_mode=clerk_mode))["org_id"]


def create_unit(runtime, sandbox_id: int, org_id: int, code: str, name: str, *, actor: str = SYSTEM) -> int:
    return _d(runtime, sandbox_id, actor, "docflow.create_unit", dict(org_id=org_id, code=code, name=name))["unit_id"]


def create_person(runtime, sandbox_id: int, org_id: int, address: str, full_name: str, role: str, *,
                  title: str = "", unit_id: int | None = None, leads: str = "none", actor: str = SYSTEM) -> int:
    return _d(runtime, sandbox_id, actor, "docflow.create_person", dict(
        org_id=org_id, address=address, full_name=full_name, role=role, title=title, unit_id=unit_id,
        leads=leads))["person_id"]


def setup_org_token(runtime, sandbox_id: int, org_id: int, bundle, pin: str, *, clerk_address: str,
                    npc: bool | None = None, actor: str = SYSTEM) -> int:
    """Put the organisation certificate on a token held by the clerk (usable by the clerk role
    only). With an automatic clerk (``npc``, default: the organisation's clerk mode) the PIN is
    kept in the blob store for her; the log holds only its hash. Returns the token id."""
    from signing.tokens import provision

    with runtime.db.read() as s:
        org = Scoped(s, sandbox_id).get(Organisation, org_id)
        if org is None:
            raise DocflowNotFound("Không tìm thấy cơ quan.", f"org {org_id}")
        mode = org.clerk_mode
    npc = (mode == "npc") if npc is None else npc
    token_id = provision(runtime.dispatcher, sandbox_id, clerk_address, bundle, pin,
                         label=f"Chứng thư số cơ quan - {org.name}", role_required="clerk", actor=actor)
    pin_blob = runtime.blobs.put(pin.encode()) if npc else None
    _d(runtime, sandbox_id, actor, "docflow.set_org_token", dict(org_id=org_id, token_id=token_id,
                                                                 npc_pin_blob=pin_blob))
    return token_id


# =========================================================================================
# uploads
# =========================================================================================
@dataclass
class Upload:
    """A file handed in by a person: its name as typed, its bytes, its claimed type."""

    name: str
    data: bytes
    content_type: str | None = None


#: Extension -> (content type, magic check).
_KINDS: dict[str, tuple[str, Any]] = {
    "pdf": ("application/pdf", lambda b: b"%PDF-" in b[:1024]),
    "doc": ("application/msword", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "xls": ("application/vnd.ms-excel", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "ppt": ("application/vnd.ms-powerpoint", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             lambda b: b.startswith(b"PK\x03\x04")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", lambda b: b.startswith(b"PK\x03\x04")),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
             lambda b: b.startswith(b"PK\x03\x04")),
    "odt": ("application/vnd.oasis.opendocument.text", lambda b: b.startswith(b"PK\x03\x04")),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", lambda b: b.startswith(b"PK\x03\x04")),
    "zip": ("application/zip", lambda b: b.startswith(b"PK\x03\x04")),
    "rar": ("application/vnd.rar", lambda b: b.startswith(b"Rar!")),
    "png": ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "txt": ("text/plain", None),
}
_KIND_LABEL = {"pdf": "PDF", "doc": "Word", "docx": "Word", "xls": "Excel", "xlsx": "Excel", "ppt": "PowerPoint",
               "pptx": "PowerPoint", "odt": "OpenDocument", "ods": "OpenDocument", "zip": "ZIP", "rar": "RAR",
               "png": "ảnh PNG", "jpg": "ảnh JPEG", "jpeg": "ảnh JPEG", "txt": "văn bản thuần"}


def safe_file_name(name: str) -> str:
    """NFC, no folders, no control or reserved characters, at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140].rstrip() + dot + ext) if dot and len(ext) <= 8 else name[:150]
    return name or "tep-dinh-kem"


def check_upload(runtime, upload: Upload) -> dict:
    """Validate an uploaded file and store it: ``{name, blob, size, content_type}``. Refuses, in
    Vietnamese, a 0-byte file, a file over the size limit, an unknown type and a file whose
    content is not what its name claims. Nothing is stored when refused."""
    name = safe_file_name(upload.name)
    data = upload.data or b""
    limit = runtime.settings.max_message_size
    from sandbox.kernel.vnformat import file_size
    if not data:
        raise DocflowError(f"Tệp «{name}» rỗng (0 byte); hãy chọn lại đúng tệp.", "empty upload")
    if len(data) > limit:
        raise DocflowError(f"Tệp «{name}» có dung lượng {file_size(len(data))}, vượt giới hạn {file_size(limit)}.",
                           f"upload of {len(data)} bytes over {limit}")
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    kind = _KINDS.get(ext)
    if kind is None:
        allowed = ", ".join(sorted({f".{e}" for e in _KINDS}))
        raise DocflowError(f"Không nhận loại tệp của «{name}». Các loại được nhận: {allowed}.", f"extension {ext!r}")
    ctype, magic = kind
    ok = magic(data) if magic else _is_text(data)
    if not ok:
        raise DocflowError(f"Tệp «{name}» không phải là tệp {_KIND_LABEL[ext]} như tên tệp cho biết "
                           "(nội dung không đúng định dạng); hãy kiểm tra lại tệp.", f"content is not {ext}")
    return {"name": name, "blob": runtime.blobs.put(data), "size": len(data), "content_type": ctype}


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def _uploads(runtime, files) -> list[dict]:
    out = []
    for f in files or []:
        out.append(f if isinstance(f, dict) else check_upload(runtime, f))
    return out


# =========================================================================================
# incoming
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
    return _d(runtime, sandbox_id, actor, "docflow.register_incoming", dict(
        org_id=org_id, sender_name=sender_name, summary=summary, original_symbol=original_symbol,
        original_date=_iso(original_date), type_code=type_code, urgency=urgency, pdf_blob=pdf_blob,
        attachments=_uploads(runtime, attachments), due_date=_iso(due_date), arrival_date=_iso(arrival_date)))


def _iso(d) -> str | None:
    return d.isoformat() if isinstance(d, date) else d


def reject_incoming(runtime, sandbox_id: int, actor: str, incoming_id: int, reason: str) -> dict:
    """The clerk returns a registered document to its sender (not for this organisation,
    invalid...): status ``rejected``; an in-world sender sees liên thông 02 and the reason."""
    return _d(runtime, sandbox_id, actor, "docflow.reject_incoming", dict(incoming_id=incoming_id, reason=reason))


def direct(runtime, sandbox_id: int, actor: str, incoming_id: int, directive: str, assignments: list[dict]) -> dict:
    """Bút phê + chuyển xử lý in one action. ``assignments``: ``[{"unit_id"|"person_id": id,
    "role": "xlc"|"ph"|"db", "deadline": date|"YYYY-MM-DD"|"dd/mm/yyyy"|None}]``."""
    rows = [{**a, "deadline": _iso(a.get("deadline"))} for a in assignments]
    return _d(runtime, sandbox_id, actor, "docflow.direct", dict(incoming_id=incoming_id, directive=directive,
                                                                 assignments=rows))


def progress(runtime, sandbox_id: int, actor: str, assignment_id: int, status: str, note: str = "") -> dict:
    """An assignee reports: ``status`` read | processing | completed, with an optional note."""
    return _d(runtime, sandbox_id, actor, "docflow.progress", dict(assignment_id=assignment_id, status=status,
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


# =========================================================================================
# outgoing
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
    atts = _uploads(runtime, attachments)
    blob, layout, recips = _render(runtime, sandbox_id, org_id=org_id, type_code=type_code, summary=summary,
                                   body=list(body or []), addressees=list(addressees or []), signer_id=signer_id,
                                   signer_title=signer_title, recipients=list(recipients or []), unit_id=unit_id)
    return _d(runtime, sandbox_id, actor, "docflow.create_draft", dict(
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
    atts = _uploads(runtime, attachments) if attachments is not None else None
    blob, layout, recips = _render(runtime, sandbox_id, **new)
    return _d(runtime, sandbox_id, actor, "docflow.update_draft", dict(
        outgoing_id=outgoing_id, pdf_blob=blob, layout=layout, summary=summary, body=body, addressees=addressees,
        recipients=recips if recipients is not None else None, attachments=atts, signer_title=signer_title,
        note=note))["version"]


def comment(runtime, sandbox_id: int, actor: str, outgoing_id: int, text: str) -> int:
    return _d(runtime, sandbox_id, actor, "docflow.comment", dict(outgoing_id=outgoing_id, text=text))["comment_id"]


def submit(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    """Trình lãnh đạo (drafting | returned → submitted)."""
    return _d(runtime, sandbox_id, actor, "docflow.submit", dict(outgoing_id=outgoing_id))


def approve(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    return _d(runtime, sandbox_id, actor, "docflow.approve", dict(outgoing_id=outgoing_id))


def return_draft(runtime, sandbox_id: int, actor: str, outgoing_id: int, reason: str) -> dict:
    return _d(runtime, sandbox_id, actor, "docflow.return_draft", dict(outgoing_id=outgoing_id, reason=reason))


def _open_outgoing(runtime, sandbox_id: int, outgoing_id: int):
    with runtime.db.read() as s:
        q = Scoped(s, sandbox_id)
        doc = q.get(OutgoingDoc, outgoing_id)
        if doc is None:
            raise DocflowNotFound("Không tìm thấy văn bản đi.", f"outgoing {outgoing_id}")
        return doc, q.get(Organisation, doc.org_id), q.get(Person, doc.signer_id)


def sign_as_leader(runtime, sandbox_id: int, actor: str, outgoing_id: int, token_id: int, pin: str) -> dict:
    """Ký số phê duyệt: open the token with the PIN (wrong PINs are recorded by signing),
    sign the draft's leader field, then record it (``docflow.leader_signed``). Any personal
    token the actor can open is accepted; its certificate is recorded and flagged in the
    history when it is not the designated signer's own (the grader decides)."""
    from signing.api import sign_with_token

    doc, _org, signer = _open_outgoing(runtime, sandbox_id, outgoing_id)
    if actor.strip().lower() != signer.address:
        raise DocflowForbidden(f"Chỉ người ký được giao ({signer.full_name}, {signer.title}) mới được ký số dự thảo này.",
                               f"{actor} is not the designated signer")
    if doc.status not in ("submitted", "approved"):
        raise DocflowError(f"Không thể ký số: văn bản đang ở trạng thái «{rules.OUTGOING_STATUS[doc.status]}».",
                           f"sign in status {doc.status}")
    sigcheck.ensure_pki(runtime)
    when = runtime.clock.now()
    pdf = sign_with_token(runtime, sandbox_id, token_id, pin, runtime.blobs.get(doc.pdf_blob), actor=actor,
                          timestamper=sigcheck.timestamper_of(runtime.dispatcher.services, when), when=when)
    blob = runtime.blobs.put(pdf)
    return _d(runtime, sandbox_id, actor, "docflow.leader_signed", dict(outgoing_id=outgoing_id, pdf_blob=blob,
                                                                        token_id=token_id))


def forward_to_clerk(runtime, sandbox_id: int, actor: str, outgoing_id: int, note: str = "") -> dict:
    """Chuyển văn thư phát hành. With an automatic clerk the result says ``released`` (with
    ``symbol``) or gives her ``refusal`` (also stored on the draft: ``clerk_refusal``)."""
    return _d(runtime, sandbox_id, actor, "docflow.forward_to_clerk", dict(outgoing_id=outgoing_id, note=note))


def clerk_refuse(runtime, sandbox_id: int, actor: str, outgoing_id: int, reason: str) -> dict:
    return _d(runtime, sandbox_id, actor, "docflow.clerk_refuse", dict(outgoing_id=outgoing_id, reason=reason))


def number(runtime, sandbox_id: int, actor: str, outgoing_id: int, number: int | None = None) -> dict:
    """Cấp số (clerk): ``{status, number, symbol}``; ``number`` to take a specific free number."""
    return _d(runtime, sandbox_id, actor, "docflow.number", dict(outgoing_id=outgoing_id, number=number))


def leader_check(runtime, sandbox_id: int, outgoing_id: int) -> str | None:
    """Why the organisation may not sign this document now (Vietnamese), or None."""
    from signing.api import holders_by_fingerprint

    sigcheck.ensure_pki(runtime)
    doc, _org, signer = _open_outgoing(runtime, sandbox_id, outgoing_id)
    if doc.leader_signature is None:
        return "Dự thảo chưa được lãnh đạo ký số."
    with runtime.db.read() as s:
        own = sigcheck.own_fingerprints(s, sandbox_id, signer.address)
        holders = holders_by_fingerprint(s, sandbox_id)
    return sigcheck.leader_problem(runtime.blobs.get(doc.pdf_blob), own=own, signer_name=signer.full_name,
                                   holders=holders, trust=sigcheck.trust_of(runtime.dispatcher.services))


def org_sign(runtime, sandbox_id: int, actor: str, outgoing_id: int, token_id: int, pin: str) -> dict:
    """Đóng dấu (clerk played by a person): fill number and date, add the organisation
    signature with the organisation token and PIN, sign each separate PDF attachment with the
    same certificate (Decree 30: top right of page 1, number/symbol + time), record it all
    (``docflow.org_signed``)."""
    from signing.api import CertBundle, open_token, release

    from .actions import org_signature_inputs
    from .render import layout_from_json

    doc, org, _signer = _open_outgoing(runtime, sandbox_id, outgoing_id)
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
    cert, key = open_token(runtime, sandbox_id, token_id, pin, actor=actor, role="clerk")
    services = runtime.dispatcher.services
    bundle = CertBundle(cert, key, sigcheck.chain_of(services))
    number_text, date_text = org_signature_inputs(doc, org)
    when = runtime.clock.now()
    pdf = release(runtime.blobs.get(doc.pdf_blob), layout_from_json(doc.layout), bundle,
                  sigcheck.seal_image(org.name), number_text, date_text,
                       timestamper=sigcheck.timestamper_of(services, when), when=when)
    atts, _failed = sigcheck.sign_attachments(runtime.blobs, services, bundle, doc.attachments, doc.symbol, when)
    signed = [{"index": i, "blob": a["blob"]} for i, (a, old) in enumerate(zip(atts, doc.attachments))
              if a.get("signed") and not old.get("signed")]
    return _d(runtime, sandbox_id, actor, "docflow.org_signed", dict(outgoing_id=outgoing_id,
                                                                     pdf_blob=runtime.blobs.put(pdf),
                                                                     attachments=signed))


def issue(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    """Phát hành (clerk): deliver to units, organisations and e-mail recipients → ``sent``."""
    return _d(runtime, sandbox_id, actor, "docflow.issue", dict(outgoing_id=outgoing_id))


def archive(runtime, sandbox_id: int, actor: str, outgoing_id: int) -> dict:
    return _d(runtime, sandbox_id, actor, "docflow.archive", dict(outgoing_id=outgoing_id))


# =========================================================================================
# reads
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
        return _outgoing_row(q, d, {}, OutgoingDetail, org_id=d.org_id, unit_id=d.unit_id, body=list(d.body),
                             addressees=list(d.addressees), signer_title=d.signer_title,
                             recipients=list(d.recipients), attachments=list(d.attachments), version=d.version,
                             pdf_blob=d.pdf_blob, signatures=sigs, deliveries=deliveries,
                             versions=versions, comments=comments, history=_events(q, "out", d.id),
                             forwarded_to_clerk=d.forwarded_to_clerk, layers=len(live))


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


# --- grader reads --------------------------------------------------------------------------
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
    from signing.api import certificates_for
    p = person(runtime, sandbox_id, address)
    role = "clerk" if p is not None and p.role == "van_thu" else None
    with runtime.db.read() as s:
        return certificates_for(s, sandbox_id, address, role)


def record_view(runtime, sandbox_id: int, actor: str, page: str, kind: str | None = None,
                doc_id: int | None = None) -> None:
    """Record that ``actor`` opened ``page`` (``tracking`` | ``report`` | ``incoming_doc`` |
    ``outgoing_doc``, with ``kind`` "in"/"out" and ``doc_id`` for a document): the UI calls it
    when such a page is shown, so the grader can tell the candidate looked."""
    _d(runtime, sandbox_id, actor, "docflow.viewed", dict(page=page, doc_kind=kind, doc_id=doc_id))


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
