"""The public API of ``signing`` for the other packages (docflow, scenarios, grader, the web).

Other packages import from here only (DESIGN.md §2); the modules behind it may change.

* PKI: :class:`TestPKI`, :class:`CertBundle`, :func:`pki_for` (the installation's PKI: one
  root, issuing CA and TSA per data folder, shared by every process), :func:`classify`,
  :func:`fingerprint`.
* Tokens: :func:`provision` (``owner=`` for a certificate held by someone else),
  :func:`tokens_of`, :func:`open_token`, :func:`unlock`, :func:`certificates_for` (what the
  signing dialog lists), :func:`people_of` (fingerprint → in-world person, for the verifier).
* Documents (pure functions over PDF bytes): :func:`make_draft_pdf`, :func:`prepare_draft`,
  :func:`sign_leader`, :func:`release`, :func:`sign_attachment`, :func:`sign_copy`.
* :func:`sign_with_token`: open a token with its PIN and sign the leader field: what the
  signing dialog calls.
* Ready signers (what docflow calls): :func:`leader_signer` and :func:`organisation_signer`
  (a token opened with its PIN, on first use) and :func:`held_organisation_signer` (inside an
  action: the automatic clerk's token, opened with the PIN she keeps) give an object whose
  ``sign(pdf, ...)`` makes the leader's approval signature or the organisation's release
  signature, with the chain and the time-stamper of the runtime's PKI (:func:`use_pki`)
  assembled here. :func:`signatures_in` lists a PDF's signatures (no validation),
  :func:`trust_of` is the validation context signatures must chain to.
* Verifier: :func:`verify_pdf` and its :class:`Report`.
* Images: :func:`signature_png`, :func:`seal_png`.
* Errors: :class:`SigningError` (``message_vi`` for people).

Time-stamps: every signature made through :func:`sign_with_token` is PAdES B-T with the
installation's in-process TSA (``pki_for(runtime).timestamper()``) unless a ``timestamper`` is
given; the signing time is the sandbox clock (``runtime.clock``) unless ``when`` is given. The
ready signers time-stamp with the runtime's PKI at the in-world signing time (the TSA answers
with that time, so a signature made inside an action replays the same).
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from sqlalchemy import select

from .attachments import (ATTACHMENT_FIELD, COPY_FIELD, COPY_KINDS, sign_attachment,
                          sign_copy)
from .document import (DATE_FIELD, LEADER_FIELD, NUMBER_FIELD, ORG_FIELD, SEAL_MM, VN_TZ, Layout, Rect,
                       iso_time, make_draft_pdf, prepare_draft, release, sign_leader, to_vn_time)
from .errors import SigningError
from .fonts import font_path
from .files import find_file, record_file
from .images import seal_png, signature_png
from .models import SigningToken
from .pki import CertBundle, TestPKI, classify, decrypt_key, fingerprint, load_cert, to_asn1_cert
from .sandbox_pki import pki_for
from .tokens import holders_by_fingerprint, open_token, provision, tokens_of
from .verify import Report, verify_pdf

__all__ = [
    "TestPKI", "CertBundle", "pki_for", "classify", "fingerprint",
    "provision", "tokens_of", "open_token", "unlock", "certificates_for", "TokenView",
    "people_of", "holders_by_fingerprint", "own_personal_fingerprint", "token_view", "load_cert",
    "make_draft_pdf", "prepare_draft", "sign_leader", "release", "sign_attachment", "sign_copy",
    "sign_with_token", "check_signable", "sample_draft",
    "PKI_SERVICE", "use_pki", "installed_pki", "trust_of", "timestamper_at",
    "leader_signer", "organisation_signer", "held_organisation_signer", "LeaderSigner", "OrganisationSigner",
    "npc_organisation_signer", "signatures_in", "certificate_record", "token_certificate", "embeds_certificate",
    "verify_pdf", "Report", "signature_png", "seal_png", "SigningError",
    "record_file", "find_file",
    "Layout", "Rect", "LEADER_FIELD", "ORG_FIELD", "NUMBER_FIELD", "DATE_FIELD",
    "ATTACHMENT_FIELD", "COPY_FIELD", "COPY_KINDS", "VN_TZ", "iso_time", "font_path",
]


def unlock(dispatcher, sandbox_id: int, token_id: int, *, actor: str = "giamkhao") -> dict:
    """An examiner unlocks a token locked by wrong PINs."""
    return dispatcher.dispatch(sandbox_id, actor, "signing.unlock", {"token_id": token_id})


# --- what the dialog lists ------------------------------------------------------------------
@dataclass(frozen=True)
class TokenView:
    """One certificate on a person's token, as the signing dialog shows it."""

    id: int
    label: str
    common_name: str
    title: str
    unit: str
    organisation: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    kind: str            # personal | organisation
    owner: str
    fingerprint: str
    serial_hex: str
    locked: bool
    tries_left: int
    max_tries: int
    role_required: str | None

    @property
    def kind_vi(self) -> str:
        return "tổ chức" if self.kind == "organisation" else "cá nhân"


