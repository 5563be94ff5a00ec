"""The workflow's side of signing, all through :mod:`signing.api`: which PKI the signatures use,
reading the signatures of a PDF, the clerk's judgement of the leader's signature before the
organisation signs, and the organisation signature on separate attachments.

Trust: with a PKI in place (``signing.api.use_pki``: the installation's by default, put there
by every docflow write), signatures must chain to its root and time-stamps come from its
in-process TSA at the in-world time; without one, signatures are judged intact/valid and by
certificate fingerprint only (the sandbox's token registry is the identity reference either way).
"""
from __future__ import annotations

from sandbox.kernel.actions import ActionContext
from signing import api as signing_api

from .common import signer_of
from .errors import DocflowError
from .models import OutgoingDoc, Person

__all__ = ["use_pki", "embedded", "own_fingerprints", "holders", "derived_from", "leader_problem",
           "leader_problem_in", "sign_attachments", "signed_facts", "fact_signature", "check_extends"]


def use_pki(runtime, pki) -> None:
    """Use ``pki`` (a ``signing.api.TestPKI``) instead of the installation's
    (``signing.api.pki_for(runtime)``, the default): signatures carry its chain and an
    in-process time-stamp at the in-world time; the clerk's check of the leader signature
    requires a chain to its root."""
    signing_api.use_pki(runtime, pki)


def embedded(pdf: bytes) -> list[dict]:
    """``[{field, fingerprint, signer, subject, serial, kind}]`` in signing order (no validation)."""
    try:
        return signing_api.signatures_in(pdf)
    except Exception as exc:
        raise DocflowError("Tệp PDF đã ký bị hỏng hoặc không đọc được chữ ký.", f"{type(exc).__name__}: {exc}") from exc


def own_fingerprints(session, sandbox_id: int, address: str) -> set[str]:
    """Fingerprints of ``address``'s own personal certificate(s) (signing's owner rule: a
    token may be held by someone else, the certificate still belongs to its owner)."""
    fp = signing_api.own_personal_fingerprint(session, sandbox_id, address)
    return {fp} if fp else set()


def holders(ctx: ActionContext) -> dict[str, str]:
    """Certificate fingerprint -> the in-world person it belongs to (its owner)."""
    return signing_api.holders_by_fingerprint(ctx.session, ctx.sandbox.id)


def check_extends(data: bytes, old: bytes) -> None:
    """Refuse ``data`` unless it extends ``old`` (an incremental update: a signature added to
    this very file)."""
    if not old or len(data) <= len(old) or data[:len(old)] != old:
        raise DocflowError("Tệp đã ký không phải là bản ký của văn bản này (có thể đã tải nhầm tệp).",
                           "signed PDF is not an incremental update of the current one")


def derived_from(ctx: ActionContext, new_blob: str, old_blob: str | None) -> bytes:
    """The bytes of ``new_blob``, refused unless they extend ``old_blob`` (an incremental update:
    a signature added to this very file)."""
    data = ctx.blobs.get(new_blob)
    check_extends(data, ctx.blobs.get(old_blob) if old_blob else b"")
    return data


# --- facts read outside an action, re-checked cheaply inside -----------------------------------
def signed_facts(blobs, new_blob: str, base_blob: str) -> dict:
    """Outside an action (the API or the clerk's job, before dispatching): what the action is
    told about a signed file, read from its bytes with pyHanko: ``{"extends": base_blob,
    "signatures": [{"field", "fingerprint"}, …]}`` (every signature, in signing order).
    Refused unless the file extends ``base_blob``. The action re-checks these facts cheaply
    (:func:`fact_signature`); a replay re-applies them as logged."""
    data = blobs.get(new_blob)
    check_extends(data, blobs.get(base_blob))
    return {"extends": base_blob,
            "signatures": [{"field": s["field"], "fingerprint": s["fingerprint"]} for s in embedded(data)]}


