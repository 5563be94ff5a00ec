"""The organisation signature on a separate attachment (phụ lục, tài liệu kèm theo) and on an
electronic copy (bản sao điện tử), as pure functions over PDF bytes like :mod:`document`.

Decree 30 (Phụ lục I II.8.b and Phần II):

* **Separate attachment** (:func:`sign_attachment`): the clerk signs each attachment file with
  the organisation certificate; the signature sits at the **top right of page 1**, with **no
  image**; its text is the main document's *số và ký hiệu* and the signing time in ISO 8601
  with ``+07:00`` (``"125/QĐ-UBND\\n2025-06-24T09:15:30+07:00"``), Times-metric serif 10 pt,
  upright, black. Field name :data:`ATTACHMENT_FIELD` (``SigPhuLuc``).
* **Electronic copy** (:func:`sign_copy`, ô 14): organisation signature top right of page 1,
  no image; text: hình thức sao (``SAO Y`` / ``SAO LỤC`` / ``TRÍCH SAO``), the organisation
  name and the signing time (ISO 8601, ``+07:00``), 10 pt. Field name :data:`COPY_FIELD`
  (``SigBanSao``).

Both work on an arbitrary existing PDF: when the file has no empty field of that name, a new
signature field is added at sign time, its box computed from page 1's CropBox (or MediaBox):
right edge :data:`RIGHT_MARGIN_MM` from the right, top edge :data:`TOP_MARGIN_MM` from the
top. Page rotation (``/Rotate``) is not taken into account: the box is placed in the page's
own coordinates (scans and generated documents are unrotated).

Refused with a Vietnamese message: a certificate that is not an organisation certificate,
an empty number/symbol (attachment), an unknown copy kind or an empty organisation name
(copy), input that is not a readable PDF, an encrypted PDF, a field of that name already
signed.
"""
from __future__ import annotations

import datetime as dt
import io
import unicodedata

from . import document as doc
from . import fonts
from .errors import SigningError
from .pdfread import open_pdf, page_box
from .pki import CertBundle

__all__ = ["ATTACHMENT_FIELD", "COPY_FIELD", "COPY_KINDS", "TEXT_SIZE", "RIGHT_MARGIN_MM",
           "TOP_MARGIN_MM", "sign_attachment", "sign_copy", "page_box", "top_right_box"]

ATTACHMENT_FIELD = "SigPhuLuc"
COPY_FIELD = "SigBanSao"
#: Hình thức sao (Decree 30 Art. 25): bản sao y, bản sao lục, bản trích sao.
COPY_KINDS = ("SAO Y", "SAO LỤC", "TRÍCH SAO")
TEXT_SIZE = 10
LEADING = 12
PADDING = 2.0
RIGHT_MARGIN_MM = 15.0
TOP_MARGIN_MM = 8.0
MAX_TEXT_WIDTH_MM = 85.0
_STYLE = "regular"  # upright serif: Times New Roman or its metric twin (signing.fonts)


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s or "").strip()


def _require_org(bundle: CertBundle, what: str) -> None:
    if bundle.kind != "organisation":
        raise SigningError(
            f"{what} phải được ký bằng chứng thư số của cơ quan, tổ chức (do văn thư quản lý), "
            "không dùng chứng thư số cá nhân.",
            f"certificate kind {bundle.kind!r} is not organisation")


