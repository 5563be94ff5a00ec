"""The Decree 30 two-layer signing flow as pure functions over PDF bytes (no database).

::

    pdf, layout = make_draft_pdf(org, title, body, signer_title, signer_name)
    pdf = prepare_draft(pdf, layout)                       # fields + FieldMDP lock
    pdf = sign_leader(pdf, layout, leader, signature_png(...), timestamper=tsa)
    pdf = release(pdf, layout, org_bundle, seal_png(org), "125/QĐ-UBND",
                  "Sơn Hà, ngày 15 tháng 3 năm 2025", timestamper=tsa, when=now)

* The draft is an A4 page written directly as a PDF content stream with an embedded
  Vietnamese-capable font (:mod:`signing.fonts`): tên cơ quan (ô 2), Quốc hiệu/Tiêu ngữ (ô 1),
  "Số:" with an empty box for the number (ô 3), an empty box for the place and date (ô 4),
  the title (ô 5), the body (ô 6), "Nơi nhận" (ô 9b), and the signer's title and name (ô 7a/7b)
  with the signature box (ô 7c) between them. :class:`Layout` gives the field rectangles.
* :func:`prepare_draft` adds the empty fields: ``SigLanhDao`` (leader, locked with FieldMDP
  EXCLUDE of the number, date and organisation fields, DocMDP update value FILL_FORMS), text
  fields ``SoVB`` and ``NgayVB``, and ``SigToChuc`` (organisation).
* :func:`sign_leader` signs ``SigLanhDao`` (approval signature, PAdES) with the blue
  transparent signature PNG centred in the box.
* :func:`release` fills ``SoVB``/``NgayVB`` by FORM FILLING (field value + appearance, never
  page content: that would break the leader's signature) and signs ``SigToChuc`` in the same
  incremental update with the red seal at actual size over the left third of the leader's box
  and the text "<organisation name>\\n<ISO 8601 signing time with +07:00>".

All signing goes through pyHanko; the key of a :class:`~signing.pki.CertBundle` is used
directly (no re-parsing per signature, SIGNING.md pitfall 4).
"""
from __future__ import annotations

import datetime as dt
import io
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from PIL import Image

from . import fonts
from .errors import SigningError
from .pki import CertBundle

__all__ = ["Rect", "Layout", "LEADER_FIELD", "ORG_FIELD", "NUMBER_FIELD", "DATE_FIELD",
           "VN_TZ", "make_draft_pdf", "prepare_draft", "sign_leader", "release",
           "iso_time", "to_vn_time"]

LEADER_FIELD = "SigLanhDao"
ORG_FIELD = "SigToChuc"
NUMBER_FIELD = "SoVB"
DATE_FIELD = "NgayVB"
#: Vietnam has used UTC+07:00 without daylight saving since 1975.
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

MM = 72 / 25.4
PAGE_W, PAGE_H = 595.28, 841.89                        # A4 in points
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 30 * MM, 15 * MM, 20 * MM, 20 * MM
LEADER_W, LEADER_H = 50 * MM, 22 * MM                  # signature image box (ô 7c)
SEAL_MM = 35.0                                         # seal diameter (actual size)
NUMBER_SIZE = 13                                       # "Số:" 13 pt
DATE_SIZE = 13                                         # date line italic 13 pt
SEAL_TEXT_SIZE = 6


# --- layout -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rect:
    """A rectangle on a page (0-based page index), PDF points, origin bottom left."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class Layout:
    """Where the fields go. ``seal`` is the organisation signature's box: the seal at actual
    size, its right edge at one third of the leader box (Decree 30, Phụ lục I II.8.a)."""

    leader: Rect
    number: Rect
    date: Rect
    seal: Rect
    org_name: str = ""

    def seal_overlap(self) -> float:
        """Horizontal share of the leader box covered by the seal box (about 1/3)."""
        a, b = self.leader, self.seal
        return max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1)) / a.width


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _esc_font_name(i: int) -> str:
    return f"/F{i}"


class _Engines(dict):
    """Font engines created on first use (an unused engine cannot be written)."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer

    def __missing__(self, style: str):
        engine = fonts.engine_factory(style, 1).create_font_engine(self.writer)
        self[style] = engine
        return engine


