"""The organiser's CLI run in-process (click's runner): a contest driven from a script."""
from __future__ import annotations

import openpyxl
from click.testing import CliRunner

from sandbox.cli import main


def test_contest_from_the_command_line(tmp_path):
    runner = CliRunner()
    env = {"SANDBOX_DATA_DIR": str(tmp_path / "data"), "SANDBOX_DATABASE_URL": ""}

    def run(*args, code=0):
        res = runner.invoke(main, ["--database-url", f"sqlite:///{tmp_path / 'data' / 'db.sqlite'}", *args], env=env)
        assert res.exit_code == code, (args, res.output, res.exception)
        return res.output

    out = run("contest", "create", "cds2023", "--name", "Cuộc thi năm 2023", "--year", "2023", "--part", "Lý thuyết=60",
              "--part", "Thực hành=40", "--duration", "60", "--rule", "exclude_units_with_absentees=không")
    assert "Đã tạo cuộc thi cds2023" in out and "Đơn vị có thí sinh vắng mặt vẫn được xét giải tập thể." in out
    out = run("contest", "create", "x", "--name", "X", "--year", "2023", "--part", "A=1", "--rule", "ties=random", code=2)
    assert "«ties» phải là một trong: consume, extend." in out
    run("contest", "add-unit", "cds2023", "Sở Nội vụ", "--tier", "sở")
    roster = tmp_path / "ds.csv"
    roster.write_text("Họ và tên,Chức vụ,Đơn vị,Cấp\nNguyễn Văn An,Giám đốc,Sở Nội vụ,sở\n"
                      "Trần Thị Bình,Phó Giám đốc,Sở Nội vụ,sở\n", encoding="utf-8")
    assert "Đã lưu 2 thí sinh." in run("contest", "import-roster", "cds2023", str(roster))
    run("contest", "add-shift", "cds2023", "Ca 1", "--scenario", "thi-2022-de-1", "--backup", "thi-2022-de-2",
        "--start", "10/06/2023 08:00")
    run("contest", "add-room", "cds2023", "Phòng 1", "--seats", "20")
    assert "Đã xếp chỗ cho 2 thí sinh" in run("contest", "seat", "cds2023")
    run("contest", "attendance", "cds2023", "CT23-0002", "--absent", "--reason", "Ốm")
    out = run("contest", "provision", "cds2023", "--shift", "Ca 1")
    assert "Đã tạo 1 sandbox, bỏ qua 0 đã có, 1 thí sinh vắng." in out
    out = run("contest", "switch-backup", "cds2023", "--number", "CT23-0001", "--reason", "Quên mật khẩu")
    assert "Đã chuyển 1 thí sinh sang đề dự phòng: CT23-0001." in out
    assert "lưu trữ 1 sandbox cũ" in run("contest", "provision", "cds2023", "--shift", "Ca 1")
    out = run("contest", "candidate", "cds2023", "CT23-0001")
    assert "đề thi-2022-de-2; sandbox cds2023-CT23-0001" in out and "Quên mật khẩu" in out
    run("contest", "slips", "cds2023", "--shift", "Ca 1", "--out", str(tmp_path / "p.pdf"))
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    wb = openpyxl.Workbook()
    wb.active.append(["Số báo danh", "Lý thuyết", "Thực hành", "Vắng"])
    wb.active.append(["CT23-0001", 58, 40, None])
    wb.active.append(["CT23-0002", None, 12, "Ốm"])
    wb.save(tmp_path / "diem.xlsx")
    out = run("contest", "import-scores", "cds2023", str(tmp_path / "diem.xlsx"), code=2)
    assert "Dòng 3, cột «Thực hành»: thí sinh vắng nhưng lại có điểm; hãy xóa điểm hoặc xóa lý do vắng." in out
    assert "Đã lưu 1 thí sinh; 1 dòng bị loại: dòng 3." in run("contest", "import-scores", "cds2023",
                                                                str(tmp_path / "diem.xlsx"), "--partial", code=1)
    out = run("contest", "show", "cds2023")
    assert "Ca «Ca 1»: đề thi-2022-de-1, dự phòng thi-2022-de-2, 2 thí sinh" in out
