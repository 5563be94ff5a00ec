"""The verifier: every signature of a PDF, in order, judged and explained in Vietnamese.

::

    report = verify_pdf(pdf_bytes, validation_context=pki.validation_context,
                        people={leader.sha256: "Nguyễn Văn An"},
                        expected_leader_fingerprint=leader.sha256)
    report.status            # "valid" | "incomplete" | "invalid"
    report.to_json()         # plain dict (json.dumps-able)

``validation_context`` is a pyHanko ``ValidationContext`` or, better, a zero-argument
callable returning a fresh one (SIGNING.md pitfall 8: one fresh context per signature),
e.g. ``TestPKI.validation_context``. Without it nothing is trusted (no trust anchor is given,
the operating system's store is never consulted) and ``trusted`` is ``False`` everywhere.

Only pyHanko judges what changed after each signature (diff analysis); pdfsig and qpdf
cannot (SIGNING.md §3).

Unusable input raises :class:`~signing.errors.SigningError` with a one-line Vietnamese
``message_vi``: not a PDF, an encrypted PDF, a truncated or corrupt file, a PDF without any
signature field.

JSON form (``Report.to_json()``)
--------------------------------

``status``
    ``"valid"``: every signature intact, valid, trusted, not revoked, nothing forbidden
    changed after it, every verdict ok and no signature field left empty;
    ``"incomplete"``: nothing wrong so far but a signature field is still empty (the leader
    signed, the clerk has not released yet); ``"invalid"``: anything else.
``document_kind``
    ``"decree30"`` (a document with the ``SigLanhDao``/``SigToChuc`` fields),
    ``"attachment"`` (a separate attachment signed on ``SigPhuLuc``), ``"copy"`` (an
    electronic copy signed on ``SigBanSao``) or ``"other"``.
``signatures``: list, in signing order (revision order of the file), each with
    ``field`` (field name), ``page`` (0-based page index of the widget, ``null`` if unknown),
    ``rect`` (``[x1, y1, x2, y2]`` in PDF points, ``null`` for an invisible field),
    ``signer`` (subject common name), ``subject`` (whole subject, RFC 4514 style),
    ``issuer`` (issuer common name), ``fingerprint`` (certificate SHA-256, lower-case hex),
    ``kind`` (``"personal"``, ``"organisation"`` or ``null``: :func:`signing.pki.classify`),
    ``person`` (the in-world person the certificate belongs to, from ``people``, or ``null``),
    ``signing_time`` (signer-reported time, ISO 8601 with ``+07:00``, or ``null``),
    ``timestamp_time`` (time in the RFC 3161 time-stamp token, ``+07:00``, or ``null``),
    ``timestamp_ok`` (token intact, valid and trusted; ``null`` without a token),
    ``intact``, ``valid``, ``trusted``, ``revoked`` (booleans; ``revoked`` is only ``true``
    when the validation context holds a CRL listing the certificate),
    ``trust_problem`` (pyHanko's AdES sub-indication name or ``null``),
    ``modification_level`` (pyHanko's name: ``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``,
    ``ANNOTATIONS``, ``OTHER``, or ``null`` when it could not be determined),
    ``modification_vi`` (the same in plain Vietnamese), ``docmdp_ok`` (boolean or ``null``),
    ``coverage`` (``ENTIRE_FILE``, ``ENTIRE_REVISION``, ...), ``coverage_vi``,
    ``revision`` (the file revision the signature covers), ``ok`` (this signature is
    acceptable), ``error`` (why validation itself failed, or ``null``).
``empty_fields``: list of ``{"field", "page", "rect"}`` for unsigned signature fields.
``verdicts``: list of ``{"code", "ok", "message"}`` (message in Vietnamese). Codes:
    ``two_layers``, ``order``, ``unchanged_after_leader``, ``leader_is_expected_person``,
    ``organisation_field_has_organisation_cert``, ``trusted``, ``not_revoked``, ``intact``,
    ``seal_placement`` (also ``value``: the share of the leader box's width covered by the
    seal box), ``attachment_organisation_cert`` and ``attachment_placement`` (a signed
    ``SigPhuLuc``), ``copy_organisation_cert`` and ``copy_placement`` (a signed
    ``SigBanSao``). A verdict that cannot be judged is left out: ``order`` and ``seal_placement``
    need both layers, ``leader_is_expected_person`` needs ``expected_leader_fingerprint``,
    the organisation-field verdict needs a signed organisation field, and the two-layer
    verdicts (``two_layers``, ``order``, ``unchanged_after_leader``, ``seal_placement``) are
    only given for a Decree 30 document: one with a ``SigLanhDao`` field or a personal
    signature (a separately signed attachment carries the organisation signature alone).
"""
from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from . import document as doc
from . import pki
from .errors import SigningError