class _Page:
    """Content of one page: text ops through pyHanko glyph accumulators (font size 1, scaled
    by the text matrix, so one embedded subset per style serves every size)."""

    def __init__(self, engines: dict[str, object], names: dict[str, str]):
        self.ops: list[bytes] = []
        self.engines = engines
        self.names = names

    def text(self, x: float, y: float, txt: str, size: float, style: str = "regular") -> None:
        txt = _nfc(txt)
        if not txt:
            return
        shaped = self.engines[style].shape(txt)
        self.ops.append(b"BT %s 1 Tf %g 0 0 %g %.2f %.2f Tm %s ET" % (
            self.names[style].encode(), size, size, x, y, shaped.graphics_ops))

    def centred(self, cx: float, y: float, txt: str, size: float, style: str) -> float:
        w = fonts.text_width(txt, size, style)
        self.text(cx - w / 2, y, txt, size, style)
        return w

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.6) -> None:
        self.ops.append(b"q %g w 0 G %.2f %.2f m %.2f %.2f l S Q" % (width, x1, y1, x2, y2))


def _wrap(text: str, width: float, size: float, style: str, indent: float = 0.0) -> list[str]:
    words = _nfc(text).split()
    lines: list[str] = []
    cur = ""
    avail = width - indent
    for w in words:
        cand = f"{cur} {w}" if cur else w
        if cur and fonts.text_width(cand, size, style) > avail:
            lines.append(cur)
            cur, avail = w, width
        else:
            cur = cand
    if cur or not lines:
        lines.append(cur)
    return lines


def _wrap_balanced(text: str, width: float, size: float, style: str) -> list[str]:
    """Like :func:`_wrap` but with lines of similar length (names over two lines)."""
    lines = _wrap(text, width, size, style)
    if len(lines) < 2:
        return lines
    lo, hi = width / len(lines), width
    for _ in range(12):
        mid = (lo + hi) / 2
        if len(_wrap(text, mid, size, style)) > len(lines):
            lo = mid
        else:
            hi = mid
    return _wrap(text, hi, size, style)


# --- the draft page ---------------------------------------------------------------------
#: The text area and the two header columns: tên cơ quan (ô 2) on the left, Quốc hiệu and
#: Tiêu ngữ (ô 1) on the right; the signature block is centred on the right column.
_LEFT, _RIGHT = MARGIN_L, PAGE_W - MARGIN_R
_WIDTH = _RIGHT - _LEFT
_COL_L = (_LEFT, _LEFT + _WIDTH * 0.43)
_COL_R = (_LEFT + _WIDTH * 0.40, _RIGHT)
_CX_L, _CX_R = sum(_COL_L) / 2, sum(_COL_R) / 2
_TOP = PAGE_H - MARGIN_T
BODY_SIZE, BODY_LEADING, BODY_INDENT = 13.0, 18.0, 10 * MM   # ô 6: 13 pt, first line indented
_QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
_TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
_RECIPIENTS = ("- Như trên;", "- Lưu: VT.")


class _Draft:
    """The document being written: its pages (the last one is being filled) sharing one
    set of embedded fonts."""

    def __init__(self):
        from pyhanko.pdf_utils.writer import PdfFileWriter

        self.writer = PdfFileWriter(stream_xrefs=False)
        self.engines = _Engines(self.writer)
        self.names = {s: _esc_font_name(i + 1) for i, s in enumerate(fonts.STYLES)}
        self.pages: list[_Page] = []
        self.new_page()

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    @property
    def page_index(self) -> int:
        return len(self.pages) - 1

    def new_page(self) -> float:
        """Start a page; the first baseline below its top margin."""
        self.pages.append(_Page(self.engines, self.names))
        return _TOP - 12

    def to_bytes(self) -> bytes:
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.generic import pdf_name
        from pyhanko.pdf_utils.writer import PageObject

        w = self.writer
        font_res = generic.DictionaryObject({
            pdf_name(self.names[s]): e.as_resource() for s, e in self.engines.items()})
        for p in self.pages:
            stream = generic.StreamObject(stream_data=b"\n".join(p.ops))
            stream.compress()
            page_obj = PageObject(
                contents=w.add_object(stream), media_box=[0, 0, PAGE_W, PAGE_H],
                resources=generic.DictionaryObject({pdf_name("/Font"): font_res}))
            w.insert_page(page_obj)
        w.set_info(None)
        out = io.BytesIO()
        w.write(out)
        return out.getvalue()