def _attr(name, oid) -> str:
    vals = name.get_attributes_for_oid(oid)
    return str(vals[0].value) if vals else ""


def _view(tok: SigningToken) -> TokenView:
    from cryptography.x509.oid import NameOID

    cert = load_cert(tok.cert_pem.encode())
    return TokenView(
        id=tok.id, label=tok.label, common_name=_attr(cert.subject, NameOID.COMMON_NAME),
        title=_attr(cert.subject, NameOID.TITLE),
        unit=_attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        organisation=_attr(cert.subject, NameOID.ORGANIZATION_NAME),
        issuer=_attr(cert.issuer, NameOID.COMMON_NAME),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        kind=tok.kind, owner=tok.owner or tok.holder, fingerprint=tok.fingerprint,
        serial_hex=format(cert.serial_number, "X"), locked=tok.locked,
        tries_left=tok.tries_left, max_tries=tok.max_tries, role_required=tok.role_required)


def certificates_for(session, sandbox_id: int, person: str,
                     role: str | None = None) -> list[TokenView]:
    """The certificates on ``person``'s tokens; a token that requires a role (the
    organisation's, ``"clerk"``) is listed only when ``role`` matches."""
    return [_view(t) for t in tokens_of(session, sandbox_id, person)
            if not t.role_required or t.role_required == role]


def token_view(session, sandbox_id: int, token_id: int) -> TokenView | None:
    tok = session.get(SigningToken, token_id)
    if tok is None or tok.sandbox_id != sandbox_id:
        return None
    return _view(tok)


def people_of(session, sandbox_id: int) -> dict[str, str]:
    """Certificate fingerprint → ``"<CN> (<owner address>)"`` for every token of the sandbox:
    the verifier's ``people`` (it names whose certificate signed)."""
    from cryptography.x509.oid import NameOID

    out: dict[str, str] = {}
    for tok in session.scalars(select(SigningToken).where(SigningToken.sandbox_id == sandbox_id)
                               .order_by(SigningToken.id)):
        if tok.fingerprint in out:
            continue
        cn = _attr(load_cert(tok.cert_pem.encode()).subject, NameOID.COMMON_NAME)
        owner = tok.owner or tok.holder
        out[tok.fingerprint] = f"{cn} ({owner})" if cn else owner
    return out


def own_personal_fingerprint(session, sandbox_id: int, person: str) -> str | None:
    """The fingerprint of ``person``'s own personal certificate (owner = holder = person)."""
    person = person.strip().lower()
    for tok in tokens_of(session, sandbox_id, person):
        if tok.kind == "personal" and (tok.owner or tok.holder) == person:
            return tok.fingerprint
    return None


# --- signing --------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _signature_image(name: str) -> bytes:
    return signature_png(name)


def check_signable(pdf: bytes, field: str = LEADER_FIELD) -> None:
    """Refuse, in Vietnamese, what cannot be signed on ``field``: not a PDF, an encrypted or
    broken PDF, no such signature field, a field already signed."""
    from pyhanko.sign import fields

    from .pdfread import open_pdf, quiet

    with quiet():
        r = open_pdf(pdf)
        try:
            found = [(n, v) for n, v, _ in fields.enumerate_sig_fields(r, filled_status=None)]
        except Exception as exc:
            raise SigningError("Tệp PDF bị hỏng, không đọc được các trường chữ ký.",
                               f"{type(exc).__name__}: {exc}") from exc
    state = dict(found)
    if field not in state:
        raise SigningError("Tệp PDF không có ô chữ ký trống dành cho lãnh đạo (trường "
                           f"{field}): hãy dùng bản dự thảo đã được chuẩn bị để ký số.",
                           f"no field {field}")
    if state[field] is not None:
        raise SigningError(f"Ô chữ ký {field} của văn bản đã được ký; không ký lại.",
                           f"{field} already signed")


