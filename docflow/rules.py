"""Vocabulary and pure rules of the document workflow: statuses and their Vietnamese labels,
role codes, document types, Decree 30 number/symbol and date-line formats."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sandbox.kernel.clock import VN_TZ, as_utc

# --- people ------------------------------------------------------------------------------
ROLES = {"lanh_dao": "Lãnh đạo", "chuyen_vien": "Chuyên viên", "van_thu": "Văn thư"}
LEADS = {"org": "Lãnh đạo cơ quan", "unit": "Lãnh đạo đơn vị", "none": ""}

# --- incoming ----------------------------------------------------------------------------
URGENCY = {"thuong": "Thường", "khan": "Khẩn", "thuong_khan": "Thượng khẩn", "hoa_toc": "Hỏa tốc"}
INCOMING_STATUS = {
    "registered": "Chờ xử lý",        # registered (liên thông 03), awaiting the directive
    "assigned": "Đã phân công",       # 04
    "in_progress": "Đang xử lý",      # 05
    "done": "Đã xử lý",               # 06
    "rejected": "Đã trả lại",         # 02 (returned to the sender)
}
ASSIGNMENT_ROLES = {"xlc": "Xử lý chính", "ph": "Phối hợp", "db": "Nhận để biết"}
ASSIGNMENT_STATUS = {"unread": "Chưa đọc", "read": "Đã đọc", "processing": "Đang xử lý",
                     "completed": "Hoàn thành"}
ASSIGNMENT_ORDER = ["unread", "read", "processing", "completed"]
#: Tabs of the incoming list.
INCOMING_TABS = {"cho_xu_ly": "Chờ xử lý", "dang_xu_ly": "Đang xử lý", "da_xu_ly": "Đã xử lý"}

# --- outgoing ----------------------------------------------------------------------------
OUTGOING_STATUS = {
    "drafting": "Đang soạn thảo",
    "submitted": "Đã trình lãnh đạo",
    "returned": "Bị trả lại",
    "approved": "Đã duyệt",
    "leader_signed": "Lãnh đạo đã ký số",
    "at_clerk": "Chờ văn thư phát hành",
    "numbered": "Đã cấp số",
    "org_signed": "Đã ký số cơ quan",
    "issued": "Đã phát hành",
    "sent": "Đã gửi",
    "archived": "Đã lưu hồ sơ",
}
#: Statuses in which the draft has not been released yet (the "dự thảo" lists).
DRAFT_STATUSES = ("drafting", "submitted", "returned", "approved", "leader_signed")
RELEASE_STATUSES = ("at_clerk", "numbered", "org_signed")
DONE_STATUSES = ("issued", "sent", "archived")

# --- document types (Decree 30 Phụ lục III) ---------------------------------------------
#: "CV" is the công văn (no type name; symbol N/ORG-UNIT; summary line "V/v ...").
TYPES = {
    "CV": "CÔNG VĂN", "QĐ": "QUYẾT ĐỊNH", "NQ": "NGHỊ QUYẾT", "CT": "CHỈ THỊ", "QC": "QUY CHẾ",
    "QyĐ": "QUY ĐỊNH", "TB": "THÔNG BÁO", "HD": "HƯỚNG DẪN", "CTr": "CHƯƠNG TRÌNH",
    "KH": "KẾ HOẠCH", "PA": "PHƯƠNG ÁN", "ĐA": "ĐỀ ÁN", "BC": "BÁO CÁO", "BB": "BIÊN BẢN",
    "TTr": "TỜ TRÌNH", "GM": "GIẤY MỜI", "GUQ": "GIẤY ỦY QUYỀN", "GGT": "GIẤY GIỚI THIỆU",
    "PG": "PHIẾU GỬI", "PC": "PHIẾU CHUYỂN", "PB": "PHIẾU BÁO", "HĐ": "HỢP ĐỒNG",
}


def nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "").strip()


def vn_now(now: datetime) -> datetime:
    """In-world time in Vietnam (UTC+07:00)."""
    return as_utc(now).astimezone(VN_TZ)


def vn_today(now: datetime) -> date:
    return vn_now(now).date()


def format_number(n: int) -> str:
    """Decree 30: numbers below 10 take a leading 0 ("05"); others as they are ("125")."""
    return f"{n:02d}"


def symbol(number: int, type_code: str, org_code: str, unit_code: str | None = None) -> str:
    """``15/QĐ-UBND``; công văn ``12/UBND-VX`` (organisation then drafting unit)."""
    n = format_number(number)
    if type_code == "CV":
        return f"{n}/{org_code}-{unit_code}" if unit_code else f"{n}/{org_code}"
    return f"{n}/{type_code}-{org_code}"


def date_line(place: str, day: date) -> str:
    """Decree 30 date line: "Cần Thơ, ngày 05 tháng 01 năm 2020"; days below 10 and the
    months 1 and 2 take a leading 0, other months do not ("ngày 15 tháng 3 năm 2025")."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    text = f"ngày {day.day:02d} tháng {month} năm {day.year}"
    return f"{place}, {text}" if place else text.capitalize()


def parse_date(value: str | date | None, what: str = "Ngày") -> date | None:
    from .errors import DocflowError

    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise DocflowError(f"{what} không hợp lệ: «{text}» (dùng dạng ngày/tháng/năm, ví dụ 05/01/2025).",
                       f"bad date {text!r}")


def render_summary(type_code: str, summary: str) -> str:
    """The summary as printed: a công văn's starts with "V/v"."""
    summary = nfc(summary)
    if type_code == "CV" and not summary.lower().startswith("v/v"):
        return f"V/v {summary}"
    return summary
