"""Vietnamese number and date formats: ``1.234,5``, ``13,43%``, ``ngày 05 tháng 01 năm 2024``."""
from __future__ import annotations

from datetime import date, datetime

from sandbox.kernel.clock import VN_TZ


def number(value: float | int, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def score(x: float | int) -> str:
    """A score: decimal comma, at most two decimals, no trailing zeros (``7,5``, ``100``)."""
    x = round(float(x), 2)
    if x.is_integer():
        return str(int(x))
    return f"{x:.2f}".rstrip("0").replace(".", ",")


def percent(value: float, decimals: int = 2) -> str:
    return number(value, decimals) + "%"


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:
        from sandbox.kernel.clock import as_utc
        value = as_utc(value)
    return value.astimezone(VN_TZ)


def short_date(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def date_time(value: datetime) -> str:
    v = _local(value)
    return f"{v.hour:02d}:{v.minute:02d} {short_date(v)}"


def long_date(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = _local(value)
    return f"ngày {value.day:02d} tháng {value.month:02d} năm {value.year}"


def file_size(n: int) -> str:
    if n < 1024:
        return f"{n} byte"
    if n < 1024 * 1024:
        return f"{number(n / 1024, 1)} KB"
    return f"{number(n / 1024 / 1024, 1)} MB"
