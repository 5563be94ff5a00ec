"""Reading PDF input: what the signers (:mod:`signing.attachments`, :mod:`signing.api`) and the
verifier (:mod:`signing.verify`) share.

* :func:`open_pdf` opens bytes with pyHanko or refuses them with a one-line Vietnamese
  :class:`~signing.errors.SigningError`: not bytes, empty, no ``%PDF-`` header, encrypted,
  truncated or corrupt.
* :func:`corrupt_pdf` is that refusal for a file whose structure cannot be read.
* :func:`quiet` silences pyHanko's and fontTools' loggers for expected failures
  (SIGNING.md pitfall 9).
* :func:`page_box` is a page's visible box (CropBox within MediaBox).
"""
from __future__ import annotations

import contextlib
import io
import logging

from .document import PAGE_H, PAGE_W
from .errors import SigningError

__all__ = ["open_pdf", "corrupt_pdf", "quiet", "page_box", "QUIET_LOGGERS"]

QUIET_LOGGERS = ("pyhanko", "pyhanko_certvalidator", "fontTools")


@contextlib.contextmanager
def quiet():
    """Lower :data:`QUIET_LOGGERS` to silence while the block runs."""
    saved = []
    for name in QUIET_LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, lg.level))
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def open_pdf(data: bytes):
    """A pyHanko ``PdfFileReader`` on ``data``, or a Vietnamese refusal for unusable input."""
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
        raise corrupt_pdf(exc) from exc
    try:
        encrypted = r.encrypted
    except Exception as exc:
        raise corrupt_pdf(exc) from exc
    if encrypted:
        raise SigningError("Tệp PDF đã bị mã hóa (đặt mật khẩu): không kiểm tra được chữ ký "
                           "số; hãy dùng bản không mã hóa.", "encrypted PDF")
    return r


def corrupt_pdf(exc: BaseException) -> SigningError:
    """The refusal of a truncated or broken file (``exc``: what the reader raised)."""
    return SigningError("Tệp PDF bị cắt cụt hoặc bị hỏng, không đọc được cấu trúc tệp.",
                        f"{type(exc).__name__}: {exc}")


def _inherited(page, key: str):
    node, depth = page, 0
    while node is not None and depth < 64:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
        depth += 1
    return None


def page_box(w_or_reader, page: int = 0) -> tuple[float, float, float, float]:
    """The visible box of a page (CropBox within MediaBox, inherited values honoured), as
    ``(x1, y1, x2, y2)`` normalised so that x1 < x2 and y1 < y2."""
    page_ref = w_or_reader.find_page_for_modification(page)[0] \
        if hasattr(w_or_reader, "find_page_for_modification") else None
    pg = page_ref.get_object() if page_ref is not None else w_or_reader.root["/Pages"]
    media = _inherited(pg, "/MediaBox")
    if media is None:
        media = [0, 0, PAGE_W, PAGE_H]
    mx = [float(v) for v in media]
    box = [min(mx[0], mx[2]), min(mx[1], mx[3]), max(mx[0], mx[2]), max(mx[1], mx[3])]
    crop = _inherited(pg, "/CropBox")
    if crop is not None:
        c = [float(v) for v in crop]
        c = [min(c[0], c[2]), min(c[1], c[3]), max(c[0], c[2]), max(c[1], c[3])]
        inter = [max(box[0], c[0]), max(box[1], c[1]), min(box[2], c[2]), min(box[3], c[3])]
        if inter[2] > inter[0] and inter[3] > inter[1]:
            box = inter
    return tuple(box)  # type: ignore[return-value]
