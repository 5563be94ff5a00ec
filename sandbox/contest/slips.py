"""Login slips (phiếu đăng nhập): one per candidate, eight to an A4 page with dashed cut lines:
name, candidate number, unit, shift, room, seat, the portal address and the password
(``candidate_password``: derived, so a lost slip is simply printed again)."""
from __future__ import annotations

import io

from sandbox.kernel import vnformat

from .passwords import candidate_password
from .pdf_fonts import pdf_fonts

COLS, ROWS = 2, 4


def _fit(c, text: str, font: str, size: float, width: float) -> float:
    """The largest font size (down to 6 pt) at which ``text`` fits ``width``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    while size > 6 and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def slips_pdf(runtime, code: str, shift: str | None = None, portal_url: str = "", room: str | None = None) -> bytes:
    """The slips of a shift (or of the whole contest), in room and seat order."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from sandbox.kernel.errors import SandboxError

    from .contests import contest_info
    from .shifts import list_candidates

    info = contest_info(runtime, code)
    cands = list_candidates(runtime, code, shift=shift, room=room)
    if not cands:
        raise SandboxError("Không có thí sinh nào để in phiếu" + (f" trong ca «{shift}»." if shift else "."))
    cands.sort(key=lambda x: (x.shift, x.room, x.seat or 0, x.number))
    regular, bold = pdf_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(f"Phiếu đăng nhập - {info.name}" + (f" - {shift}" if shift else ""))
    c.setAuthor("Ban Tổ chức cuộc thi")
    page_w, page_h = A4
    margin = 8 * mm
    w, h = (page_w - 2 * margin) / COLS, (page_h - 2 * margin) / ROWS
    per_page = COLS * ROWS
    for start in range(0, len(cands), per_page):
        if start:
            c.showPage()
        # cut lines
        c.setDash(4, 3)
        c.setLineWidth(0.4)
        c.setStrokeGray(0.5)
        for i in range(COLS + 1):
            c.line(margin + i * w, margin, margin + i * w, page_h - margin)
        for j in range(ROWS + 1):
            c.line(margin, margin + j * h, page_w - margin, margin + j * h)
        c.setDash()
        c.setFont(regular, 6)
        c.setFillGray(0.4)
        c.drawString(margin, margin / 2, "Cắt theo đường nét đứt — mỗi thí sinh một phiếu, giữ kín mật khẩu.")
        c.setFillGray(0)
        for k, cand in enumerate(cands[start:start + per_page]):
            col, row = k % COLS, k // COLS
            x, top = margin + col * w + 5 * mm, page_h - margin - row * h - 7 * mm
            inner = w - 10 * mm
            c.setFont(bold, 8)
            title = info.name.upper()
            c.setFont(bold, _fit(c, title, bold, 8, inner))
            c.drawString(x, top, title)
            c.setFont(bold, 11)
            c.drawString(x, top - 6 * mm, "PHIẾU ĐĂNG NHẬP DỰ THI")
            lines = [
                ("Họ và tên", cand.full_name),
                ("Đơn vị", cand.unit),
                ("Số báo danh", cand.number),
                ("Ca thi", cand.shift or "—"),
                ("Phòng / ghế", f"{cand.room or '—'} / ghế {cand.seat if cand.seat else '—'}"),
            ]
            yy = top - 12 * mm
            for label, value in lines:
                c.setFont(regular, 9)
                c.drawString(x, yy, f"{label}:")
                size = _fit(c, value, bold, 10, inner - 24 * mm)
                c.setFont(bold, size)
                c.drawString(x + 24 * mm, yy, value)
                yy -= 5.2 * mm
            yy -= 1.5 * mm
            c.setFont(regular, 9)
            c.drawString(x, yy, "Địa chỉ trang thi:")
            url = portal_url or "(Ban Tổ chức thông báo tại phòng thi)"
            c.setFont(bold, _fit(c, url, bold, 10, inner - 30 * mm))
            c.drawString(x + 30 * mm, yy, url)
            yy -= 6.5 * mm
            c.setFont(regular, 9)
            c.drawString(x, yy, "Tên đăng nhập:")
            c.setFont(bold, 12)
            c.drawString(x + 30 * mm, yy, cand.number)
            yy -= 6.5 * mm
            c.setFont(regular, 9)
            c.drawString(x, yy, "Mật khẩu:")
            c.setFont("Courier-Bold", 14)
            c.drawString(x + 30 * mm, yy, candidate_password(runtime.secret, info.code, cand.number))
            c.setFont(regular, 6.5)
            c.setFillGray(0.35)
            c.drawString(x, top - h + 11 * mm,
                         f"Thời gian làm bài: {info.duration_minutes} phút. Không chia sẻ mật khẩu. "
                         f"In ngày {vnformat.short_date(runtime.clock.now())}.")
            c.setFillGray(0)
    c.save()
    return buf.getvalue()
