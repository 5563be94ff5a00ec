"""Fuzzing the roster import (``sandbox.contest.roster`` over ``sandbox.contest.tables``).
Contract: ``import_roster`` gives an ``ImportReport`` (its problems listed row by row) or
raises ``ImportFileError``/``SandboxError`` with a Vietnamese message; never another
exception (an HTTP 500 on the organiser's upload page). Dry runs: nothing is saved."""
from __future__ import annotations

import io

import pytest
from hypothesis import example, given, strategies as st

from sandbox.contest.roster import ROSTER_COLUMNS, UNIT_COLUMNS, import_roster
from sandbox.kernel.errors import SandboxError
from tests.conftest import open_runtime
from tests.contest.portal_factory import make_portal_world
from tests.fuzz.conftest import budget, count

HEADERS = [h for names in ROSTER_COLUMNS.values() for h in names] + ["STT", "Ghi chú", "", "Họ  và  tên", "SBD"]
CELLS = ["Nguyễn Văn An", "Ủy ban nhân dân quận Cái Răng", "huyện", "sở", "xã", "Cấp 4", "an@cantho.gov.vn", "a@",
         "0912 345 678", "TS001", "ts001", "=1+1", "@SUM(A1)", "\x00", "\ufeff", "Nguyê\u0303n", "Ã¡Â»", "", " ", "\t"]


@pytest.fixture(scope="module")
def contest(tmp_path_factory):
    rt = open_runtime(tmp_path_factory.mktemp("fuzz-roster"))
    w = make_portal_world(rt, code="fuzz2024", n=1, questions=2)
    yield rt, w.code
    rt.close()


def _check(contest, name: str, data: bytes) -> None:
    rt, code = contest
    try:
        report = import_roster(rt, code, name, data, dry_run=True)
    except SandboxError as e:
        assert e.message_vi and "Traceback" not in e.message_vi
        return
    assert report.dry_run


cells = st.sampled_from(CELLS) | st.text(max_size=12)
rows = st.lists(st.lists(cells, max_size=8), max_size=8)


@given(st.lists(st.sampled_from(HEADERS), max_size=8), rows, st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["utf-8", "utf-8-sig"]))
@example(["Họ và tên", "Đơn vị"], [["a" * 131_073, "b"]], ",", "utf-8")
@example(["Họ và tên", "Đơn vị", "Đơn vị"], [], ",", "utf-8")
def test_fuzz_roster_csv(contest, header, body, delimiter, encoding):
    count("test_fuzz_roster_csv")
    text = "\n".join(delimiter.join(r) for r in [header] + body)
    _check(contest, "danh-sach.csv", text.encode(encoding, "surrogatepass"))


@given(st.binary(max_size=400), st.sampled_from(["ds.csv", "ds.xlsx", "ds.xls", "ds.txt", "ds"]))
def test_fuzz_roster_bytes(contest, data, name):
    count("test_fuzz_roster_bytes")
    _check(contest, name, data)


def _xlsx(sheets: list[tuple[str, list[list]]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, table in sheets:
        ws = wb.create_sheet(title=title)
        for row in table:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


xlsx_cells = (cells | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | st.none()
              | st.datetimes() | st.booleans())
# openpyxl refuses control characters in cells and some sheet titles: those are not files Excel makes
clean = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
titles = st.sampled_from(["Danh sách", "Thí sinh", "Đơn vị", "Sheet1", "đơn vị "]) | st.text("abc xyz", min_size=1, max_size=10)


@budget(150)
@given(st.lists(st.tuples(titles, st.lists(st.lists(st.sampled_from(HEADERS + [h for v in UNIT_COLUMNS.values() for h in v])
                                                    | clean | xlsx_cells.filter(lambda v: not isinstance(v, str)),
                                                    max_size=6), max_size=6)),
                min_size=1, max_size=3, unique_by=lambda t: t[0].strip().casefold()))
def test_fuzz_roster_xlsx(contest, sheets):
    count("test_fuzz_roster_xlsx")
    _check(contest, "danh-sach.xlsx", _xlsx(sheets))


@pytest.fixture(scope="module")
def good_xlsx():
    return _xlsx([("Danh sách", [["STT", "Họ và tên", "Đơn vị", "Cấp"], [1, "Nguyễn Văn An", "Sở Nội vụ", "sở"]]),
                  ("Đơn vị", [["Đơn vị", "Cấp"], ["Sở Nội vụ", "sở"]])])


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8), st.integers(0, 10**6))
def test_fuzz_roster_xlsx_damaged(contest, good_xlsx, flips, cut):
    """A real workbook with bytes changed and its end cut off (a damaged or half-copied file)."""
    count("test_fuzz_roster_xlsx_damaged")
    data = bytearray(good_xlsx)
    for pos, value in flips:
        data[pos % len(data)] = value
    _check(contest, "danh-sach.xlsx", bytes(data[:len(data) - cut % 64]))


