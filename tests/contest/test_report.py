"""The official report: the results section in the shape of the 2023 report, and the same
content as DOCX, PDF, XLSX and text (CLI)."""
from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
import zipfile

import pytest

from sandbox.contest.report import (candidate_band_sentences, report_docx, report_pdf, report_text, results_xlsx,
                                    unit_band_sentences)
from sandbox.contest.results import results_for

from .results_factory import add_candidates, add_units, make_contest
from .test_results import ROWS, UNITS


@pytest.fixture
def results(sqlite_runtime):
    rt = sqlite_runtime
    c = make_contest(rt)
    add_candidates(rt, c, add_units(rt, c, UNITS), ROWS)
    return results_for(rt, "cds2023")


def test_band_sentences_in_the_shape_of_the_2023_report(results):
    assert candidate_band_sentences(results) == [
        "Có 02/12 bài thi đạt điểm tối đa 100 điểm (cấp sở: 02 bài, cấp huyện: 0 bài, cấp xã: 0 bài), "
        "đạt tỷ lệ 16,67%.",
        "Có 03/12 bài thi đạt điểm từ 90 đến dưới 100 điểm (cấp sở: 02 bài, cấp huyện: 01 bài, cấp xã: 0 bài), "
        "đạt tỷ lệ 25%.",
        "Có 03/12 bài thi đạt điểm từ 80 đến dưới 90 điểm (cấp sở: 02 bài, cấp huyện: 01 bài, cấp xã: 0 bài), "
        "đạt tỷ lệ 25%.",
        "Có 01/12 bài thi đạt điểm từ 70 đến dưới 80 điểm (cấp sở: 0 bài, cấp huyện: 01 bài, cấp xã: 0 bài), "
        "đạt tỷ lệ 8,33%.",
        "Có 01/12 bài thi đạt điểm từ 50 đến dưới 70 điểm (cấp sở: 0 bài, cấp huyện: 0 bài, cấp xã: 01 bài), "
        "đạt tỷ lệ 8,33%.",
        "Có 02/12 (cấp xã) bài thi không đạt yêu cầu, chiếm 16,67%. Do phần thi thực hành đạt 0 điểm (01 bài); "
        "dưới 50 điểm (01 bài).",
    ]
    assert unit_band_sentences(results) == [
        "Có 02/8 đơn vị, địa phương đạt từ 90 điểm trở lên (cấp sở: 02), đạt tỷ lệ 25%.",
        "Có 04/8 đơn vị, địa phương đạt từ 80 đến dưới 90 điểm (cấp sở: 02, cấp huyện: 02), đạt tỷ lệ 50%.",
        "Có 01/8 đơn vị, địa phương đạt từ 50 đến dưới 70 điểm (cấp xã: 01), đạt tỷ lệ 12,50%.",
        "Có 01/8 đơn vị, địa phương đạt dưới 50 điểm (cấp xã: 01), chiếm tỷ lệ 12,50%.",
    ]


def test_text_has_absentees_awards_and_ties(results):
    text = report_text(results)
    assert unicodedata.is_normalized("NFC", text)
    assert "Tổng số thí sinh tham gia dự thi: 12 người (cấp sở: 06, cấp huyện: 03, cấp xã: 03); " \
           "Số thí sinh vắng mặt: 01 người." in text
    assert "- Đặng Văn Hải (số báo danh SBD007, Sở Xây dựng): Đi công tác (Công văn 12/SXD)." in text
    assert "- Giải Nhì: Sở Tài chính (89 điểm); Sở Y tế (89 điểm)." in text
    assert "- Giải Ba: không trao." in text
    assert "02 đơn vị đồng hạng Nhì (89 điểm: Sở Tài chính, Sở Y tế) cùng nhận giải Nhì nên không xét giải Ba." in text
    assert "Sở Xây dựng (100 điểm) có 01 thí sinh vắng mặt nên không được xét giải tập thể." in text
    assert "Qua kết quả cuộc thi, 66,67% thí sinh có điểm thi cá nhân đạt từ 80 điểm trở lên." in text