__all__ = ["SignatureInfo", "EmptyField", "Verdict", "Report", "verify_pdf",
           "MODIFICATION_VI", "COVERAGE_VI", "SEAL_OVERLAP_RANGE"]

#: pyHanko modification level -> plain Vietnamese.
MODIFICATION_VI = {
    "NONE": "không có thay đổi nào sau khi ký",
    "LTA_UPDATES": "chỉ bổ sung dữ liệu kiểm tra dài hạn (dấu thời gian, thông tin thu hồi)",
    "FORM_FILLING": "chỉ điền biểu mẫu (số, ngày) và ký tiếp vào trường chữ ký sau khi ký",
    "ANNOTATIONS": "có thêm hoặc sửa chú thích (annotation) sau khi ký",
    "OTHER": "nội dung văn bản đã bị thay đổi sau khi ký",
}
COVERAGE_VI = {
    "ENTIRE_FILE": "toàn bộ tệp",
    "ENTIRE_REVISION": "toàn bộ phiên bản tại thời điểm ký (tệp được bổ sung sau đó)",
    "CONTIGUOUS_BLOCK_FROM_START": "một phần liên tục từ đầu tệp",
    "UNCLEAR": "không rõ phạm vi",
}
#: Acceptable share of the leader box's width covered by the seal (about one third).
SEAL_OVERLAP_RANGE = (0.2, 0.45)

_QUIET_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools")


@dataclass
class SignatureInfo:
    field: str
    page: int | None
    rect: list[float] | None
    signer: str
    subject: str
    issuer: str
    fingerprint: str
    kind: str | None
    person: str | None
    signing_time: str | None
    timestamp_time: str | None
    timestamp_ok: bool | None
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    trust_problem: str | None
    modification_level: str | None
    modification_vi: str
    docmdp_ok: bool | None
    coverage: str | None
    coverage_vi: str
    revision: int | None
    ok: bool
    error: str | None = None

    @property
    def who(self) -> str:
        """The person (when known) or the certificate's common name."""
        return self.person or self.signer or self.fingerprint[:16]


@dataclass
class EmptyField:
    field: str
    page: int | None
    rect: list[float] | None


@dataclass
class Verdict:
    code: str
    ok: bool
    message: str
    value: float | None = None


@dataclass
class Report:
    status: str
    document_kind: str = "other"
    signatures: list[SignatureInfo] = field(default_factory=list)
    empty_fields: list[EmptyField] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    def verdict(self, code: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.code == code), None)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for v in out["verdicts"]:
            if v["value"] is None:
                del v["value"]
        return out