def sign_with_token(runtime, sandbox_id: int, token_id: int, pin: str, pdf: bytes, *,
                    actor: str, role: str | None = None, timestamper=None,
                    when: dt.datetime | None = None) -> bytes:
    """Sign ``pdf``'s leader field (``SigLanhDao``) with the certificate on a token.

    The PDF is checked first (a refusal costs no PIN try), then the token is opened with the
    PIN through :func:`open_token` (wrong PIN → :class:`SigningError` "Sai mã PIN. Còn N lần
    thử.", locked token, token of another sandbox → ``NotFound``, organisation token without
    the clerk role), then :func:`sign_leader` with the blue signature image of the
    certificate's common name. PAdES B-T with the installation's TSA by default."""
    signer = LeaderSigner(_opener(runtime, sandbox_id, token_id, pin, actor=actor, role=role), pki_for(runtime),
                          runtime.clock.now, tsa=lambda pki, _when: timestamper or pki.timestamper())
    return signer.sign(pdf, when=when)


# --- ready signers --------------------------------------------------------------------------
#: where a runtime keeps the PKI of its signers: ``runtime.dispatcher.services`` (an action's
#: handler sees the same dict as ``ctx.services``, so the automatic clerk finds it there)
PKI_SERVICE = "signing_pki"


def use_pki(runtime, pki: TestPKI | None = None) -> TestPKI:
    """The PKI of the signers handed out for ``runtime`` (and of signatures made inside its
    actions): ``pki`` when given (it replaces the one used so far), else the one already in
    use, else the installation's (:func:`pki_for`). Returns it."""
    services = runtime.dispatcher.services
    if pki is not None:
        services[PKI_SERVICE] = pki
    elif PKI_SERVICE not in services:
        services[PKI_SERVICE] = pki_for(runtime)
    return services[PKI_SERVICE]


def installed_pki(services: dict) -> TestPKI | None:
    """The PKI :func:`use_pki` put in ``services`` (``ctx.services`` in an action), or None."""
    return services.get(PKI_SERVICE)


def trust_of(services: dict):
    """What signatures must chain to (the installed PKI's validation context, for
    :func:`verify_pdf`), or None without a PKI (intact/valid and fingerprints only)."""
    pki = installed_pki(services)
    return pki.validation_context if pki is not None else None


_TSA: dict[int, tuple[TestPKI, Any]] = {}


def timestamper_at(pki: TestPKI | None, when: dt.datetime):
    """``pki``'s in-process TSA answering with the in-world time ``when`` (None without a
    PKI). The base time-stamper is built once per PKI: its certificate conversions cost ~30 ms."""
    if pki is None:
        return None
    base = _TSA.get(id(pki))
    if base is None or base[0] is not pki:
        base = _TSA[id(pki)] = (pki, pki.timestamper())
    tsa = copy.copy(base[1])
    tsa.fixed_dt = to_vn_time(when)
    return tsa


def _opener(runtime, sandbox_id: int, token_id: int, pin: str, *, actor: str,
            role: str | None) -> Callable[[], tuple]:
    return lambda: open_token(runtime, sandbox_id, token_id, pin, actor=actor, role=role)


class _TokenSigner:
    """A certificate on a token with the chain and time-stamper of a PKI. The token is opened
    (PIN checked, wrong tries recorded) on first use, so a refusal before signing costs no try."""

    def __init__(self, opener: Callable[[], tuple], pki: TestPKI | None, now: Callable[[], dt.datetime], *,
                 tsa: Callable[[TestPKI | None, dt.datetime], Any] = timestamper_at):
        self._opener = opener
        self.pki = pki
        self._now = now
        self._tsa = tsa
        self._bundle: CertBundle | None = None

    def _chain(self, cert) -> tuple:
        """The chain to embed: the PKI's, for a certificate its issuing CA issued."""
        pki = self.pki
        return tuple(pki.chain) if pki is not None and cert.issuer == pki.issuing_ca.cert.subject else ()

    @property
    def bundle(self) -> CertBundle:
        """The certificate, key and chain (the token is opened the first time)."""
        if self._bundle is None:
            cert, key = self._opener()
            self._bundle = CertBundle(cert, key, self._chain(cert))
        return self._bundle

    def open(self):
        """Open the token now (the PIN is checked, a wrong one recorded); returns the signer."""
        self.bundle
        return self

    def record(self, field: str) -> dict:
        """The signature's certificate in the shape of :func:`signatures_in` rows."""
        return certificate_record(self.bundle.cert, field)

    def _at(self, when: dt.datetime | None) -> tuple[dt.datetime, Any]:
        """The signing time (default: the clock) and the time-stamper answering with it."""
        when = when or self._now()
        return when, self._tsa(self.pki, when)