def test_docx_has_the_sentences_the_tables_and_the_chart(results):
    from docx import Document
    data = report_docx(results)
    doc = Document(io.BytesIO(data))
    paras = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in paras
    assert any(p.startswith("- Có 02/12 bài thi đạt điểm tối đa 100 điểm") for p in paras)
    assert len(doc.tables) == 3
    assert doc.tables[0].rows[-1].cells[0].text == "Tổng"
    assert len(doc.tables[2].rows) == 1 + len(ROWS)           # the appendix: every candidate
    assert any(n.startswith("word/media/") for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert report_docx(results) == data                         # no clock inside


def test_pdf_is_a_pdf_with_the_text(results, tmp_path):
    data = report_pdf(results)
    assert data.startswith(b"%PDF") and report_pdf(results) == data
    if not shutil.which("pdftotext"):
        pytest.skip("Poppler's pdftotext is not installed")
    (tmp_path / "r.pdf").write_bytes(data)
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "Có 02/12 bài thi đạt điểm tối đa 100 điểm" in flat
    assert "Phân bố điểm thi cá nhân theo cấp" in flat


def test_xlsx_sheets(results):
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(results_xlsx(results)))
    assert wb.sheetnames == ["Thí sinh", "Đơn vị", "Theo cấp", "Chấm thực hành", "Giải thưởng"]
    cand = list(wb["Thí sinh"].iter_rows(values_only=True))
    assert cand[0][:7] == ("Số báo danh", "Họ và tên", "Chức vụ", "Đơn vị", "Cấp", "Lý thuyết", "Thực hành")
    assert cand[1][:9] == ("SBD001", "Nguyễn Văn An", "Phó Trưởng phòng", "Sở Tư pháp", "cấp sở", 60, 40, 100, "100")
    tiers = list(wb["Theo cấp"].iter_rows(values_only=True))
    assert tiers[-1][:10] == ("Tổng", 13, 12, 1, 2, 3, 3, 1, 1, 2)
    awards = list(wb["Giải thưởng"].iter_rows(values_only=True))
    assert awards[1] == ("cấp thành phố", "Giải Nhất", "Sở Tư pháp", "cấp sở", 98, 1)


def test_cli_report_writes_every_format(sqlite_runtime, tmp_path, results):
    from click.testing import CliRunner

    from sandbox.cli import main
    db = sqlite_runtime.settings.database_url
    out = CliRunner().invoke(main, ["--data-dir", str(sqlite_runtime.settings.data_dir), "--database-url", db,
                                    "contest", "report", "cds2023", "--docx", str(tmp_path / "r.docx"),
                                    "--pdf", str(tmp_path / "r.pdf"), "--xlsx", str(tmp_path / "r.xlsx"), "--text"])
    assert out.exit_code == 0, out.output
    assert "Có 02/12 bài thi đạt điểm tối đa 100 điểm" in out.output
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("r.docx", "r.pdf", "r.xlsx"))
    bad = CliRunner().invoke(main, ["--data-dir", str(sqlite_runtime.settings.data_dir), "--database-url", db,
                                    "contest", "report", "khong-co"])
    assert bad.exit_code == 2 and "Không tìm thấy cuộc thi «khong-co»" in bad.output


def test_xlsx_bytes_do_not_depend_on_the_clock(monkeypatch):
    """openpyxl writes the current time as the workbook's "modified" property; two saves a
    second apart must still give the same bytes (a flaky comparison once in CI)."""
    import datetime as dt

    import openpyxl

    from sandbox.contest.report import _fixed_zip_times

    def saved(now):
        class Clock(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return now

        monkeypatch.setattr("openpyxl.writer.excel.datetime.datetime", Clock)
        buf = io.BytesIO()
        openpyxl.Workbook().save(buf)
        return _fixed_zip_times(buf.getvalue(), 2023)

    first = saved(dt.datetime(2026, 11, 22, 8, 0, 0, tzinfo=dt.timezone.utc))
    second = saved(dt.datetime(2026, 11, 22, 8, 0, 1, tzinfo=dt.timezone.utc))
    assert first == second