def _org_heading(page: _Page, org_name: str, parent_org: str | None, y: float) -> float:
    """ô 2: the parent body (regular) and the organisation (bold, underlined by a short
    rule), upper case, centred on the left column. Returns the baseline below it."""
    col_w = _COL_L[1] - _COL_L[0]
    if parent_org:
        for ln in _wrap_balanced(parent_org.upper(), col_w, 12, "regular"):
            page.centred(_CX_L, y, ln, 12, "regular")
            y -= 15
    longest = 0.0
    for ln in _wrap_balanced(org_name.upper(), col_w, 12, "bold"):
        longest = max(longest, page.centred(_CX_L, y, ln, 12, "bold"))
        y -= 15
    page.line(_CX_L - longest / 6, y + 10, _CX_L + longest / 6, y + 10)
    return y


def _national_heading(page: _Page, y: float) -> float:
    """ô 1: Quốc hiệu (bold, shrunk to the right column) and Tiêu ngữ (bold 13 pt, underlined
    its whole width), centred on the right column. Returns the baseline below it."""
    qh_size = 12.0
    while fonts.text_width(_QUOC_HIEU, qh_size, "bold") > _COL_R[1] - _COL_R[0] and qh_size > 9:
        qh_size -= 0.5
    page.centred(_CX_R, y, _QUOC_HIEU, qh_size, "bold")
    tw = page.centred(_CX_R, y - 15, _TIEU_NGU, 13, "bold")
    page.line(_CX_R - tw / 2, y - 18.5, _CX_R + tw / 2, y - 18.5)
    return y - 15 - 15


def _number_and_date(page: _Page, y: float) -> tuple[Rect, Rect]:
    """ô 3 ("Số: " and the empty number box) and ô 4 (the empty place-and-date box) on the
    baseline ``y``: the boxes of the ``SoVB`` and ``NgayVB`` fields."""
    so_label = "Số: "
    so_w = fonts.text_width(so_label, NUMBER_SIZE, "regular")
    so_x = _CX_L - 70
    page.text(so_x, y, so_label, NUMBER_SIZE, "regular")
    date = Rect(0, _COL_R[0] + 4, y - 5, _COL_R[1], y + 19.5)
    number = Rect(0, so_x + so_w, y - 5, min(date.x1 - 4, so_x + so_w + 140), y + 19.5)
    return number, date


def _title(page: _Page, title: str, y: float) -> float:
    """ô 5: tên loại and trích yếu, bold 14 pt, centred; each ``\\n`` starts a line."""
    for ln in _nfc(title).split("\n"):
        for part in _wrap(ln, _WIDTH, 14, "bold"):
            page.centred(_LEFT + _WIDTH / 2, y, part, 14, "bold")
            y -= 18
    return y


def _body(draft: _Draft, paragraphs: Sequence[str], y: float) -> float:
    """ô 6: paragraphs wrapped to the text width, first lines indented, an empty string a
    blank line; a line that would reach the bottom margin starts a new page."""
    for para in paragraphs:
        para = _nfc(para)
        lines = (_wrap(para, _WIDTH, BODY_SIZE, "regular", BODY_INDENT) if para.strip()
                 else [""])
        for i, ln in enumerate(lines):
            if y < MARGIN_B + BODY_LEADING:
                y = draft.new_page()
            draft.page.text(_LEFT + (BODY_INDENT if i == 0 else 0), y, ln, BODY_SIZE, "regular")
            y -= BODY_LEADING
        y -= 2
    return y


def _signature_block(draft: _Draft, signer_title: str, signer_name: str,
                     recipients: Sequence[str], y: float) -> Rect:
    """ô 9b (Nơi nhận) on the left; ô 7a (the signer's title), the signature box (ô 7c) and
    ô 7b (the name) on the right, all on one page (a new one when it does not fit).
    Returns the signature box."""
    sig_lines = [s for s in _nfc(signer_title).upper().split("\n") if s.strip()]
    block_h = 16 * len(sig_lines) + 8 + LEADER_H + 8 + 20 + 14 * 4
    if y - block_h < MARGIN_B:
        y = draft.new_page()
    y -= 12
    page = draft.page
    page.text(_LEFT, y, "Nơi nhận:", 12, "bolditalic")
    yy = y - 14
    for r in recipients:
        page.text(_LEFT, yy, r, 11, "regular")
        yy -= 13
    for ln in sig_lines:
        page.centred(_CX_R, y, ln, 13, "bold")
        y -= 16
    y -= 4
    leader = Rect(draft.page_index, _CX_R - LEADER_W / 2, y - LEADER_H, _CX_R + LEADER_W / 2, y)
    page.centred(_CX_R, leader.y1 - 8 - 13, _nfc(signer_name), 13, "bold")
    return leader


