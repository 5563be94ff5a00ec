"""Reading an organiser's spreadsheet (.xlsx with openpyxl, or .csv in UTF-8) into rows keyed
by Vietnamese column headers, with every problem reported by file, sheet, row and column.

A file that cannot be read at all (not a real .xlsx, an old .xls, a CSV in Windows-1258,
merged header cells, missing columns) raises ``ImportFileError`` with a message telling the
organiser how to fix it; nothing is imported then."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.kernel.errors import SandboxError


class ImportFileError(SandboxError):
    """The file cannot be read as a table (nothing is imported)."""


@dataclass(frozen=True)
class Problem:
    """One problem of an import: where (sheet, row, column) and what."""

    row: int | None
    column: str | None
    message: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(f"Trang tính «{self.sheet}»")
        if self.row is not None:
            where.append(f"dòng {self.row}" if where else f"Dòng {self.row}")
        if self.column:
            where.append(f"cột «{self.column}»")
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass
class Row:
    number: int                       # the row number the organiser sees (Excel row, CSV line)
    values: dict[str, object]         # canonical column key -> cell value (str, int, float, None)
    merged: set[str] = field(default_factory=set)   # columns whose cell is part of a merged range


@dataclass
class Table:
    source: str                        # file name
    sheet: str | None                  # sheet name (xlsx) or None (csv)
    columns: dict[str, str]            # canonical key -> the header as written
    rows: list[Row]
    ignored_columns: list[str] = field(default_factory=list)


def header_key(text: object) -> str:
    """How headers are compared: NFC, case-folded, spaces collapsed, trailing '*' or ':' dropped."""
    s = unicodedata.normalize("NFC", str(text or "")).strip().rstrip("*:").strip()
    return re.sub(r"\s+", " ", s).casefold()


_MOJIBAKE = re.compile(r"á»|áº|Ä‘|Æ°|Ã¡|Ã¢|Ãª|Ã´|Ã³|Ã©")
_SAVE_XLSX = "Hãy mở tệp bằng Excel rồi chọn Lưu thành (Save As) → «Sổ làm việc Excel (*.xlsx)»."
_SAVE_UTF8 = "Hãy mở tệp bằng Excel rồi chọn Lưu thành (Save As) → «CSV UTF-8 (phân cách bằng dấu phẩy) (*.csv)»."


def open_workbook(name: str, data: bytes):
    """An openpyxl workbook, or ``ImportFileError`` when the bytes are not a real .xlsx."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(f"Tệp {name} là tệp Excel đời cũ (.xls), không đọc được. {_SAVE_XLSX}")
    if not data.startswith(b"PK"):
        raise ImportFileError(f"Tệp {name} không phải tệp Excel .xlsx thật (có thể là tệp khác bị đổi đuôi "
                              f"thành .xlsx). {_SAVE_XLSX}")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    # a damaged file: a bad zip, a member that does not inflate (zlib.error, EOFError), broken
    # XML (ElementTree's ParseError is a SyntaxError)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, zlib.error,
            EOFError, SyntaxError) as e:
        raise ImportFileError(f"Tệp {name} không phải tệp Excel .xlsx hợp lệ hoặc đã bị hỏng. {_SAVE_XLSX}",
                              f"openpyxl: {e!r}") from e


def _cell_value(v):
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def read_sheet(name: str, ws, columns: dict[str, tuple[str, ...]], required: tuple[str, ...],
               ignore: tuple[str, ...] = ("stt", "tt", "số thứ tự")) -> Table:
    """Rows of an openpyxl worksheet. ``columns`` maps a canonical key to the accepted
    headers (compared with ``header_key``); ``required`` lists keys that must be present."""
    rows = [[_cell_value(c) for c in r] for r in ws.iter_rows(values_only=True)]
    header_at = next((i for i, r in enumerate(rows) if any(v not in (None, "") for v in r)), None)
    if header_at is None:
        raise ImportFileError(f"Tệp {name}, trang tính «{ws.title}» không có dữ liệu.")
    header_row = header_at + 1
    merged_header = [str(rng) for rng in ws.merged_cells.ranges if rng.min_row <= header_row <= rng.max_row]
    if merged_header:
        raise ImportFileError(
            f"Tệp {name}, trang tính «{ws.title}», dòng tiêu đề {header_row}: có ô bị gộp ({', '.join(sorted(merged_header))}). "
            "Hãy bỏ gộp ô (Merge & Center) để mỗi cột có đúng một tiêu đề ở một dòng, rồi nhập lại.")
    merged_cells: dict[int, set[int]] = {}
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                merged_cells.setdefault(r, set()).add(c - 1)
    table = _table(name, ws.title, rows[header_at], columns, required, ignore)
    index = {k: i for k, i in table._index.items()}  # type: ignore[attr-defined]
    for i in range(header_at + 1, len(rows)):
        values = rows[i]
        if not any(v not in (None, "") for v in values):
            continue
        rn = i + 1
        row = Row(rn, {k: (values[j] if j < len(values) else None) for k, j in index.items()})
        row.merged = {k for k, j in index.items() if j in merged_cells.get(rn, ())}
        table.rows.append(row)
    return table


