"""Units and the roster (danh sách thí sinh), imported from .xlsx or .csv.

Units are declared before candidates: ``sandbox contest import-units`` (columns "Đơn vị",
"Cấp"), or a sheet named "Đơn vị" in the roster workbook (read first, same rules). A roster
row naming a unit that is not declared is rejected ("unknown unit").

Every problem of the file is listed (row and column) before anything is saved; then either
nothing is saved (the default when anything is wrong) or, with ``partial=True``, every good
row is saved and the rejected ones are listed."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from sandbox.kernel.errors import SandboxError

from .models import TIERS, Candidate, Contest, ContestUnit
from .tables import ImportFileError, Problem, Table, is_nfc, kind_of, open_workbook, read_csv, read_sheet, text_of

UNIT_SHEET = "đơn vị"
UNIT_COLUMNS = {"unit": ("Đơn vị", "Tên đơn vị", "Cơ quan, đơn vị", "Cơ quan"), "tier": ("Cấp",)}
ROSTER_COLUMNS = {
    "number": ("Số báo danh", "SBD"),
    "name": ("Họ và tên", "Họ tên"),
    "title": ("Chức vụ",),
    "unit": ("Đơn vị", "Cơ quan, đơn vị", "Cơ quan"),
    "tier": ("Cấp",),
    "email": ("Email", "E-mail", "Thư điện tử"),
    "phone": ("Điện thoại", "Số điện thoại"),
}
COLUMN_TITLE = {k: v[0] for k, v in ROSTER_COLUMNS.items()}

_TIER_WORDS = {"sở": "so", "so": "so", "cấp sở": "so", "sở, ban, ngành": "so", "thành phố": "so",
               "huyện": "huyen", "huyen": "huyen", "cấp huyện": "huyen", "quận, huyện": "huyen", "quận": "huyen",
               "xã": "xa", "xa": "xa", "cấp xã": "xa", "xã, phường, thị trấn": "xa", "phường": "xa"}
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 .()-]{7,18}$")
_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
_NFC_MSG = ("chữ tiếng Việt không ở dạng Unicode dựng sẵn (NFC), có thể gõ bằng bảng mã tổ hợp; "
            "hãy chuyển sang «Unicode dựng sẵn» (ví dụ bằng công cụ chuyển mã của Unikey)")


def parse_tier(value: str) -> str | None:
    return _TIER_WORDS.get(unicodedata.normalize("NFC", value).strip().casefold())


def _name_key(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip().casefold()


# --- the report ---------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import found and did. ``problems`` lists every problem (row, column);
    ``rejected_rows`` the rows left out; ``saved`` whether anything was written."""

    source: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    saved: bool = False
    saved_count: int = 0
    units_added: int = 0
    numbers: list[str] = field(default_factory=list)   # the candidate numbers saved, in file order
    dry_run: bool = False
    partial: bool = False
    rejected_unit_rows: list[int] = field(default_factory=list)   # rows of the "Đơn vị" sheet left out
    what: str = "thí sinh"

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as the CLI prints it and the admin page shows it."""
        nbad = len(self.rejected_rows) + len(self.rejected_unit_rows)
        out = [f"Tệp {self.source}: {self.rows} dòng dữ liệu, {len(self.problems)} lỗi"
               + (f" ở {nbad} dòng." if self.problems else ".")]
        out += [f"  - {p}" for p in self.problems]
        out += [f"  Lưu ý: {w}" for w in self.warnings]
        if self.dry_run:
            out.append(f"Kiểm tra xong, chưa lưu gì: {self.rows - nbad} dòng hợp lệ, {nbad} dòng bị loại.")
        elif self.saved:
            out.append(f"Đã lưu {self.saved_count} {self.what}" + (f" và {self.units_added} đơn vị" if self.units_added else "")
                       + (f"; {len(self.rejected_rows)} dòng bị loại: dòng "
                          + ", ".join(str(r) for r in self.rejected_rows) + "." if self.rejected_rows else ".")
                       + (f" Trang tính «Đơn vị»: {len(self.rejected_unit_rows)} dòng bị loại." if self.rejected_unit_rows else ""))
        elif self.problems:
            out.append("Không lưu gì vì tệp có lỗi. Hãy sửa các lỗi trên rồi nhập lại, "
                       "hoặc nhập các dòng hợp lệ bằng tùy chọn --partial.")
        else:
            out.append("Không có dòng nào để lưu.")
        return out


# --- reading ------------------------------------------------------------------------------

@dataclass
class _Parsed:
    table: Table
    unit_table: Table | None


def _read(name: str, data: bytes, columns, required, want_units: bool) -> _Parsed:
    if kind_of(name) == "csv":
        return _Parsed(read_csv(name, data, columns, required), None)
    wb = open_workbook(name, data)
    unit_ws = next((ws for ws in wb.worksheets if ws.title.strip().casefold() == UNIT_SHEET), None) if want_units else None
    sheets = [ws for ws in wb.worksheets if ws is not unit_ws]
    if not sheets:
        raise ImportFileError(f"Tệp {name} không có trang tính danh sách thí sinh.")
    main = next((ws for ws in sheets if ws.title.strip().casefold() in ("danh sách", "danh sach", "thí sinh")), None)
    main = main or (wb.active if wb.active is not unit_ws else sheets[0])
    units = read_sheet(name, unit_ws, UNIT_COLUMNS, ("unit", "tier")) if unit_ws is not None else None
    return _Parsed(read_sheet(name, main, columns, required), units)


def _load(path_or_name, data: bytes | None) -> tuple[str, bytes]:
    if data is not None:
        return Path(str(path_or_name)).name, data
    p = Path(path_or_name)
    try:
        return p.name, p.read_bytes()
    except OSError as e:
        raise SandboxError(f"Không đọc được tệp {p}: {e.strerror}.") from e


def _contest(s, code: str) -> Contest:
    from .contests import get_contest
    return get_contest(s, code)


# --- units --------------------------------------------------------------------------------

def _check_units(table: Table, known: dict[str, ContestUnit], sheet: str | None) -> tuple[list, list[Problem], set[int]]:
    """(new units [(name, tier)], problems, rejected rows)."""
    new, problems, bad = [], [], set()
    seen: dict[str, int] = {}
    for row in table.rows:
        name, tier_text = text_of(row.values.get("unit")), text_of(row.values.get("tier"))
        probs = []
        if not name:
            probs.append(Problem(row.number, "Đơn vị", "tên đơn vị để trống.", sheet))
        elif not is_nfc(name):
            probs.append(Problem(row.number, "Đơn vị", _NFC_MSG + ".", sheet))
        tier = parse_tier(tier_text) if tier_text else None
        if not tier_text:
            probs.append(Problem(row.number, "Cấp", "cấp để trống (ghi: sở, huyện hoặc xã).", sheet))
        elif tier is None:
            probs.append(Problem(row.number, "Cấp", f"cấp «{tier_text}» không hợp lệ (chỉ nhận: sở, huyện, xã).", sheet))
        if name and not probs:
            key = _name_key(name)
            if key in seen:
                probs.append(Problem(row.number, "Đơn vị", f"đơn vị «{name}» trùng với dòng {seen[key]}.", sheet))
            elif key in known and known[key].tier != tier:
                probs.append(Problem(row.number, "Cấp", f"đơn vị «{name}» đã có với {TIERS[known[key].tier].lower()}, "
                                                        f"khác với «{tier_text}».", sheet))
            else:
                seen[key] = row.number
                if key not in known:
                    new.append((unicodedata.normalize("NFC", re.sub(r"\s+", " ", name)), tier))
        if probs:
            problems += probs
            bad.add(row.number)
    return new, problems, bad


def _known_units(s, contest_id: int) -> dict[str, ContestUnit]:
    return {_name_key(u.name): u for u in s.scalars(select(ContestUnit).where(ContestUnit.contest_id == contest_id))}


def import_units(runtime, code: str, path, data: bytes | None = None, *, partial: bool = False,
                 dry_run: bool = False, actor: str = "cli") -> ImportReport:
    """Declare the contest's units from a file with columns "Đơn vị" and "Cấp"."""
    from .contests import record_event
    name, data = _load(path, data)
    if kind_of(name) == "csv":
        table = read_csv(name, data, UNIT_COLUMNS, ("unit", "tier"))
    else:
        wb = open_workbook(name, data)
        ws = next((w for w in wb.worksheets if w.title.strip().casefold() == UNIT_SHEET), wb.active)
        table = read_sheet(name, ws, UNIT_COLUMNS, ("unit", "tier"))
    report = ImportReport(name, rows=len(table.rows), dry_run=dry_run, partial=partial, what="đơn vị")
    with runtime.db.write() as s:
        c = _contest(s, code)
        new, problems, bad = _check_units(table, _known_units(s, c.id), None)
        report.problems, report.rejected_rows = problems, sorted(bad)
        if dry_run or (problems and not partial):
            return report
        for uname, tier in new:
            s.add(ContestUnit(contest_id=c.id, name=uname, tier=tier))
        record_event(s, runtime, c.id, "import_units", actor, detail={"file": name, "added": len(new),
                                                                      "rejected": report.rejected_rows})
        report.saved, report.saved_count = True, len(new)
    return report


