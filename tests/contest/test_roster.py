"""Roster import (issue 7, acceptance 1 and 5): every problem reported by row and column
before anything is saved; all-or-nothing unless the organiser chose the good rows; numbers
unique; unreadable files refused with a clear message and nothing half-imported."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from sandbox.contest import api
from sandbox.contest.models import Candidate, ContestUnit

HEADERS = ["STT", "Số báo danh", "Họ và tên", "Chức vụ", "Đơn vị", "Cấp", "Email", "Điện thoại"]
UNITS = [("Sở Nội vụ", "sở"), ("UBND quận Ninh Kiều", "huyện"), ("UBND phường An Hòa", "xã")]


def make_contest(rt, code="cds2023", units=True):
    api.create_contest(rt, code, "Cuộc thi năm 2023", 2023, ["Lý thuyết=60", "Thực hành=40"], 60)
    if units:
        for name, tier in UNITS:
            api.add_unit(rt, code, name, tier)


def write_xlsx(path: Path, rows, headers=HEADERS, units_sheet=None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(headers)
    for r in rows:
        ws.append(list(r))
    if units_sheet is not None:
        us = wb.create_sheet("Đơn vị")
        us.append(["Đơn vị", "Cấp"])
        for r in units_sheet:
            us.append(list(r))
    wb.save(path)
    return path


def count(rt, model) -> int:
    with rt.db.read() as s:
        return s.scalar(select(func.count(model.id)))


NOT_NFC = unicodedata.normalize("NFD", "Phạm Thị Dung")
SEEDED = [
    (1, "", "Nguyễn Văn An", "Giám đốc", "Sở Nội vụ", "sở", "an.nv@cantho.gov.vn", "0912345678"),
    (2, "", "", "Phó Giám đốc", "Sở Nội vụ", "sở", "", ""),                                         # empty name
    (3, "", "Trần Thị Bình", "Chủ tịch", "UBND quận Ninh Kiều", "huyện", "binh@cantho", "0912 345 679"),  # bad e-mail
    (4, "", "Lê Văn Cường", "Chủ tịch", "UBND phường Cái Khế", "xã", "cuong@cantho.gov.vn", ""),      # unknown unit
    (5, "", NOT_NFC, "Phó Chủ tịch", "UBND phường An Hòa", "xã", "dung@cantho.gov.vn", ""),           # not NFC
    (6, "", "Võ Minh Em", "Trưởng phòng", "UBND quận Ninh Kiều", "tỉnh", "em@cantho.gov.vn", ""),     # unknown tier
    (7, "", "Nguyễn Văn An", "Giám đốc", "Sở Nội vụ", "Sở", "an2@cantho.gov.vn", ""),                # same person as row 2
    (8, "CT23-0100", "Đặng Thu Giang", "Phó Chủ tịch", "UBND quận Ninh Kiều", "huyện", "giang@cantho.gov.vn", ""),
    (9, "CT23-0100", "Hồ Văn Hải", "Chủ tịch", "UBND phường An Hòa", "xã", "hai@cantho.gov.vn", ""),  # same number
    (10, "", "Mai Thị Lan", "Giám đốc", "Sở Nội vụ", "huyện", "lan@cantho.gov.vn", ""),              # tier ≠ unit
]
EXPECTED = [
    "Dòng 3, cột «Họ và tên»: họ và tên để trống.",
    "Dòng 4, cột «Email»: địa chỉ thư «binh@cantho» không hợp lệ.",
    "Dòng 5, cột «Đơn vị»: đơn vị «UBND phường Cái Khế» chưa được khai báo trong cuộc thi (khai báo bằng lệnh "
    "sandbox contest import-units hoặc trang tính «Đơn vị» trong cùng tệp).",
    "Dòng 6, cột «Họ và tên»: chữ tiếng Việt không ở dạng Unicode dựng sẵn (NFC), có thể gõ bằng bảng mã tổ hợp; "
    "hãy chuyển sang «Unicode dựng sẵn» (ví dụ bằng công cụ chuyển mã của Unikey).",
    "Dòng 7, cột «Cấp»: cấp «tỉnh» không hợp lệ (chỉ nhận: sở, huyện, xã).",
    "Dòng 8, cột «Họ và tên»: trùng người với dòng 2 (cùng họ tên, cùng đơn vị).",
    "Dòng 10, cột «Số báo danh»: số báo danh «CT23-0100» trùng với dòng 9.",
    "Dòng 11, cột «Cấp»: cấp «huyện» không khớp với đơn vị «Sở Nội vụ» (cấp sở).",
]


def test_seeded_errors_give_exactly_the_expected_report_and_nothing_is_saved(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = write_xlsx(tmp_path / "danh-sach.xlsx", SEEDED)
    report = api.import_roster(sqlite_runtime, "cds2023", f)
    assert [str(p) for p in report.problems] == EXPECTED
    assert report.rejected_rows == [3, 4, 5, 6, 7, 8, 10, 11]
    assert not report.saved and count(sqlite_runtime, Candidate) == 0
    assert report.warnings == []     # "STT" is a known column to ignore
    assert report.lines()[0] == "Tệp danh-sach.xlsx: 10 dòng dữ liệu, 8 lỗi ở 8 dòng."
    assert report.lines()[-1].startswith("Không lưu gì vì tệp có lỗi.")


def test_partial_saves_good_rows_with_unique_numbers(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = write_xlsx(tmp_path / "danh-sach.xlsx", SEEDED)
    report = api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    assert report.saved and report.saved_count == 2
    assert report.numbers == ["CT23-0001", "CT23-0100"]
    assert report.lines()[-1] == "Đã lưu 2 thí sinh; 8 dòng bị loại: dòng 3, 4, 5, 6, 7, 8, 10, 11."
    # importing the same people again: each is a duplicate of the saved roster
    again = api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    assert "Dòng 2, cột «Email»: địa chỉ thư «an.nv@cantho.gov.vn» đã có ở thí sinh CT23-0001." in map(str, again.problems)
    assert "Dòng 9, cột «Số báo danh»: số báo danh «CT23-0100» đã được cấp cho một thí sinh khác của cuộc thi." in \
        map(str, again.problems)


def test_clean_file_imports_with_unit_sheet_and_generated_numbers_are_unique(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime, units=False)
    rows = [(i, "CT23-0002" if i == 1 else "", f"Nguyễn Văn Thí Sinh {i}", "Trưởng phòng", UNITS[i % 3][0],
             UNITS[i % 3][1], f"ts{i}@cantho.gov.vn", 912000000 + i) for i in range(1, 31)]
    f = write_xlsx(tmp_path / "sach.xlsx", rows, units_sheet=UNITS)
    report = api.import_roster(sqlite_runtime, "cds2023", f)
    assert report.ok and report.saved and report.saved_count == 30 and report.units_added == 3
    assert len(set(report.numbers)) == 30 and report.numbers[0] == "CT23-0002"
    assert report.numbers[1:3] == ["CT23-0001", "CT23-0003"]      # generated ones skip the imported number
    c = api.candidate_by_number(sqlite_runtime, "cds2023", "CT23-0004")   # row i=4
    assert c.unit == UNITS[4 % 3][0] and c.tier == "huyen" and c.phone == "0912000004"   # leading zero kept
    assert count(sqlite_runtime, ContestUnit) == 3


def test_csv_with_bom_and_semicolons_imports(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    text = ("Họ và tên;Chức vụ;Đơn vị;Cấp;Email;Điện thoại\n"
            "Nguyễn Văn An;Giám đốc;Sở Nội vụ;sở;an@cantho.gov.vn;0912345678\n"
            "Trần Thị Bình;Chủ tịch;UBND quận Ninh Kiều;huyện;;\n")
    f = tmp_path / "ds.csv"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode())
    report = api.import_roster(sqlite_runtime, "cds2023", f)
    assert report.ok and report.numbers == ["CT23-0001", "CT23-0002"]


# --- acceptance 5: files that are not what they claim ------------------------------------

def to_cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: base letters precomposed, tone marks combining."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", ch)
        tones = "".join(x for x in d if x in "\u0300\u0301\u0303\u0309\u0323")
        out += (unicodedata.normalize("NFC", "".join(x for x in d if x not in tones)) + tones).encode("cp1258")
    return bytes(out)


def test_not_really_xlsx(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = tmp_path / "danh-sach.xlsx"
    f.write_text("Họ và tên,Đơn vị\nNguyễn Văn An,Sở Nội vụ\n", encoding="utf-8")
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    assert e.value.message_vi.startswith("Tệp danh-sach.xlsx không phải tệp Excel .xlsx thật")
    assert "Sổ làm việc Excel (*.xlsx)" in e.value.message_vi
    assert count(sqlite_runtime, Candidate) == 0
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", broken)
    assert "không phải tệp Excel .xlsx hợp lệ hoặc đã bị hỏng" in e.value.message_vi


def test_merged_header_cells(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = write_xlsx(tmp_path / "gop.xlsx", [SEEDED[0]])
    wb = openpyxl.load_workbook(f)
    wb.active.merge_cells("C1:D1")
    wb.save(f)
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    assert e.value.message_vi == ("Tệp gop.xlsx, trang tính «Danh sách», dòng tiêu đề 1: có ô bị gộp (C1:D1). Hãy bỏ "
                                  "gộp ô (Merge & Center) để mỗi cột có đúng một tiêu đề ở một dòng, rồi nhập lại.")
    assert count(sqlite_runtime, Candidate) == 0


def test_csv_in_windows_1258_is_refused_not_mojibaked(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = tmp_path / "ds.csv"
    f.write_bytes(to_cp1258("Họ và tên,Chức vụ,Đơn vị,Cấp\nNguyễn Văn An,Giám đốc,Sở Nội vụ,sở\n"))
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    msg = e.value.message_vi
    assert "không được lưu bằng bảng mã UTF-8" in msg and "Windows-1258" in msg and "CSV UTF-8" in msg
    assert count(sqlite_runtime, Candidate) == 0


def test_cli_import_roster_exit_codes(tmp_path):
    from click.testing import CliRunner

    from sandbox.cli import main
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'd.sqlite'}"

    def run(*args):
        res = runner.invoke(main, ["--data-dir", str(tmp_path / "d"), "--database-url", db, "contest", *args])
        res.returncode, res.stdout_lines = res.exit_code, res.stdout.splitlines()
        return res

    assert run("create", "cds2023", "--name", "Cuộc thi 2023", "--year", "2023", "--part", "Lý thuyết=60",
               "--part", "Thực hành=40").returncode == 0
    units = tmp_path / "dv.csv"
    units.write_text("Đơn vị,Cấp\n" + "".join(f"{n},{t}\n" for n, t in UNITS), encoding="utf-8")
    assert run("import-units", "cds2023", str(units)).returncode == 0
    f = write_xlsx(tmp_path / "ds.xlsx", SEEDED)
    res = run("import-roster", "cds2023", str(f))
    assert res.returncode == 2
    assert res.stdout_lines[1:9] == [f"  - {m}" for m in EXPECTED]
    res = run("import-roster", "cds2023", str(f), "--partial")
    assert res.returncode == 1 and "Đã lưu 2 thí sinh" in res.stdout
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    res = run("import-roster", "cds2023", str(bad))
    assert res.returncode == 2 and "Lỗi: Tệp x.xlsx không phải tệp Excel .xlsx thật" in res.output


def test_merged_data_cells_and_mojibake_csv(sqlite_runtime, tmp_path):
    make_contest(sqlite_runtime)
    f = write_xlsx(tmp_path / "gop.xlsx", [SEEDED[0], (2, "", "Trần Thị Bình", "Chủ tịch", "UBND quận Ninh Kiều", "huyện",
                                                       "", "")])
    wb = openpyxl.load_workbook(f)
    wb.active.merge_cells("D2:D3")     # "Chức vụ" of rows 2 and 3 merged
    wb.save(f)
    report = api.import_roster(sqlite_runtime, "cds2023", f)
    assert [str(p) for p in report.problems] == [
        "Dòng 2, cột «Chức vụ»: ô bị gộp với ô khác; hãy bỏ gộp ô và ghi đủ giá trị cho từng dòng.",
        "Dòng 3, cột «Chức vụ»: ô bị gộp với ô khác; hãy bỏ gộp ô và ghi đủ giá trị cho từng dòng."]
    mojibake = "Họ và tên,Đơn vị\nNguyễn Văn An,Sở Nội vụ\n".encode().decode("cp1252", errors="replace")
    g = tmp_path / "loi-font.csv"
    g.write_text(mojibake, encoding="utf-8")
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", g)
    assert "bị lỗi phông" in e.value.message_vi
    assert count(sqlite_runtime, Candidate) == 0


def test_a_csv_cell_over_the_csv_limit_is_refused_with_its_line(sqlite_runtime, tmp_path):
    """Issue 16, finding 8: a roster CSV with a cell over 131,072 characters was an HTTP 500; now
    it is refused like any unreadable file (file, line, what is wrong), for the roster, the
    units and the scores, and nothing is saved."""
    make_contest(sqlite_runtime)
    huge = "x" * 200_000
    f = tmp_path / "ds.csv"
    f.write_text("Họ và tên,Chức vụ,Đơn vị,Cấp\nNguyễn Văn An,Giám đốc,Sở Nội vụ,sở\n"
                 f"Trần Thị Bình,\"{huge}\",Sở Nội vụ,sở\n", encoding="utf-8")
    with pytest.raises(api.ImportFileError) as e:
        api.import_roster(sqlite_runtime, "cds2023", f, partial=True)
    assert e.value.message_vi.startswith("Tệp ds.csv, dòng 3: có một ô dài quá 131.072 ký tự")
    assert count(sqlite_runtime, Candidate) == 0
    units = tmp_path / "dv.csv"
    units.write_text(f"Đơn vị,Cấp\n\"{huge}\",sở\n", encoding="utf-8")
    with pytest.raises(api.ImportFileError) as e:
        api.import_units(sqlite_runtime, "cds2023", units)
    assert "dòng 2: có một ô dài quá" in e.value.message_vi
    assert count(sqlite_runtime, ContestUnit) == len(UNITS)
    scores = tmp_path / "diem.csv"
    scores.write_text(f"Số báo danh,Lý thuyết\nCT23-0001,\"{huge}\"\n", encoding="utf-8")
    with pytest.raises(api.ImportFileError) as e:
        api.import_scores(sqlite_runtime, "cds2023", scores)
    assert "dòng 2: có một ô dài quá" in e.value.message_vi