@lru_cache(maxsize=64)
def _seal_image(org_name: str) -> bytes:
    """The organisation's red seal PNG at actual size (drawing one costs ~0.4 s: cached)."""
    return seal_png(org_name, SEAL_MM)


class LeaderSigner(_TokenSigner):
    """The leader's approval signature (``SigLanhDao``) with the blue signature image."""

    def sign(self, pdf: bytes, *, when: dt.datetime | None = None) -> bytes:
        check_signable(pdf)  # before the token is opened: a refusal costs no PIN try
        bundle = self.bundle
        when, tsa = self._at(when)
        return sign_leader(pdf, None, bundle, _signature_image(bundle.common_name or "?"),
                           timestamper=tsa, when=when)


class OrganisationSigner(_TokenSigner):
    """The organisation's release signature (``SigToChuc``, the red seal of ``seal_name`` at
    actual size) and its signature on separate attachments. The organisation certificate is
    always one the PKI issued (world building), so the PKI's chain is embedded."""

    def __init__(self, opener, pki, now, seal_name: str):
        super().__init__(opener, pki, now)
        self.seal_name = seal_name

    def _chain(self, cert) -> tuple:
        return tuple(self.pki.chain) if self.pki is not None else ()

    def sign(self, pdf: bytes, *, layout: Layout, number: str, date_text: str,
             when: dt.datetime | None = None) -> bytes:
        """Fill the number and date fields (form filling) and sign the organisation field."""
        bundle = self.bundle
        when, tsa = self._at(when)
        return release(pdf, layout, bundle, _seal_image(self.seal_name), number, date_text,
                       timestamper=tsa, when=when)

    def sign_attachment(self, pdf: bytes, number_symbol: str, *, when: dt.datetime | None = None) -> bytes:
        """Decree 30 Phụ lục I II.8.b: top right of page 1, no image, number/symbol + time."""
        bundle = self.bundle
        when, tsa = self._at(when)
        return sign_attachment(pdf, bundle, number_symbol, timestamper=tsa, when=when)


def leader_signer(runtime, sandbox_id: int, token_id: int, pin: str, *, actor: str,
                  role: str | None = None) -> LeaderSigner:
    """A ready signer for the leader's approval: the token opened with ``pin`` when it first
    signs (:func:`open_token`: wrong PINs recorded, locked tokens refused), the runtime's PKI
    (:func:`use_pki`) for the chain and an in-process time-stamp at the sandbox clock."""
    return LeaderSigner(_opener(runtime, sandbox_id, token_id, pin, actor=actor, role=role), use_pki(runtime),
                        runtime.clock.now)


def organisation_signer(runtime, sandbox_id: int, token_id: int, pin: str, *, actor: str,
                        seal_name: str) -> OrganisationSigner:
    """A ready signer for the organisation (a person playing the clerk): the organisation token
    opened with ``pin`` and the clerk role when it first signs, the runtime's PKI, the seal of
    ``seal_name``."""
    return OrganisationSigner(_opener(runtime, sandbox_id, token_id, pin, actor=actor, role="clerk"),
                              use_pki(runtime), runtime.clock.now, seal_name)


def held_organisation_signer(ctx, token_id: int, pin: str, *, holder: str,
                             seal_name: str) -> OrganisationSigner | None:
    """Inside an action (the automatic clerk, who cannot dispatch the PIN bookkeeping of
    :func:`open_token`): the organisation signer of the token ``token_id`` that ``holder``
    holds, its key decrypted with ``pin`` now (a wrong PIN raises :class:`SigningError`), the
    PKI of ``ctx.services``, the action's time. None when ``holder`` holds no such token or it
    is locked."""
    tok = next((t for t in tokens_of(ctx.session, ctx.sandbox.id, holder) if t.id == token_id), None)
    if tok is None or tok.locked:
        return None
    cert, key = load_cert(tok.cert_pem.encode()), decrypt_key(tok.key_blob, pin)
    return OrganisationSigner(lambda: (cert, key), installed_pki(ctx.services), lambda: ctx.now, seal_name)