def add_unit(runtime, code: str, name: str, tier: str, actor: str = "cli") -> int:
    name = unicodedata.normalize("NFC", re.sub(r"\s+", " ", name or "").strip())
    t = parse_tier(tier or "")
    if not name:
        raise SandboxError("Tên đơn vị không được để trống.")
    if t is None:
        raise SandboxError(f"Cấp «{tier}» không hợp lệ (chỉ nhận: sở, huyện, xã).")
    with runtime.db.write() as s:
        c = _contest(s, code)
        known = _known_units(s, c.id)
        if _name_key(name) in known:
            raise SandboxError(f"Đơn vị «{name}» đã có trong cuộc thi.")
        u = ContestUnit(contest_id=c.id, name=name, tier=t)
        s.add(u)
        s.flush()
        return u.id


# --- candidates ---------------------------------------------------------------------------

def number_prefix(contest: Contest) -> str:
    """Generated candidate numbers: "CT23-0001" for a 2023 contest."""
    return f"CT{contest.year % 100:02d}-"


@dataclass
class _Good:
    row: int
    number: str
    name: str
    title: str
    unit_key: str
    email: str
    phone: str


def _check_candidates(table: Table, s, c: Contest, units: dict[str, tuple]) -> tuple[list[_Good], list[Problem]]:
    problems: list[Problem] = []
    good: list[_Good] = []
    existing = s.execute(select(Candidate.number, Candidate.full_name, Candidate.email, ContestUnit.name)
                         .join(ContestUnit, Candidate.unit_id == ContestUnit.id)
                         .where(Candidate.contest_id == c.id)).all()
    db_numbers = {n.casefold(): n for n, _, _, _ in existing}
    db_people = {(_name_key(fn), _name_key(un)): n for n, fn, _, un in existing}
    db_emails = {e.casefold(): n for n, _, e, _ in existing if e}
    seen_numbers: dict[str, int] = {}
    seen_people: dict[tuple, int] = {}
    seen_emails: dict[str, int] = {}
    for row in table.rows:
        v = {k: text_of(row.values.get(k)) for k in ROSTER_COLUMNS}
        if isinstance(row.values.get("phone"), int) and len(v["phone"]) == 9:
            v["phone"] = "0" + v["phone"]   # a number cell drops the leading zero of 09xx…
        probs: list[Problem] = []

        def bad(col: str, msg: str):
            probs.append(Problem(row.number, COLUMN_TITLE[col], msg))

        for col in row.merged:
            bad(col, "ô bị gộp với ô khác; hãy bỏ gộp ô và ghi đủ giá trị cho từng dòng.")
        nfc_bad = {k for k, x in v.items() if x and not is_nfc(x)}
        for k in ROSTER_COLUMNS:
            if k in nfc_bad:
                bad(k, _NFC_MSG + ".")
        # number
        number = v["number"]
        if number:
            if not _NUMBER_RE.match(number):
                bad("number", f"số báo danh «{number}» không hợp lệ (chỉ dùng chữ không dấu, số và '-', tối đa 20 ký tự).")
            elif number.casefold() in seen_numbers:
                bad("number", f"số báo danh «{number}» trùng với dòng {seen_numbers[number.casefold()]}.")
            elif number.casefold() in db_numbers:
                bad("number", f"số báo danh «{number}» đã được cấp cho một thí sinh khác của cuộc thi.")
            else:
                seen_numbers[number.casefold()] = row.number
        # name
        if not v["name"]:
            bad("name", "họ và tên để trống.")
        # unit and tier
        unit_key = _name_key(v["unit"]) if v["unit"] else ""
        unit = units.get(unit_key)
        if not v["unit"]:
            bad("unit", "đơn vị để trống.")
        elif "unit" not in nfc_bad and unit is None:
            bad("unit", f"đơn vị «{v['unit']}» chưa được khai báo trong cuộc thi (khai báo bằng lệnh "
                        "sandbox contest import-units hoặc trang tính «Đơn vị» trong cùng tệp).")
        if v["tier"]:
            tier = parse_tier(v["tier"])
            if tier is None:
                bad("tier", f"cấp «{v['tier']}» không hợp lệ (chỉ nhận: sở, huyện, xã).")
            elif unit is not None and unit[1] != tier:
                bad("tier", f"cấp «{v['tier']}» không khớp với đơn vị «{v['unit']}» ({TIERS[unit[1]].lower()}).")
        # e-mail, phone
        email = v["email"]
        if email:
            if not _EMAIL_RE.match(email):
                bad("email", f"địa chỉ thư «{email}» không hợp lệ.")
            elif email.casefold() in seen_emails:
                bad("email", f"địa chỉ thư «{email}» trùng với dòng {seen_emails[email.casefold()]}.")
            elif email.casefold() in db_emails:
                bad("email", f"địa chỉ thư «{email}» đã có ở thí sinh {db_emails[email.casefold()]}.")
            else:
                seen_emails[email.casefold()] = row.number
        if v["phone"] and not _PHONE_RE.match(v["phone"]):
            bad("phone", f"số điện thoại «{v['phone']}» không hợp lệ.")
        # the same person twice (same name in the same unit)
        if v["name"] and unit is not None and "name" not in nfc_bad:
            pkey = (_name_key(v["name"]), unit_key)
            if pkey in seen_people:
                bad("name", f"trùng người với dòng {seen_people[pkey]} (cùng họ tên, cùng đơn vị).")
            elif pkey in db_people:
                bad("name", f"người này đã có trong danh sách (số báo danh {db_people[pkey]}).")
            else:
                seen_people[pkey] = row.number
        if probs:
            problems += probs
        else:
            good.append(_Good(row.number, number, re.sub(r"\s+", " ", v["name"]), v["title"], unit_key,
                              email, v["phone"]))
    return good, problems


