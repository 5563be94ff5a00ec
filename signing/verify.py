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
    The rules are :mod:`signing.verdicts`, one registered function per code; the report
    lists them in registration order: ``two_layers``, ``order``, ``unchanged_after_leader``,
    ``leader_is_expected_person``, ``organisation_field_has_organisation_cert``, the
    attachment and copy verdicts, ``trusted``, ``not_revoked``, ``intact``,
    ``seal_placement``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from . import document as doc
from . import pki
from . import verify_speedups
from .errors import SigningError
from .pdfread import corrupt_pdf, open_pdf, page_box, quiet
from .verdicts import MODIFICATION_VI, SEAL_OVERLAP_RANGE, SEPARATE_FIELDS, Verdict, judge

__all__ = ["SignatureInfo", "EmptyField", "Verdict", "Report", "verify_pdf",
           "MODIFICATION_VI", "COVERAGE_VI", "SEAL_OVERLAP_RANGE"]

COVERAGE_VI = {
    "ENTIRE_FILE": "toàn bộ tệp",
    "ENTIRE_REVISION": "toàn bộ phiên bản tại thời điểm ký (tệp được bổ sung sau đó)",
    "CONTIGUOUS_BLOCK_FROM_START": "một phần liên tục từ đầu tệp",
    "UNCLEAR": "không rõ phạm vi",
}
verify_speedups.install()
#: Old private names, still imported by signing.api: use signing.pdfread.
_open, _quiet, _corrupt = open_pdf, quiet, corrupt_pdf


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
    with quiet():
        r = open_pdf(data)
        try:
            pages = _page_refs(r)
            all_fields = list(pf.enumerate_sig_fields(r, filled_status=None))
            sigs = list(r.embedded_signatures)
        except Exception as exc:
            raise corrupt_pdf(exc) from exc
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
                raise corrupt_pdf(exc) from exc
            infos.append(info)
        first_page = None
        try:
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
    verdicts = judge(infos, empty, {n for n, *_ in all_fields}, people,
                     expected_leader_fingerprint, validation_context is not None, first_page)
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
    for fname, kind in SEPARATE_FIELDS.items():
        if fname in names:
            return kind
    return "other"