def fact_signature(ctx: ActionContext, data: bytes, since: int, fact: dict, *, field: str,
                   kind: str | None = None) -> dict:
    """Inside an action: the record (``{field, fingerprint, signer, subject, serial, kind}``) of
    one signature the facts of :func:`signed_facts` name, after the cheap checks a replay
    repeats identically: it is on ``field``; its certificate is on a token of this sandbox
    (of ``kind`` when given); and that certificate is embedded in the bytes the update added
    (from offset ``since``: what the file had before). Names, serial and kind come from the
    certificate itself, not from the caller."""
    if not isinstance(fact, dict) or fact.get("field") != field:
        raise DocflowError(f"Tệp đã ký không có chữ ký tại ô {field}.", f"signature fact {fact!r}")
    cert = signing_api.token_certificate(ctx.session, ctx.sandbox.id, str(fact.get("fingerprint") or ""))
    if cert is None:
        raise DocflowError("Chứng thư số của chữ ký không thuộc thiết bị ký số nào trong hệ thống.",
                           f"no token with fingerprint {fact.get('fingerprint')!r}")
    if not signing_api.embeds_certificate(data, since, cert):
        raise DocflowError("Tệp đã ký không chứa chữ ký số bằng chứng thư số này.",
                           f"certificate {fact.get('fingerprint')} not in the update")
    record = signing_api.certificate_record(cert, field)
    if kind is not None and record["kind"] != kind:
        raise DocflowError("Chữ ký số không dùng đúng loại chứng thư số.", f"kind {record['kind']} != {kind}")
    return record


def leader_problem(pdf: bytes, *, own: set[str], signer_name: str, holders: dict[str, str], trust) -> str | None:
    """Why the leader signature of ``pdf`` is not acceptable for the organisation signature
    (Vietnamese), or None."""
    try:
        report = signing_api.verify_pdf(pdf, validation_context=trust)
    except Exception as exc:  # SigningError: not a signed PDF
        return getattr(exc, "message_vi", "Không đọc được chữ ký số của văn bản.")
    leader = next((s for s in report.signatures if s.field == signing_api.LEADER_FIELD), None)
    if leader is None:
        return "Dự thảo chưa được lãnh đạo ký số."
    if not (leader.intact and leader.valid):
        return "Chữ ký số của lãnh đạo không hợp lệ (tệp đã bị sửa hoặc chữ ký hỏng)."
    if leader.modification_level not in ("NONE", "FORM_FILLING", "LTA_UPDATES"):
        return "Nội dung văn bản đã bị thay đổi sau khi lãnh đạo ký số."
    if trust is not None and (not leader.trusted or leader.revoked):
        return "Chứng thư số dùng để ký không được tin cậy hoặc đã bị thu hồi."
    if leader.fingerprint not in own:
        who = holders.get(leader.fingerprint)
        return (f"Dự thảo được ký bằng chứng thư số «{leader.signer}»"
                + (f" (của {who})" if who else "")
                + f", không phải chứng thư số của người ký {signer_name}. Người ký phải tự ký bằng chứng thư số của mình.")
    return None


def leader_problem_in(ctx: ActionContext, doc: OutgoingDoc, pdf: bytes | None = None) -> str | None:
    """Inside an action: why the organisation may not sign yet (Vietnamese), or None: a leader
    signature must be present, valid, unchanged except form filling, and made with the
    designated signer's own certificate (checked with signing's verifier)."""
    signer: Person = signer_of(ctx, doc)
    if doc.leader_signature is None and pdf is None:
        return "Dự thảo chưa được lãnh đạo ký số."
    data = pdf if pdf is not None else ctx.blobs.get(doc.pdf_blob)
    return leader_problem(data, own=own_fingerprints(ctx.session, ctx.sandbox.id, signer.address),
                          signer_name=signer.full_name, holders=holders(ctx),
                          trust=signing_api.trust_of(ctx.services))


def sign_attachments(blobs, signer, attachments: list[dict], symbol: str, when) -> tuple[list[dict], list[str]]:
    """The organisation signature (``signer``: a ``signing.api.OrganisationSigner``) on every
    separate PDF attachment (Decree 30 Phụ lục I II.8.b: top right of page 1, no image,
    number/symbol + ISO time). Returns the new attachment list (``blob`` = the signed file,
    ``original_blob`` kept, ``signed``) and the names that could not be signed (with the reason)."""
    out, failed = [], []
    signer.open()  # the token is open before the loop: a wrong PIN is never taken for a broken file
    for a in attachments:
        if a.get("signed") or a.get("content_type") != "application/pdf":
            out.append(a)
            continue
        try:
            signed = signer.sign_attachment(blobs.get(a["blob"]), symbol, when=when)
        except Exception as exc:  # SigningError (a broken or encrypted PDF): keep it unsigned
            failed.append(f"{a['name']} ({getattr(exc, 'message_vi', type(exc).__name__)})")
            out.append(a)
            continue
        out.append({**a, "blob": blobs.put(signed), "size": len(signed), "original_blob": a["blob"], "signed": True})
    return out, failed