# --- reading -------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet():
    saved = []
    for name in _QUIET_LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, lg.level))
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def _open(data: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SigningError("Dữ liệu đầu vào không phải là tệp PDF.", "not bytes")
    data = bytes(data)
    if not data.strip():
        raise SigningError("Tệp rỗng, không phải là tệp PDF.", "empty input")
    if b"%PDF-" not in data[:1024]:
        raise SigningError("Tệp không phải là tệp PDF (thiếu phần đầu %PDF-).",
                           "no %PDF- header in the first 1024 bytes")
    try:
        r = PdfFileReader(io.BytesIO(data))
    except Exception as exc:
        raise _corrupt(exc) from exc
    try:
        encrypted = r.encrypted
    except Exception as exc:
        raise _corrupt(exc) from exc
    if encrypted:
        raise SigningError("Tệp PDF đã bị mã hóa (đặt mật khẩu): không kiểm tra được chữ ký "
                           "số; hãy dùng bản không mã hóa.", "encrypted PDF")
    return r


def _corrupt(exc: BaseException) -> SigningError:
    return SigningError("Tệp PDF bị cắt cụt hoặc bị hỏng, không đọc được cấu trúc tệp.",
                        f"{type(exc).__name__}: {exc}")


def _page_refs(r) -> list[tuple[int, int]]:
    """(idnum, generation) of every page, in page order."""
    from pyhanko.pdf_utils import generic

    out: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()

    def walk(node_ref, depth=0):
        if depth > 64 or not isinstance(node_ref, generic.IndirectObject):
            return
        key = (node_ref.idnum, node_ref.generation)
        if key in seen:
            return
        seen.add(key)
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node.get("/Kids", []):
                walk(kid, depth + 1)
        else:
            out.append(key)

    walk(r.root.raw_get("/Pages"))
    return out


def _widget(field_obj):
    """The field's widget: the field itself when merged, else its first kid."""
    if "/Rect" in field_obj:
        return field_obj
    kids = field_obj.get("/Kids")
    if kids:
        return kids[0].get_object()
    return field_obj


def _rect_and_page(r, pages, field_obj, field_ref=None):
    from pyhanko.pdf_utils import generic

    w = _widget(field_obj)
    rect = None
    try:
        vals = [float(v) for v in w["/Rect"]]
        x1, y1, x2, y2 = vals
        rect = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
        if rect[2] - rect[0] <= 0 or rect[3] - rect[1] <= 0:
            rect = None  # invisible signature
    except Exception:
        rect = None
    page = None
    p = w.raw_get("/P") if "/P" in w else None
    if isinstance(p, generic.IndirectObject):
        key = (p.idnum, p.generation)
        if key in pages:
            page = pages.index(key)
    if page is None:
        # find the page whose /Annots holds the widget
        try:
            kids = field_obj.raw_get("/Kids") if "/Kids" in field_obj else None
            wref = kids[0] if kids else field_ref
            if isinstance(wref, generic.IndirectObject):
                target = (wref.idnum, wref.generation)
                for i, (idn, gen) in enumerate(pages):
                    pg = generic.IndirectObject(idn, gen, r).get_object()
                    for a in pg.get("/Annots", []) if "/Annots" in pg else []:
                        if isinstance(a, generic.IndirectObject) and \
                                (a.idnum, a.generation) == target:
                            page = i
                            break
                    if page is not None:
                        break
        except Exception:
            page = None
    return rect, page


# --- one signature ---------------------------------------------------------------------------
def _fresh_context(validation_context):
    from pyhanko_certvalidator import ValidationContext

    if validation_context is None:
        # an empty trust list (never the OS store): every chain is untrusted
        return ValidationContext(trust_roots=[], allow_fetching=False)
    if callable(validation_context) and not isinstance(validation_context, ValidationContext):
        return validation_context()
    return validation_context


def _cn(name) -> str:
    try:
        native = name.native
        cn = native.get("common_name")
        if isinstance(cn, list):
            cn = cn[-1]
        return pki.nfc(str(cn)) if cn else ""
    except Exception:
        return ""


def _vn_iso(when) -> str | None:
    if when is None:
        return None
    return doc.iso_time(when)


def _signature_info(r, pages, sig, ctx_source, people: dict[str, str]) -> tuple[SignatureInfo, Any]:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature

    cert = sig.signer_cert
    fp = cert.sha256.hex()
    kind = pki.classify(cert)
    try:
        subject = cert.subject.human_friendly
    except Exception:
        subject = ""
    rect, page = _rect_and_page(r, pages, sig.sig_field, getattr(sig, "sig_field_ref", None))
    base = dict(field=str(sig.field_name), page=page, rect=rect, signer=_cn(cert.subject),
                subject=subject, issuer=_cn(cert.issuer), fingerprint=fp, kind=kind,
                person=people.get(fp))
    try:
        revision = sig.signed_revision
    except Exception:
        revision = None
    try:
        st = validate_pdf_signature(sig, _fresh_context(ctx_source))
    except Exception as exc:
        return SignatureInfo(
            **base, signing_time=None, timestamp_time=None, timestamp_ok=None, intact=False,
            valid=False, trusted=False, revoked=False, trust_problem=None,
            modification_level=None, modification_vi="không xác định được",
            docmdp_ok=None, coverage=None, coverage_vi="không xác định được",
            revision=revision, ok=False,
            error=f"{type(exc).__name__}: {exc}"), None
    ts = st.timestamp_validity
    level = st.modification_level
    cov = st.coverage.name if st.coverage is not None else None
    revoked = bool(st.revoked)
    ok = bool(st.bottom_line and not revoked and level is not None
              and level <= ModificationLevel.FORM_FILLING)
    info = SignatureInfo(
        **base,
        signing_time=_vn_iso(st.signer_reported_dt),
        timestamp_time=_vn_iso(ts.timestamp) if ts is not None else None,
        timestamp_ok=(bool(ts.intact and ts.valid and ts.trusted) if ts is not None else None),
        intact=bool(st.intact), valid=bool(st.valid), trusted=bool(st.trusted),
        revoked=revoked,
        trust_problem=(st.trust_problem_indic.name if st.trust_problem_indic else None),
        modification_level=level.name if level is not None else None,
        modification_vi=(MODIFICATION_VI.get(level.name, level.name) if level is not None
                         else "không xác định được (chữ ký đã hỏng)"),
        docmdp_ok=st.docmdp_ok, coverage=cov, coverage_vi=COVERAGE_VI.get(cov or "", "không rõ"),
        revision=revision, ok=ok)
    return info, st


# --- verdicts ---------------------------------------------------------------------------------
def _seal_overlap(leader: list[float], seal: list[float]) -> float:
    lw = leader[2] - leader[0]
    if lw <= 0:
        return 0.0
    return max(0.0, min(leader[2], seal[2]) - max(leader[0], seal[0])) / lw


def _name_of(s: SignatureInfo) -> str:
    kind = {"personal": "chứng thư số cá nhân", "organisation": "chứng thư số cơ quan, tổ chức"}
    return f"{kind.get(s.kind or '', 'chứng thư số')} của {s.who}"


#: Field names of the organisation signature on a separate attachment and on an electronic
#: copy (signing.attachments): one organisation signature alone makes such a file complete.
_SEPARATE_FIELDS = {"SigPhuLuc": "attachment", "SigBanSao": "copy"}
_SEPARATE_VI = {"attachment": "tệp đính kèm (phụ lục)", "copy": "bản sao điện tử"}


def _separate_verdicts(fname: str, sig: SignatureInfo,
                       page_box: tuple[float, float, float, float] | None = None) -> list[Verdict]:
    """An attachment's or a copy's signature: organisation certificate, top right of page 1."""
    what = _SEPARATE_VI[_SEPARATE_FIELDS[fname]]
    code = _SEPARATE_FIELDS[fname]
    out = []
    if sig.kind == "organisation":
        out.append(Verdict(f"{code}_organisation_cert", True,
                           f"Chữ ký số trên {what} dùng chứng thư số của cơ quan, tổ chức "
                           f"({sig.signer})."))
    else:
        out.append(Verdict(f"{code}_organisation_cert", False,
                           f"Chữ ký số trên {what} lại dùng {_name_of(sig)}; phải dùng chứng "
                           "thư số của cơ quan, tổ chức do văn thư quản lý."))
    if sig.rect is None or sig.page is None:
        out.append(Verdict(f"{code}_placement", False,
                           f"Chữ ký số trên {what} không hiển thị (chữ ký ẩn); phải đặt ở góc "
                           "trên, bên phải trang đầu."))
    elif sig.page != 0:
        out.append(Verdict(f"{code}_placement", False,
                           f"Chữ ký số trên {what} nằm ở trang {sig.page + 1}; phải đặt ở góc "
                           "trên, bên phải trang đầu."))
    elif page_box is not None and not _top_right(sig.rect, page_box):
        out.append(Verdict(f"{code}_placement", False,
                           f"Chữ ký số trên {what} không nằm ở góc trên, bên phải trang đầu."))
    else:
        out.append(Verdict(f"{code}_placement", True,
                           f"Chữ ký số trên {what} nằm ở góc trên, bên phải trang đầu."))
    return out


def _top_right(rect: list[float], box: tuple[float, float, float, float]) -> bool:
    """The rectangle's centre lies in the right half and its top in the top fifth."""
    x1, y1, x2, y2 = box
    cx = (rect[0] + rect[2]) / 2
    return cx > (x1 + x2) / 2 and rect[3] > y2 - (y2 - y1) / 5


def _verdicts(sigs: list[SignatureInfo], empty: list[EmptyField], field_names: set[str],
              people: dict[str, str], expected: str | None,
              has_anchor: bool = True,
              first_page: tuple[float, float, float, float] | None = None) -> list[Verdict]:
    from pyhanko.sign.diff_analysis import ModificationLevel

    out: list[Verdict] = []
    by_field = {s.field: s for s in sigs}
    leader = by_field.get(doc.LEADER_FIELD) or next(
        (s for s in sigs if s.kind == "personal"), None)
    org = by_field.get(doc.ORG_FIELD)
    if org is None:
        org = next((s for s in sigs if s.kind == "organisation" and s is not leader), None)
    empty_names = {e.field for e in empty}
    separate = {doc_field: by_field.get(doc_field) for doc_field in _SEPARATE_FIELDS}
    decree30 = doc.LEADER_FIELD in field_names or any(
        s.kind == "personal" for s in sigs if s.field not in _SEPARATE_FIELDS)
    if decree30:
        leader = by_field.get(doc.LEADER_FIELD) or next(
            (s for s in sigs if s.kind == "personal" and s.field not in _SEPARATE_FIELDS), None)
        if org is not None and org.field in _SEPARATE_FIELDS:
            org = next((s for s in sigs if s.kind == "organisation" and s is not leader
                        and s.field not in _SEPARATE_FIELDS), None)

    if decree30:
        has_personal = leader is not None and leader.kind == "personal"
        has_org = any(s.kind == "organisation" for s in sigs
                      if s is not leader and s.field not in _SEPARATE_FIELDS)
        if has_personal and has_org:
            out.append(Verdict("two_layers", True,
                               "Đủ hai lớp chữ ký số: lãnh đạo (cá nhân) và cơ quan, tổ chức."))
        elif not has_personal and leader is None:
            out.append(Verdict("two_layers", False,
                               "Thiếu chữ ký số của lãnh đạo (lớp thứ nhất, chứng thư số cá "
                               "nhân)" + (" - trường SigLanhDao còn trống."
                                          if doc.LEADER_FIELD in empty_names else ".")))
        elif not has_personal:
            out.append(Verdict("two_layers", False,
                               "Lớp thứ nhất không phải chữ ký cá nhân của lãnh đạo: "
                               f"{_name_of(leader)}."))
        else:
            where = (" (trường SigToChuc còn trống, chờ văn thư phát hành)"
                     if doc.ORG_FIELD in empty_names else "")
            out.append(Verdict("two_layers", False,
                               "Văn bản mới có một lớp chữ ký (của lãnh đạo); còn thiếu chữ ký "
                               f"số của cơ quan, tổ chức{where}."))

        if leader is not None and org is not None:
            if leader.revision is not None and org.revision is not None \
                    and leader.revision < org.revision:
                out.append(Verdict("order", True,
                                   "Đúng thứ tự: lãnh đạo ký trước, cơ quan, tổ chức ký sau."))
            else:
                out.append(Verdict("order", False,
                                   "Sai thứ tự ký: chữ ký số của cơ quan, tổ chức có trước chữ "
                                   "ký của lãnh đạo; lãnh đạo phải ký trước, văn thư ký số của "
                                   "cơ quan sau cùng khi phát hành."))

        if leader is not None:
            lvl = leader.modification_level
            ok_lvl = lvl is not None and ModificationLevel[lvl] <= ModificationLevel.FORM_FILLING
            if ok_lvl and leader.docmdp_ok:
                out.append(Verdict("unchanged_after_leader", True,
                                   "Sau khi lãnh đạo ký chỉ có điền số, ngày và chữ ký số của cơ "
                                   "quan: nội dung không bị thay đổi."))
            elif lvl is None:
                out.append(Verdict("unchanged_after_leader", False,
                                   "Không xác định được những gì thay đổi sau khi lãnh đạo ký vì "
                                   "chữ ký của lãnh đạo đã hỏng."))
            else:
                out.append(Verdict("unchanged_after_leader", False,
                                   "Văn bản đã bị sửa sau khi lãnh đạo ký "
                                   f"({MODIFICATION_VI.get(lvl, lvl)}): chữ ký của lãnh đạo "
                                   "không còn giá trị. Sau khi lãnh đạo ký chỉ được điền số, "
                                   "ngày (điền biểu mẫu) và ký số của cơ quan."))

    if expected:
        exp = expected.lower().replace(":", "").strip()
        first = leader or (sigs[0] if sigs else None)
        if first is None:
            out.append(Verdict("leader_is_expected_person", False,
                               "Chưa có chữ ký của người được giao ký."))
        elif first.fingerprint == exp:
            out.append(Verdict("leader_is_expected_person", True,
                               f"Chữ ký thứ nhất đúng của người được giao ký: {_name_of(first)}."))
        else:
            who = people.get(exp)
            tail = f" (người được giao ký: {who})" if who else ""
            out.append(Verdict("leader_is_expected_person", False,
                               "Chữ ký thứ nhất không phải của người được giao ký: "
                               f"{_name_of(first)}{tail}."))

    org_field = by_field.get(doc.ORG_FIELD)
    if org_field is not None:
        if org_field.kind == "organisation":
            out.append(Verdict("organisation_field_has_organisation_cert", True,
                               "Trường chữ ký của cơ quan dùng chứng thư số của cơ quan, tổ "
                               f"chức ({org_field.signer})."))
        else:
            out.append(Verdict("organisation_field_has_organisation_cert", False,
                               "Trường chữ ký của cơ quan (SigToChuc) lại được ký bằng "
                               f"{_name_of(org_field)}; phải dùng chứng thư số của cơ quan, "
                               "tổ chức do văn thư quản lý."))

    for fname, sig in separate.items():
        if sig is not None:
            out.extend(_separate_verdicts(fname, sig, first_page))

    untrusted = [s for s in sigs if not s.trusted and not s.revoked]
    if not untrusted:
        out.append(Verdict("trusted", True,
                           "Mọi chứng thư số đều do CA tin cậy cấp (chuỗi đến chứng thư gốc)."))
    else:
        parts = []
        for s in untrusted:
            if s.error or not s.valid:
                why = "không kiểm tra được"
            elif not has_anchor:
                why = "chưa đối chiếu được (không có chứng thư gốc tin cậy nào được cung cấp)"
            else:
                why = f"do “{s.issuer or 'CA không rõ'}” cấp - CA không được tin cậy"
            parts.append(f"{s.field}: {_name_of(s)} {why}")
        out.append(Verdict("trusted", False,
                           "Chứng thư số không được tin cậy (không chuỗi đến chứng thư gốc "
                           "tin cậy): " + "; ".join(parts) + "."))

    revoked = [s for s in sigs if s.revoked]
    if not revoked:
        out.append(Verdict("not_revoked", True,
                           "Không chứng thư số nào bị thu hồi (theo danh sách thu hồi đã có)."))
    else:
        out.append(Verdict("not_revoked", False,
                           "Chứng thư số đã bị thu hồi: " + "; ".join(
                               f"{s.field}: {_name_of(s)}" for s in revoked)
                           + ". Chữ ký bằng chứng thư số bị thu hồi không có giá trị."))

    broken = [s for s in sigs if not s.intact or not s.valid]
    if not broken:
        out.append(Verdict("intact", True, "Mọi chữ ký đều toàn vẹn: nội dung đã ký không bị "
                                           "sửa."))
    else:
        out.append(Verdict("intact", False,
                           "Chữ ký không còn toàn vẹn (tệp bị sửa, dù chỉ một byte, trong phần "
                           "đã ký): " + ", ".join(f"{s.field} ({s.who})" for s in broken) + "."))

    if decree30 and leader is not None and org is not None:
        if leader.rect is None or org.rect is None or leader.page != org.page:
            out.append(Verdict("seal_placement", False,
                               "Không xác định được vị trí dấu so với chữ ký của lãnh đạo "
                               "(chữ ký ẩn hoặc khác trang).", 0.0))
        else:
            ratio = round(_seal_overlap(leader.rect, org.rect), 3)
            lo, hi = SEAL_OVERLAP_RANGE
            left = org.rect[0] < leader.rect[0]
            vert = org.rect[1] < leader.rect[3] and leader.rect[1] < org.rect[3]
            pct = f"{ratio * 100:.0f}%"
            if left and vert and lo <= ratio <= hi:
                out.append(Verdict("seal_placement", True,
                                   f"Dấu trùm lên khoảng 1/3 chữ ký của lãnh đạo về phía bên trái "
                                   f"({pct} bề rộng).", ratio))
            else:
                where = "" if left and vert else ", không nằm về phía bên trái chữ ký"
                out.append(Verdict("seal_placement", False,
                                   f"Dấu trùm lên {pct} bề rộng chữ ký của lãnh đạo{where}; "
                                   "phải trùm khoảng 1/3 chữ ký về phía bên trái.", ratio))
    return out


# --- entry point --------------------------------------------------------------------------
def verify_pdf(data: bytes, *, validation_context: Any | Callable[[], Any] | None = None,
               people: dict[str, str] | None = None,
               expected_leader_fingerprint: str | None = None) -> Report:
    """Validate every signature of ``data`` and judge the Decree 30 two-layer rules.

    ``people`` maps certificate SHA-256 fingerprints (hex) to in-world names;
    ``expected_leader_fingerprint`` adds the ``leader_is_expected_person`` verdict.

    Safe to call from a thread that runs an event loop (pyHanko's synchronous validation
    calls ``asyncio.run``): the work then moves to a worker thread."""
    return doc._outside_event_loop(lambda: _verify_pdf(
        data, validation_context=validation_context, people=people,
        expected_leader_fingerprint=expected_leader_fingerprint))


def _verify_pdf(data: bytes, *, validation_context, people, expected_leader_fingerprint) -> Report:
    from pyhanko.sign import fields as pf

    people = {k.lower().replace(":", ""): v for k, v in (people or {}).items()}
    with _quiet():
        r = _open(data)
        try:
            pages = _page_refs(r)
            all_fields = list(pf.enumerate_sig_fields(r, filled_status=None))
            sigs = list(r.embedded_signatures)
        except Exception as exc:
            raise _corrupt(exc) from exc
        if not all_fields and not sigs:
            raise SigningError("Tệp PDF không có trường chữ ký số nào: văn bản chưa được ký số.",
                               "no signature fields")
        infos: list[SignatureInfo] = []
        for sig in sigs:
            try:
                info, _st = _signature_info(r, pages, sig, validation_context, people)
            except SigningError:
                raise
            except Exception as exc:  # unreadable signature dictionary / certificate
                raise _corrupt(exc) from exc
            infos.append(info)
        first_page = None
        try:
            from .attachments import page_box

            first_page = page_box(r, 0)
        except Exception:
            first_page = None
        empty: list[EmptyField] = []
        for name, value, ref in all_fields:
            if value is None:
                try:
                    rect, page = _rect_and_page(r, pages, ref.get_object(), ref)
                except Exception:
                    rect, page = None, None
                empty.append(EmptyField(str(name), page, rect))
    verdicts = _verdicts(infos, empty, {n for n, *_ in all_fields}, people,
                         expected_leader_fingerprint, validation_context is not None,
                         first_page)
    failed = [v for v in verdicts if not v.ok]
    sigs_ok = all(s.ok for s in infos)
    if sigs_ok and not failed and not empty:
        status = "valid"
    elif sigs_ok and empty and all(v.code == "two_layers" for v in failed):
        status = "incomplete"
    else:
        status = "invalid"
    return Report(status=status, document_kind=_document_kind(infos, empty), signatures=infos,
                  empty_fields=empty, verdicts=verdicts)


def _document_kind(sigs: list[SignatureInfo], empty: list[EmptyField]) -> str:
    names = {s.field for s in sigs} | {e.field for e in empty}
    if doc.LEADER_FIELD in names or doc.ORG_FIELD in names:
        return "decree30"
    for fname, kind in _SEPARATE_FIELDS.items():
        if fname in names:
            return kind
    return "other"