def npc_organisation_signer(runtime, sandbox_id: int, token_id: int, pin: str, *, holder: str,
                            seal_name: str) -> OrganisationSigner | None:
    """Outside an action (the automatic clerk's background job): the organisation signer of the
    token ``token_id`` that ``holder`` holds, its key decrypted with the PIN she keeps (no PIN
    bookkeeping: a wrong PIN raises :class:`SigningError`), the runtime's PKI, the sandbox
    clock unless a time is given. None when ``holder`` holds no such token or it is locked."""
    with runtime.db.read() as s:
        tok = next((t for t in tokens_of(s, sandbox_id, holder) if t.id == token_id), None)
        if tok is None or tok.locked:
            return None
        cert_pem, key_blob = tok.cert_pem, tok.key_blob
    cert, key = load_cert(cert_pem.encode()), decrypt_key(key_blob, pin)
    return OrganisationSigner(lambda: (cert, key), use_pki(runtime), runtime.clock.now, seal_name)


def token_certificate(session, sandbox_id: int, fingerprint: str):
    """The certificate (``cryptography``) of a token of the sandbox with this SHA-256
    fingerprint, or None: what an action recording a signature knows of its certificate."""
    pem = session.scalar(select(SigningToken.cert_pem).where(SigningToken.sandbox_id == sandbox_id,
                                                             SigningToken.fingerprint == fingerprint)
                         .order_by(SigningToken.id).limit(1))
    return load_cert(pem.encode()) if pem else None


def embeds_certificate(data: bytes, since: int, cert) -> bool:
    """Whether the bytes of ``data`` after offset ``since`` (an incremental update of the file
    that was ``since`` bytes long) embed ``cert``: a signature's CMS carries its signer's
    certificate, written in hexadecimal in the signature's ``/Contents``. A byte search (well
    under a millisecond): cheap enough for an action's transaction, where parsing the PDF
    (pyHanko) is not."""
    from cryptography.hazmat.primitives.serialization import Encoding

    der = cert.public_bytes(Encoding.DER).hex().encode()
    return data.find(der.upper(), since) >= 0 or data.find(der, since) >= 0


def _cn(name) -> str:
    try:
        return name.native.get("common_name") or name.human_friendly
    except Exception:
        return ""


def signatures_in(pdf: bytes) -> list[dict]:
    """``[{field, fingerprint, signer, subject, serial, kind}]`` of the signatures embedded in
    ``pdf``, in signing order, without validating them. Unreadable input raises."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    r = PdfFileReader(io.BytesIO(pdf))
    out = []
    for sig in r.embedded_signatures:
        cert = sig.signer_cert
        out.append({"field": sig.field_name, "fingerprint": cert.sha256.hex(), "signer": _cn(cert.subject),
                    "subject": cert.subject.human_friendly, "serial": str(cert.serial_number),
                    "kind": classify(cert)})
    return out


def certificate_record(cert, field: str) -> dict:
    """The same shape as :func:`signatures_in` rows, from a ``cryptography`` certificate."""
    from cryptography.x509.oid import NameOID

    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {"field": field, "fingerprint": fingerprint(cert), "signer": str(cn[0].value) if cn else "",
            "subject": to_asn1_cert(cert).subject.human_friendly, "serial": str(cert.serial_number),
            "kind": classify(cert)}


SAMPLE_ORG = "SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ"
SAMPLE_TITLE = "CÔNG VĂN\nV/v triển khai ứng dụng chữ ký số chuyên dùng công vụ"
SAMPLE_BODY = [
    "Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác "
    "văn thư, Sở Nội vụ đề nghị các phòng, đơn vị thuộc Sở triển khai ký số văn bản điện tử.",
    "Văn bản điện tử phải được ký số hai lớp: lãnh đạo ký trước, văn thư ký số của cơ quan khi "
    "phát hành.",
]


def sample_draft(signer_name: str, signer_title: str = "GIÁM ĐỐC",
                 org_name: str = SAMPLE_ORG) -> bytes:
    """A prepared sample draft (fields ready) for ``signer_name`` to practise signing."""
    pdf, layout = make_draft_pdf(org_name, SAMPLE_TITLE, SAMPLE_BODY, signer_title,
                                 signer_name)
    return prepare_draft(pdf, layout)