def _seal_box(leader: Rect) -> Rect:
    """The seal at actual size, centred on the signature box's height, its right edge at
    one third of the box's width (Decree 30, Phụ lục I II.8.a)."""
    seal_d = SEAL_MM * MM
    seal_x2 = leader.x1 + leader.width / 3
    cy = (leader.y1 + leader.y2) / 2
    return Rect(leader.page, seal_x2 - seal_d, cy - seal_d / 2, seal_x2, cy + seal_d / 2)


def make_draft_pdf(org_name: str, title: str, body_lines: Sequence[str], signer_title: str,
                   signer_name: str, *, recipients: Sequence[str] | None = None,
                   parent_org: str | None = None) -> tuple[bytes, Layout]:
    """An A4 Vietnamese administrative document (Decree 30 boxes) and its :class:`Layout`.

    ``title`` and ``signer_title`` may contain ``\\n`` (e.g. ``"QUYẾT ĐỊNH\\nVề việc ..."``,
    ``"TM. ỦY BAN NHÂN DÂN\\nCHỦ TỊCH"``); each entry of ``body_lines`` is a paragraph
    (wrapped, first line indented; an empty string is a blank line). The number and the
    date are left empty: the clerk fills them after the leader signs. The body flows onto
    further pages when needed; the signature block is kept on one page.

    Requires pyHanko's OpenType support (``fontTools`` and ``uharfbuzz``)."""
    if not fonts.have_opentype():
        raise SigningError("Thiếu thư viện phông chữ để tạo văn bản PDF.",
                           "fontTools/uharfbuzz not installed (pyhanko[opentype])")
    org_name = _nfc(" ".join(org_name.split()))
    recipients = list(recipients) if recipients is not None else list(_RECIPIENTS)
    draft = _Draft()
    y = _TOP - 12
    y = min(_org_heading(draft.page, org_name, parent_org, y),
            _national_heading(draft.page, y)) - 10
    number, date = _number_and_date(draft.page, y)
    y = _title(draft.page, title, y - 38) - 10
    y = _body(draft, body_lines, y)
    leader = _signature_block(draft, signer_title, signer_name, recipients, y)
    return draft.to_bytes(), Layout(leader=leader, number=number, date=date,
                                    seal=_seal_box(leader), org_name=org_name)


# --- fields -----------------------------------------------------------------------------
def _add_text_field(w, name: str, rect: Rect, size: int, style: str) -> None:
    """An empty, merged text field + widget on ``rect.page``, registered in the AcroForm."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name, pdf_string

    page_ref = w.find_page_for_modification(rect.page)[0]
    field = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Widget"),
        pdf_name("/FT"): pdf_name("/Tx"),
        pdf_name("/T"): pdf_string(name),
        pdf_name("/F"): generic.NumberObject(4),
        pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in rect.box),
        pdf_name("/P"): page_ref,
        pdf_name("/DA"): pdf_string(f"/Helv {size} Tf 0 g"),
    })
    ref = w.add_object(field)
    w.register_annotation(page_ref, ref)
    acroform = w.root["/AcroForm"]
    acroform["/Fields"].append(ref)
    w.update_container(acroform["/Fields"])
    if "/DR" not in acroform:
        acroform["/DR"] = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({
            pdf_name("/Helv"): generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
                pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")})})})
        w.update_container(acroform)


def prepare_draft(pdf: bytes, layout: Layout) -> bytes:
    """Add the empty fields to a draft (one incremental update, before any signature)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(w, fields.SigFieldSpec(
        LEADER_FIELD, on_page=layout.leader.page, box=layout.leader.box,
        field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE,
                                           fields=[NUMBER_FIELD, DATE_FIELD, ORG_FIELD]),
        doc_mdp_update_value=fields.MDPPerm.FILL_FORMS))
    fields.append_signature_field(w, fields.SigFieldSpec(
        ORG_FIELD, on_page=layout.seal.page, box=layout.seal.box))
    _add_text_field(w, NUMBER_FIELD, layout.number, NUMBER_SIZE, "regular")
    _add_text_field(w, DATE_FIELD, layout.date, DATE_SIZE, "italic")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _fill_text_field(w, name: str, value: str, size: int, style: str,
                     centre: bool = False) -> None:
    """Form filling: the field's /V and a widget appearance with an embedded font."""
    from pyhanko.pdf_utils import layout as pl
    from pyhanko.pdf_utils.form_tools import populate_static_text_field
    from pyhanko.pdf_utils.text import TextBoxStyle

    tstyle = TextBoxStyle(font=fonts.engine_factory(style, size), font_size=size,
                          border_width=0, box_layout_rule=pl.SimpleBoxLayoutRule(
                              x_align=(pl.AxisAlignment.ALIGN_MID if centre
                                       else pl.AxisAlignment.ALIGN_MIN),
                              y_align=pl.AxisAlignment.ALIGN_MID,
                              margins=pl.Margins(1, 1, 0, 0),
                              inner_content_scaling=pl.InnerScaling.SHRINK_TO_FIT))
    populate_static_text_field(w, name, tstyle, _nfc(value))


