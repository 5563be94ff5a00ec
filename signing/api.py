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
  signing dialog and docflow's "Ký duyệt" call.
* Verifier: :func:`verify_pdf` and its :class:`Report`.
* Images: :func:`signature_png`, :func:`seal_png`.
* Errors: :class:`SigningError` (``message_vi`` for people).

Time-stamps: every signature made through :func:`sign_with_token` is PAdES B-T with the
installation's in-process TSA (``pki_for(runtime).timestamper()``) unless a ``timestamper`` is
given; the signing time is the sandbox clock (``runtime.clock``) unless ``when`` is given.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select

from .attachments import (ATTACHMENT_FIELD, COPY_FIELD, COPY_KINDS, sign_attachment,
                          sign_copy)
from .document import (DATE_FIELD, LEADER_FIELD, NUMBER_FIELD, ORG_FIELD, VN_TZ, Layout, Rect,
                       iso_time, make_draft_pdf, prepare_draft, release, sign_leader)
from .errors import SigningError
from .fonts import font_path
from .files import find_file, record_file
from .images import seal_png, signature_png
from .models import SigningToken
from .pki import CertBundle, TestPKI, classify, fingerprint, load_cert
from .sandbox_pki import pki_for
from .tokens import holders_by_fingerprint, open_token, provision, tokens_of
from .verify import Report, verify_pdf

__all__ = [
    "TestPKI", "CertBundle", "pki_for", "classify", "fingerprint",
    "provision", "tokens_of", "open_token", "unlock", "certificates_for", "TokenView",
    "people_of", "holders_by_fingerprint", "own_personal_fingerprint", "token_view", "load_cert",
    "make_draft_pdf", "prepare_draft", "sign_leader", "release", "sign_attachment", "sign_copy",
    "sign_with_token", "check_signable", "sample_draft",
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

    from .verify import _open, _quiet

    with _quiet():
        r = _open(pdf)
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
    check_signable(pdf)
    cert, key = open_token(runtime, sandbox_id, token_id, pin, actor=actor, role=role)
    pki = pki_for(runtime)
    chain = pki.chain if cert.issuer == pki.issuing_ca.cert.subject else ()
    bundle = CertBundle(cert, key, chain)
    if timestamper is None:
        timestamper = pki.timestamper()
    when = when or runtime.clock.now()
    return sign_leader(pdf, None, bundle, _signature_image(bundle.common_name or "?"),
                       timestamper=timestamper, when=when)


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