def _table(name: str, sheet: str | None, header: list, columns, required, ignore) -> Table:
    accepted = {header_key(h): key for key, hs in columns.items() for h in hs}
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    where = f"Tệp {name}" + (f", trang tính «{sheet}»" if sheet else "")
    for j, h in enumerate(header):
        if h in (None, ""):
            continue
        text = unicodedata.normalize("NFC", str(h)).strip()
        key = accepted.get(header_key(h))
        if key is None:
            if header_key(h) not in ignore:
                ignored.append(text)
            continue
        if key in index:
            raise ImportFileError(f"{where}: cột «{text}» xuất hiện hai lần trong dòng tiêu đề.")
        index[key], written[key] = j, text
    missing = [columns[k][0] for k in required if k not in index]
    if missing:
        raise ImportFileError(f"{where}: thiếu cột {', '.join('«' + m + '»' for m in missing)} ở dòng tiêu đề "
                              f"(dòng đầu tiên có dữ liệu). Các cột cần có: "
                              f"{', '.join('«' + hs[0] + '»' for hs in columns.values())}.")
    t = Table(name, sheet, written, [], ignored)
    t._index = index  # type: ignore[attr-defined]
    return t


def decode_csv(name: str, data: bytes) -> str:
    """The text of a CSV file in UTF-8 (with or without BOM); anything else is refused with
    a message telling how to save it as UTF-8 (never guessed, never mojibake)."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        raise ImportFileError(f"Tệp {name} được lưu bằng bảng mã UTF-16 (Unicode text), không phải UTF-8. {_SAVE_UTF8}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ImportFileError(
            f"Tệp {name} không được lưu bằng bảng mã UTF-8 (dòng {line} có byte không đọc được; có thể tệp được lưu "
            f"bằng bảng mã Windows-1258 hoặc Windows-1252/TCVN3). Không nhập để tránh sai dấu tiếng Việt. {_SAVE_UTF8}",
            f"utf-8 decode error at byte {e.start}") from e
    if _MOJIBAKE.search(text):
        line = text[:_MOJIBAKE.search(text).start()].count("\n") + 1
        raise ImportFileError(
            f"Tệp {name} có chữ tiếng Việt bị lỗi phông (ví dụ «á»», «Æ°» ở dòng {line}): tệp đã bị chuyển bảng mã sai "
            f"trước đó. Hãy mở tệp gốc và {_SAVE_UTF8[4:]}")
    return text


def read_csv(name: str, data: bytes, columns, required, ignore=("stt", "tt", "số thứ tự")) -> Table:
    text = decode_csv(name, data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise ImportFileError(f"Tệp {name} không có dữ liệu.")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    table = None
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as e:   # a cell over the csv module's limit (131,072 characters), a stray NUL
            too_long = "field larger than field limit" in str(e)
            raise ImportFileError(
                f"Tệp {name}, dòng {reader.line_num}: "
                + (f"có một ô dài quá {csv.field_size_limit():,} ký tự".replace(",", ".") + " (không phải dữ liệu danh sách)."
                   if too_long else "không đọc được theo định dạng CSV."),
                f"csv error at line {reader.line_num}: {e}") from e
        values = [v.strip() for v in values]
        if not any(values):
            continue
        if table is None:
            table = _table(name, None, values, columns, required, ignore)
            continue
        index = table._index  # type: ignore[attr-defined]
        table.rows.append(Row(reader.line_num, {k: (values[j] if j < len(values) and values[j] != "" else None)
                                                 for k, j in index.items()}))
    if table is None:
        raise ImportFileError(f"Tệp {name} không có dữ liệu.")
    return table


def kind_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix == ".xls":
        raise ImportFileError(f"Tệp {name} là tệp Excel đời cũ (.xls), không đọc được. {_SAVE_XLSX}")
    raise ImportFileError(f"Tệp {name}: chỉ nhận tệp Excel (.xlsx) hoặc CSV (.csv, UTF-8).")


def text_of(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def is_nfc(s: str) -> bool:
    return unicodedata.is_normalized("NFC", s)
