"""The signing side of the workflow, through the signing package's public functions:
reading the signatures of a PDF, judging the leader's signature before the organisation
signs (signing's verifier), and the organisation signature of the automatic clerk.

Trust: when the installation registered a PKI (``docflow.api.use_pki``), signatures must
chain to its root and time-stamps come from its in-process TSA at the in-world time;
without one, signatures are judged intact/valid and by certificate fingerprint only (the
sandbox's token registry is the identity reference either way).
"""
from __future__ import annotations

import copy
import io
import logging
from functools import lru_cache
from typing import Any

from signing import document as sdoc
from signing.api import CertBundle, classify, fingerprint, load_cert
from signing.pki import decrypt_key

from .errors import DocflowError

PKI_SERVICE = "signing_pki"


def _cn(name) -> str:
    try:
        return name.native.get("common_name") or name.human_friendly
    except Exception:
        return ""


def embedded(pdf: bytes) -> list[dict]:
    """``[{field, fingerprint, signer, subject, kind}]`` in signing order (no validation)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    try:
        r = PdfFileReader(io.BytesIO(pdf))
        out = []
        for sig in r.embedded_signatures:
            cert = sig.signer_cert
            out.append({"field": sig.field_name, "fingerprint": cert.sha256.hex(), "signer": _cn(cert.subject),
                        "subject": cert.subject.human_friendly, "serial": str(cert.serial_number),
                        "kind": classify(cert)})
        return out
    except Exception as exc:
        raise DocflowError("Tệp PDF đã ký bị hỏng hoặc không đọc được chữ ký.", f"{type(exc).__name__}: {exc}") from exc


def own_fingerprints(session, sandbox_id: int, address: str) -> set[str]:
    """Fingerprints of ``address``'s own personal certificate(s) (signing's owner rule: a
    token may be held by someone else, the certificate still belongs to its owner)."""
    from signing.api import own_personal_fingerprint

    fp = own_personal_fingerprint(session, sandbox_id, address)
    return {fp} if fp else set()


def ensure_pki(runtime) -> None:
    """Make the installation's PKI (``signing.api.pki_for``) available to handlers (the
    automatic clerk signs inside an action and only sees ``ctx.services``)."""
    if PKI_SERVICE not in runtime.dispatcher.services:
        from signing.api import pki_for
        runtime.dispatcher.services[PKI_SERVICE] = pki_for(runtime)


def pki_of(services: dict) -> Any | None:
    return services.get(PKI_SERVICE)


def trust_of(services: dict):
    pki = pki_of(services)
    return pki.validation_context if pki is not None else None


_TSA: dict[int, Any] = {}


def timestamper_of(services: dict, when):
    """The PKI's in-process TSA answering with the in-world time ``when`` (the base
    time-stamper is built once per PKI: its certificate conversions cost ~30 ms)."""
    pki = pki_of(services)
    if pki is None:
        return None
    base = _TSA.get(id(pki))
    if base is None or base[0] is not pki:
        base = _TSA[id(pki)] = (pki, pki.timestamper())
    tsa = copy.copy(base[1])
    tsa.fixed_dt = sdoc.to_vn_time(when)
    return tsa


def chain_of(services: dict) -> tuple:
    pki = pki_of(services)
    return tuple(pki.chain) if pki is not None else ()


def leader_problem(pdf: bytes, *, own: set[str], signer_name: str, holders: dict[str, str], trust) -> str | None:
    """Why the leader signature of ``pdf`` is not acceptable for the organisation signature
    (Vietnamese), or None."""
    from signing.api import verify_pdf

    try:
        report = verify_pdf(pdf, validation_context=trust)
    except Exception as exc:  # SigningError: not a signed PDF
        return getattr(exc, "message_vi", "Không đọc được chữ ký số của văn bản.")
    leader = next((s for s in report.signatures if s.field == sdoc.LEADER_FIELD), None)
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


@lru_cache(maxsize=64)
def seal_image(org_name: str) -> bytes:
    """The organisation's red seal PNG at actual size (drawing one costs ~0.4 s: cached)."""
    from signing.api import seal_png
    return seal_png(org_name, sdoc.SEAL_MM)


def org_bundle_from_token(token, pin: str, chain: tuple = ()) -> CertBundle:
    return CertBundle(load_cert(token.cert_pem.encode()), decrypt_key(token.key_blob, pin), chain)


def cert_record(cert, field: str) -> dict:
    """The same shape as :func:`embedded` rows, from a ``cryptography`` certificate."""
    from cryptography.x509.oid import NameOID

    from signing.pki import to_asn1_cert

    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {"field": field, "fingerprint": fingerprint(cert), "signer": str(cn[0].value) if cn else "",
            "subject": to_asn1_cert(cert).subject.human_friendly, "serial": str(cert.serial_number),
            "kind": classify(cert)}


def npc_org_bundle(ctx, org, holder: str, pin: str) -> CertBundle:
    """The organisation certificate and key from the token the automatic clerk holds."""
    from signing.api import tokens_of

    tok = next((t for t in tokens_of(ctx.session, ctx.sandbox.id, holder) if t.id == org.org_token_id), None)
    if tok is None or tok.locked:
        raise DocflowError("Văn thư không dùng được thiết bị ký số của cơ quan.", f"org token {org.org_token_id}")
    return org_bundle_from_token(tok, pin, chain_of(ctx.services))


def org_sign(ctx, org, bundle: CertBundle, pdf: bytes, layout_json: dict, number_text: str,
             date_text: str) -> tuple[bytes, dict]:
    """The automatic clerk's fill + organisation signature: the released PDF and the
    signature's record (field and certificate)."""
    from .render import layout_from_json

    out = sdoc.release(pdf, layout_from_json(layout_json), bundle, seal_image(org.name), number_text,
                       date_text, timestamper=timestamper_of(ctx.services, ctx.now), when=ctx.now)
    return out, cert_record(bundle.cert, sdoc.ORG_FIELD)


def sign_attachments(blobs, services, bundle: CertBundle, attachments: list[dict], symbol: str,
                     when) -> tuple[list[dict], list[str]]:
    """The organisation signature on every separate PDF attachment (Decree 30 Phụ lục I
    II.8.b: top right of page 1, no image, number/symbol + ISO time). Returns the new
    attachment list (``blob`` = the signed file, ``original_blob`` kept, ``signed``) and the
    names that could not be signed (with the reason)."""
    from signing.api import sign_attachment

    out, failed = [], []
    for a in attachments:
        if a.get("signed") or a.get("content_type") != "application/pdf":
            out.append(a)
            continue
        try:
            signed = sign_attachment(blobs.get(a["blob"]), bundle, symbol,
                                     timestamper=timestamper_of(services, when), when=when)
        except Exception as exc:  # SigningError (a broken or encrypted PDF): keep it unsigned
            failed.append(f"{a['name']} ({getattr(exc, 'message_vi', type(exc).__name__)})")
            out.append(a)
            continue
        out.append({**a, "blob": blobs.put(signed), "size": len(signed), "original_blob": a["blob"], "signed": True})
    return out, failed


__all__ = ["embedded", "leader_problem", "org_sign", "pki_of", "trust_of", "timestamper_of", "chain_of",
           "fingerprint", "PKI_SERVICE", "ensure_pki", "own_fingerprints", "seal_image", "cert_record", "npc_org_bundle",
           "sign_attachments"]