# --- signing ----------------------------------------------------------------------------
def to_vn_time(when: dt.datetime | None) -> dt.datetime:
    """``when`` (default: now) in UTC+07:00, whole seconds; naive values count as UTC+7."""
    when = when or dt.datetime.now(dt.timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=VN_TZ)
    return when.astimezone(VN_TZ).replace(microsecond=0)


def iso_time(when: dt.datetime) -> str:
    """ISO 8601 with a ``+07:00`` offset (Python's ``%z`` would give ``+0700``)."""
    return to_vn_time(when).isoformat()


_SIGNERS: dict[tuple[str, int], object] = {}


def _signer(bundle: CertBundle):
    """A pyHanko ``SimpleSigner`` that signs with the bundle's key object directly."""
    key = (bundle.sha256, id(bundle.key))
    s = _SIGNERS.get(key)
    if s is not None:
        return s
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

    priv = bundle.key

    class _KeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mech = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algo = mech.signature_algo
            except ValueError:
                algo = mech["algorithm"].native
            h = get_pyca_cryptography_hash(digest_algorithm)
            if algo == "rsassa_pkcs1v15" and isinstance(priv, rsa.RSAPrivateKey):
                return priv.sign(data, PKCS1v15(), h)
            if algo == "ecdsa" and isinstance(priv, ec.EllipticCurvePrivateKey):
                return priv.sign(data, ec.ECDSA(h))
            return super().sign_raw(data, digest_algorithm)

    s = _KeySigner(signing_cert=bundle.asn1_cert(), signing_key=bundle.asn1_key(),
                   cert_registry=SimpleCertificateStore.from_certs(bundle.asn1_chain()))
    if len(_SIGNERS) > 64:
        _SIGNERS.clear()
    _SIGNERS[key] = s
    return s


def _image(png: bytes | Image.Image) -> Image.Image:
    if isinstance(png, Image.Image):
        return png
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def _fit_centre(margin: float = 0.0):
    from pyhanko.pdf_utils import layout as pl

    return pl.SimpleBoxLayoutRule(x_align=pl.AxisAlignment.ALIGN_MID,
                                  y_align=pl.AxisAlignment.ALIGN_MID,
                                  margins=pl.Margins.uniform(margin),
                                  inner_content_scaling=pl.InnerScaling.STRETCH_TO_FIT)