def import_roster(runtime, code: str, path, data: bytes | None = None, *, partial: bool = False,
                  dry_run: bool = False, actor: str = "cli") -> ImportReport:
    """Import candidates from ``path`` (.xlsx or .csv; or ``data`` with ``path`` its name).

    Reads and checks the whole file first. ``dry_run``: only the report. Otherwise, with no
    problem everything is saved; with problems nothing is saved unless ``partial`` (then the
    good rows are saved and the others listed). Raises ``ImportFileError`` (a SandboxError)
    when the file cannot be read at all: nothing is saved then."""
    from .contests import record_event
    name, data = _load(path, data)
    parsed = _read(name, data, ROSTER_COLUMNS, ("name", "unit"), want_units=True)
    table = parsed.table
    report = ImportReport(name, rows=len(table.rows), dry_run=dry_run, partial=partial)
    if table.ignored_columns:
        report.warnings.append("bỏ qua các cột không dùng: " + ", ".join(f"«{c}»" for c in table.ignored_columns) + ".")
    with runtime.db.write() as s:
        c = _contest(s, code)
        known = _known_units(s, c.id)
        units = {k: (u.id, u.tier) for k, u in known.items()}
        new_units: list = []
        unit_bad: set[int] = set()
        if parsed.unit_table is not None:
            new_units, uprobs, unit_bad = _check_units(parsed.unit_table, known, parsed.unit_table.sheet)
            report.problems += uprobs
            report.rows += len(parsed.unit_table.rows)
            for uname, tier in new_units:
                units[_name_key(uname)] = (None, tier)
        good, problems = _check_candidates(table, s, c, units)
        report.problems += problems
        rejected = sorted({p.row for p in problems if p.row is not None})
        report.rejected_rows = rejected
        report.rejected_unit_rows = sorted(unit_bad)
        if dry_run or (report.problems and not partial) or (not good and not new_units):
            return report
        # save: units first, then candidates with numbers (imported, or generated unique)
        for uname, tier in new_units:
            u = ContestUnit(contest_id=c.id, name=uname, tier=tier)
            s.add(u)
            s.flush()
            units[_name_key(uname)] = (u.id, tier)
        prefix = number_prefix(c)
        used = {n.casefold() for n in s.scalars(select(Candidate.number).where(Candidate.contest_id == c.id))}
        used |= {g.number.casefold() for g in good if g.number}
        seq = _next_seq(s, c.id, prefix)
        for g in good:
            number = g.number
            if not number:
                while f"{prefix}{seq:04d}".casefold() in used:
                    seq += 1
                number = f"{prefix}{seq:04d}"
                used.add(number.casefold())
                seq += 1
            s.add(Candidate(contest_id=c.id, number=number, full_name=unicodedata.normalize("NFC", g.name),
                            title=g.title, unit_id=units[g.unit_key][0], email=g.email, phone=g.phone))
            report.numbers.append(number)
        report.saved, report.saved_count, report.units_added = True, len(good), len(new_units)
        record_event(s, runtime, c.id, "import_roster", actor,
                     detail={"file": name, "saved": len(good), "units_added": len(new_units),
                             "rejected_rows": report.rejected_rows, "partial": partial})
    return report


def _next_seq(s, contest_id: int, prefix: str) -> int:
    numbers = s.scalars(select(Candidate.number).where(Candidate.contest_id == contest_id,
                                                       Candidate.number.like(prefix + "%")))
    best = 0
    for n in numbers:
        tail = n[len(prefix):]
        if tail.isdigit():
            best = max(best, int(tail))
    return best + 1


def count_candidates(s, contest_id: int) -> int:
    return s.scalar(select(func.count(Candidate.id)).where(Candidate.contest_id == contest_id)) or 0