def _writer(pdf: bytes):
    """An incremental writer on ``pdf``, or a Vietnamese refusal for unusable input."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    open_pdf(pdf)  # the same refusals as the verifier: not a PDF, encrypted, truncated
    try:
        return IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)))
    except Exception as exc:
        raise SigningError("Tệp PDF bị cắt cụt hoặc bị hỏng, không đọc được cấu trúc tệp.",
                           f"{type(exc).__name__}: {exc}") from exc


def _wrap_lines(lines: list[str], max_w: float) -> list[str]:
    out: list[str] = []
    for ln in lines:
        out.extend(doc._wrap(ln, max_w, TEXT_SIZE, _STYLE) if fonts.text_width(
            ln, TEXT_SIZE, _STYLE) > max_w else [ln])
    return out


def top_right_box(page: tuple[float, float, float, float], lines: list[str]) -> doc.Rect:
    """The field rectangle for ``lines`` at 10 pt at the top right of ``page``."""
    x1, y1, x2, y2 = page
    text_w = max(fonts.text_width(ln, TEXT_SIZE, _STYLE) for ln in lines)
    w = text_w + 2 * PADDING + 2
    h = len(lines) * LEADING + 2 * PADDING + 2
    right = x2 - RIGHT_MARGIN_MM * doc.MM
    top = y2 - TOP_MARGIN_MM * doc.MM
    left = max(x1, right - w)
    bottom = max(y1, top - h)
    return doc.Rect(0, round(left, 2), round(bottom, 2), round(right, 2), round(top, 2))


def _field_state(w, name: str) -> str:
    """``"absent"``, ``"empty"`` or ``"signed"``."""
    from pyhanko.sign import fields

    for fname, value, _ref in fields.enumerate_sig_fields(w, filled_status=None):
        if fname == name:
            return "empty" if value is None else "signed"
    return "absent"


def _sign_text(pdf: bytes, bundle: CertBundle, field: str, lines: list[str], *,
               timestamper, when: dt.datetime | None) -> bytes:
    from pyhanko.pdf_utils import layout as pl
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields
    from pyhanko.stamp import TextStampStyle

    w = _writer(pdf)
    try:
        state = _field_state(w, field)
        if state == "signed":
            raise SigningError(f"Tệp đã được ký số ở trường {field}; không ký lại.",
                               f"{field} already signed")
        if state == "absent":
            try:
                box_page = page_box(w, 0)
            except Exception as exc:
                raise SigningError("Tệp PDF không có trang nào để ký.",
                                   f"page 1 unreadable: {type(exc).__name__}: {exc}") from exc
            rect = top_right_box(box_page, lines)
            fields.append_signature_field(w, fields.SigFieldSpec(field, on_page=0,
                                                                 box=rect.box))
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError("Tệp PDF bị hỏng, không thêm được trường chữ ký.",
                           f"{type(exc).__name__}: {exc}") from exc
    text_style = TextBoxStyle(font=fonts.engine_factory(_STYLE, TEXT_SIZE), font_size=TEXT_SIZE,
                              border_width=0, leading=LEADING)
    style = TextStampStyle(
        background=None, border_width=0, stamp_text="%(text)s", text_box_style=text_style,
        inner_content_layout=pl.SimpleBoxLayoutRule(
            x_align=pl.AxisAlignment.ALIGN_MIN, y_align=pl.AxisAlignment.ALIGN_MAX,
            margins=pl.Margins.uniform(PADDING),
            inner_content_scaling=pl.InnerScaling.SHRINK_TO_FIT))
    return doc._sign(w, field, bundle, style, doc.to_vn_time(when), timestamper,
                     {"text": "\n".join(lines)})


def sign_attachment(pdf: bytes, org_bundle: CertBundle, number_symbol: str, *,
                    timestamper=None, when: dt.datetime | None = None,
                    field_name: str = ATTACHMENT_FIELD) -> bytes:
    """The clerk's organisation signature on a separate attachment file: top right of page
    1, no image, text ``"<số và ký hiệu>\\n<ISO 8601 signing time, +07:00>"`` at 10 pt.
    ``number_symbol`` is the main document's number and symbol (``"125/QĐ-UBND"``)."""
    number_symbol = _nfc(number_symbol)
    if not number_symbol:
        raise SigningError("Thiếu số và ký hiệu của văn bản chính: phải cấp số cho văn bản "
                           "trước khi ký số tệp đính kèm.", "empty number_symbol")
    _require_org(org_bundle, "Tệp đính kèm (phụ lục)")
    when = doc.to_vn_time(when)
    lines = [number_symbol, doc.iso_time(when)]
    return _sign_text(pdf, org_bundle, field_name, lines, timestamper=timestamper, when=when)


def sign_copy(pdf: bytes, org_bundle: CertBundle, copy_kind: str, org_name: str | None = None,
              *, timestamper=None, when: dt.datetime | None = None,
              field_name: str = COPY_FIELD) -> bytes:
    """The organisation signature of an electronic copy (ô 14): top right of page 1, no
    image, text ``"<SAO Y|SAO LỤC|TRÍCH SAO>\\n<organisation name>\\n<ISO 8601 time>"``
    at 10 pt. ``org_name`` defaults to the certificate's common name."""
    kind = _nfc(copy_kind).upper()
    if kind not in COPY_KINDS:
        raise SigningError("Hình thức sao phải là “SAO Y”, “SAO LỤC” hoặc “TRÍCH SAO”.",
                           f"unknown copy kind {copy_kind!r}")
    _require_org(org_bundle, "Bản sao điện tử")
    org_name = _nfc(org_name or org_bundle.common_name)
    if not org_name:
        raise SigningError("Thiếu tên cơ quan, tổ chức thực hiện sao.", "empty org_name")
    when = doc.to_vn_time(when)
    lines = _wrap_lines([kind, org_name], MAX_TEXT_WIDTH_MM * doc.MM) + [doc.iso_time(when)]
    return _sign_text(pdf, org_bundle, field_name, lines, timestamper=timestamper, when=when)