def _outside_event_loop(fn):
    """Run ``fn`` (pyHanko's synchronous API calls ``asyncio.run``) in a worker thread when
    this thread already runs an event loop (e.g. a Flask view called from async code, or a
    test process driving Playwright's sync API); otherwise call it directly."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def _sign(w, field: str, bundle: CertBundle, style, when: dt.datetime, timestamper,
          text_params: dict | None = None) -> bytes:
    from pyhanko.sign import fields, signers

    class _TimedSigner(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = when
            return session

    meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    pdf_signer = _TimedSigner(meta, _signer(bundle), stamp_style=style,
                              timestamper=timestamper)
    try:
        out = _outside_event_loop(lambda: pdf_signer.sign_pdf(
            w, existing_fields_only=True, appearance_text_params=text_params))
    except SigningError:
        raise
    except Exception as exc:  # pyHanko's SigningError, field errors, ...
        raise SigningError("Không ký được văn bản.", f"{type(exc).__name__}: {exc}") from exc
    return out.getvalue()


def _check_field(w, name: str) -> None:
    from pyhanko.sign import fields

    for fname, value, _ref in fields.enumerate_sig_fields(w, filled_status=None):
        if fname == name:
            if value is not None:
                raise SigningError(f"Trường chữ ký {name} đã được ký.", f"{name} already signed")
            return
    raise SigningError(f"Văn bản không có trường chữ ký {name}.", f"no field {name}")


def sign_leader(pdf: bytes, layout: Layout, bundle: CertBundle,
                signature_png: bytes | Image.Image, *, timestamper=None,
                when: dt.datetime | None = None) -> bytes:
    """The leader's approval signature on ``SigLanhDao`` (PAdES B-B, B-T with a
    ``timestamper``); appearance = the blue transparent signature image, centred and scaled
    to fit its box, no text."""
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.stamp import StaticStampStyle

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _check_field(w, LEADER_FIELD)
    style = StaticStampStyle(background=PdfImage(_image(signature_png)), border_width=0,
                             background_opacity=1.0, background_layout=_fit_centre())
    return _sign(w, LEADER_FIELD, bundle, style, to_vn_time(when), timestamper)


def release(pdf: bytes, layout: Layout, org_bundle: CertBundle, seal_png: bytes | Image.Image,
            number: str, date_text: str, *, timestamper, when: dt.datetime | None) -> bytes:
    """The clerk's release: fill ``SoVB`` = ``number`` and ``NgayVB`` = ``date_text`` by form
    filling, then the organisation signature on ``SigToChuc`` in the same incremental update:
    the red seal image at actual size (the field box is the seal's size) and the text
    "<organisation name>\\n<signing time, ISO 8601, +07:00>". The printed time is the
    signature's signing time (``when``, default now)."""
    from pyhanko.pdf_utils import layout as pl
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    number, date_text = _nfc(number or "").strip(), _nfc(date_text or "").strip()
    if not number or not date_text:
        raise SigningError("Phải điền số, ký hiệu và ngày tháng văn bản trước khi phát hành.",
                           "empty number or date")
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _check_field(w, ORG_FIELD)
    from pyhanko.sign import fields as _f
    signed = {n for n, v, _ in _f.enumerate_sig_fields(w, filled_status=True)}
    if LEADER_FIELD not in signed:
        raise SigningError("Lãnh đạo chưa ký văn bản: văn thư chưa được phát hành.",
                           "leader field not signed")
    try:
        _fill_text_field(w, NUMBER_FIELD, number, NUMBER_SIZE, "regular")
        _fill_text_field(w, DATE_FIELD, date_text, DATE_SIZE, "italic", centre=True)
    except Exception as exc:
        raise SigningError("Không điền được số và ngày văn bản.",
                           f"{type(exc).__name__}: {exc}") from exc

    when = to_vn_time(when)
    org_name = _nfc(org_bundle.common_name or layout.org_name)
    size = SEAL_TEXT_SIZE
    box_w = layout.seal.width - 4
    org_lines = _wrap_balanced(org_name, box_w, size, "bold")
    text_style = TextBoxStyle(font=fonts.engine_factory("bold", size), font_size=size,
                              border_width=0, leading=size + 1)
    style = TextStampStyle(
        background=PdfImage(_image(seal_png)), background_opacity=1.0, border_width=0,
        background_layout=_fit_centre(), stamp_text="%(org)s\n%(iso)s",
        text_box_style=text_style,
        inner_content_layout=pl.SimpleBoxLayoutRule(
            x_align=pl.AxisAlignment.ALIGN_MID, y_align=pl.AxisAlignment.ALIGN_MIN,
            margins=pl.Margins(1, 1, 2, 0),
            inner_content_scaling=pl.InnerScaling.SHRINK_TO_FIT))
    return _sign(w, ORG_FIELD, org_bundle, style, when, timestamper,
                 {"org": "\n".join(org_lines), "iso": iso_time(when)})
