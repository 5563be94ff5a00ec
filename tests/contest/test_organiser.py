"""The organiser's operations through sandbox.contest.api: a contest with its rules, shifts
and rooms, seating, attendance, the backup switch with provisioning (real builds of the
shipped exam set), login slips (read back with pdftotext) and the scores import."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from sandbox.contest import api
from sandbox.contest.models import ContestEvent, PartScore
from sandbox.contest.passwords import candidate_password
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.sandboxes import find_sandbox

from .test_roster import UNITS, make_contest

PEOPLE = [("Nguyễn Văn An", 0), ("Trần Thị Bình", 1), ("Lê Văn Cường", 2)]


def small_contest(rt, tmp_path: Path, code="cds2023", n=3, seats=2):
    make_contest(rt, code)
    f = tmp_path / "ds.csv"
    f.write_text("Họ và tên,Chức vụ,Đơn vị\n" + "".join(
        f"{PEOPLE[i % 3][0]} {i // 3 or ''},Lãnh đạo,{UNITS[PEOPLE[i % 3][1]][0]}\n".replace(" ,", ",")
        for i in range(n)), encoding="utf-8")
    assert api.import_roster(rt, code, f).saved
    api.add_shift(rt, code, "Ca 1", "thi-2022-de-1", "thi-2022-de-2")
    api.add_room(rt, code, "Phòng 1", seats)
    api.add_room(rt, code, "Phòng 2", seats)
    return api.seat_candidates(rt, code)


def test_create_contest_rules_and_parts(sqlite_runtime):
    info = api.create_contest(sqlite_runtime, "cds2022", "Cuộc thi 2022", 2022, ["Lý thuyết=45", "Thực hành=55",
                                                                                 "Bài luận=0,5"], 60,
                              ["zero_part_fails=không", "awards.city.first=2", "commendation_min_ratio=0,6"])
    assert [(p.name, p.kind, p.points) for p in info.parts] == [("Lý thuyết", "theory", 45), ("Thực hành", "practical", 55),
                                                                 ("Bài luận", "imported", 0.5)]
    assert info.rules == {"zero_part_fails": False, "awards": {"city": {"first": 2}}, "commendation_min_ratio": 0.6}
    text = api.rules_vi(info)
    assert "Không áp dụng điểm liệt: kết quả tính theo tổng điểm các phần thi." in text
    for bad, msg in [(["Lý thuyết"], "không đúng dạng TÊN=ĐIỂM"), (["Lý thuyết=-1"], "phải lớn hơn 0"),
                     (["A=1", "a=2"], "được khai báo hai lần")]:
        with pytest.raises(SandboxError) as e:
            api.create_contest(sqlite_runtime, "x", "X", 2023, bad)
        assert msg in e.value.message_vi
    with pytest.raises(SandboxError) as e:
        api.create_contest(sqlite_runtime, "x", "X", 2023, ["A=1"], rules=["unit_score=max"])
    assert "«unit_score» phải là một trong: mean, median." in e.value.message_vi
    with pytest.raises(SandboxError) as e:
        api.create_contest(sqlite_runtime, "cds2022", "X", 2023, ["A=1"])
    assert "đã có" in e.value.message_vi


def test_seating_attendance_and_exam_set_ids(sqlite_runtime, tmp_path):
    with pytest.raises(SandboxError) as e:
        small_contest(sqlite_runtime, tmp_path, n=5, seats=2)
    assert e.value.message_vi == ("Không đủ chỗ: còn 5 thí sinh chưa xếp nhưng chỉ còn 4 chỗ trống (1 ca × 2 phòng). "
                                  "Hãy thêm ca thi hoặc phòng thi.")
    api.add_shift(sqlite_runtime, "cds2023", "Ca 2", "thi-2023-de-1", "thi-2023-de-2")
    res = api.seat_candidates(sqlite_runtime, "cds2023")
    assert res.seated == 5 and res.per_shift == {"Ca 1": 3, "Ca 2": 2}
    cands = api.list_candidates(sqlite_runtime, "cds2023")
    assert [(c.shift, c.room, c.seat, c.scenario_id) for c in cands] == [
        ("Ca 1", "Phòng 1", 1, "thi-2022-de-1"), ("Ca 1", "Phòng 1", 2, "thi-2022-de-1"),
        ("Ca 1", "Phòng 2", 1, "thi-2022-de-1"), ("Ca 2", "Phòng 1", 1, "thi-2023-de-1"),
        ("Ca 2", "Phòng 1", 2, "thi-2023-de-1")]
    with pytest.raises(SandboxError) as e:
        api.assign_seat(sqlite_runtime, "cds2023", "CT23-0005", "Ca 1", "Phòng 1", 1)
    assert e.value.message_vi == "Ghế 1 phòng «Phòng 1» ca «Ca 1» đã có thí sinh CT23-0001."
    api.assign_seat(sqlite_runtime, "cds2023", "CT23-0005", "Ca 1", "Phòng 2", 2)
    assert api.candidate_by_number(sqlite_runtime, "cds2023", "CT23-0005").scenario_id == "thi-2022-de-1"
    with pytest.raises(SandboxError) as e:
        api.add_shift(sqlite_runtime, "cds2023", "Ca 3", "luyen-thu-lua-dao")
    assert "bài luyện tập, không phải đề thi" in e.value.message_vi
    with pytest.raises(SandboxError) as e:
        api.add_shift(sqlite_runtime, "cds2023", "Ca 3", "khong-co-de")
    assert "Không tìm thấy đề 'khong-co-de'" in e.value.message_vi
    with pytest.raises(SandboxError):
        api.mark_attendance(sqlite_runtime, "cds2023", "CT23-0001", False, "")
    api.mark_attendance(sqlite_runtime, "cds2023", "CT23-0001", False, "Đi công tác, có văn bản")
    c = api.candidate_by_number(sqlite_runtime, "cds2023", "CT23-0001")
    assert (c.attendance, c.absence_reason) == ("absent", "Đi công tác, có văn bản")


def test_provision_a_shift_switch_to_backup_and_rebuild(runtime, tmp_path):
    small_contest(runtime, tmp_path, n=3)
    seen = []
    res = api.provision_shift(runtime, "cds2023", "Ca 1", progress=lambda d, t, n: seen.append((d, t, n)))
    assert res.built == ["CT23-0001", "CT23-0002", "CT23-0003"] and not res.errors
    assert seen == [(1, 3, "CT23-0001"), (2, 3, "CT23-0002"), (3, 3, "CT23-0003")]
    c1 = api.candidate_by_number(runtime, "cds2023", "CT23-0001")
    assert (c1.sandbox_name, c1.scenario_id, c1.seed) == ("cds2023-CT23-0001", "thi-2022-de-1",
                                                           api.candidate_seed("cds2023", "CT23-0001"))
    # idempotent
    again = api.provision_shift(runtime, "cds2023", "Ca 1")
    assert again.built == [] and again.skipped == ["CT23-0001", "CT23-0002", "CT23-0003"]
    # one candidate to the backup set, with the reason recorded
    assert api.switch_to_backup(runtime, "cds2023", "Quên mật khẩu thư điện tử", number="CT23-0002") == ["CT23-0002"]
    res = api.provision_shift(runtime, "cds2023", "Ca 1")
    assert res.built == ["CT23-0002"] and res.archived == ["cds2023-CT23-0002~1"]
    c2 = api.candidate_by_number(runtime, "cds2023", "CT23-0002")
    assert (c2.scenario_id, c2.backup_reason, c2.sandbox_name) == ("thi-2022-de-2", "Quên mật khẩu thư điện tử",
                                                                    "cds2023-CT23-0002")
    from scenarios.build import instance_of
    with runtime.db.read() as s:
        assert instance_of(s, find_sandbox(s, "cds2023-CT23-0002").id).scenario_id == "thi-2022-de-2"
        assert find_sandbox(s, "cds2023-CT23-0002~1").archived_at is not None
        ev = s.scalars(select(ContestEvent).where(ContestEvent.kind == "backup_switch")).all()
        assert [(e.reason, e.detail["from"], e.detail["to"]) for e in ev] == [
            ("Quên mật khẩu thư điện tử", "thi-2022-de-1", "thi-2022-de-2")]
    # a whole room: CT23-0001 and CT23-0002 sit in "Phòng 1" (the second is already on the backup set)
    assert api.switch_to_backup(runtime, "cds2023", "Mất kết nối mạng", shift="Ca 1", room="Phòng 1") == ["CT23-0001"]
    with pytest.raises(SandboxError):
        api.switch_to_backup(runtime, "cds2023", "", number="CT23-0003")


def test_provision_job_records_progress(sqlite_runtime, tmp_path):
    small_contest(sqlite_runtime, tmp_path, n=2)
    job_id = api.start_provision_job(sqlite_runtime, "cds2023", "Ca 1", "btc", background=False)
    job = api.job_view(sqlite_runtime, job_id)
    assert (job.status, job.total, job.done, job.built, job.percent) == ("done", 2, 2, 2, 100)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_slips_pdf_text(sqlite_runtime, tmp_path):
    small_contest(sqlite_runtime, tmp_path, n=3)
    pdf = api.slips_pdf(sqlite_runtime, "cds2023", "Ca 1", "http://thi.cantho.local/thi-sinh")
    f = tmp_path / "phieu.pdf"
    f.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout
    assert text.count("PHIẾU ĐĂNG NHẬP DỰ THI") == 3
    for number, name in [("CT23-0001", "Nguyễn Văn An"), ("CT23-0002", "Trần Thị Bình"), ("CT23-0003", "Lê Văn Cường")]:
        assert number in text and name in text
        assert candidate_password(sqlite_runtime.secret, "cds2023", number) in text
    assert "Phòng 1 / ghế 2" in text and "Phòng 2 / ghế 1" in text and "http://thi.cantho.local/thi-sinh" in text
    with pytest.raises(SandboxError):
        api.slips_pdf(sqlite_runtime, "cds2023", "Ca 9")


def test_scores_import(sqlite_runtime, tmp_path):
    small_contest(sqlite_runtime, tmp_path, n=3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Số báo danh", "Lý thuyết", "Thực hành", "Vắng"])
    ws.append(["CT23-0001", 60, "38,5", None])
    ws.append(["CT23-0002", None, None, "Ốm, có giấy xin phép"])
    ws.append(["CT23-0003", 55, 0, ""])
    f = tmp_path / "diem.xlsx"
    wb.save(f)
    report = api.import_scores(sqlite_runtime, "cds2023", f)
    assert report.ok and report.saved and report.saved_count == 3
    with sqlite_runtime.db.read() as s:
        rows = s.execute(select(PartScore.points, PartScore.source)).all()
    assert sorted(rows) == [(0.0, "import"), (38.5, "import"), (55.0, "import"), (60.0, "import")]
    c2 = api.candidate_by_number(sqlite_runtime, "cds2023", "CT23-0002")
    assert (c2.attendance, c2.absence_reason) == ("absent", "Ốm, có giấy xin phép")
    # a file with problems: every one listed, nothing saved
    ws.append(["CT23-0001", 50, 30, None])
    ws.append(["CT23-9999", 50, 30, None])
    ws.append(["CT23-0003", 70, "x", None])
    wb.save(f)
    report = api.import_scores(sqlite_runtime, "cds2023", f)
    assert [str(p) for p in report.problems] == [
        "Dòng 5, cột «Số báo danh»: số báo danh «CT23-0001» trùng với dòng 2.",
        "Dòng 6, cột «Số báo danh»: không có thí sinh số báo danh «CT23-9999» trong cuộc thi.",
        "Dòng 7, cột «Số báo danh»: số báo danh «CT23-0003» trùng với dòng 4.",
        "Dòng 7, cột «Lý thuyết»: điểm 70 nằm ngoài khoảng 0 – 60.",
        "Dòng 7, cột «Thực hành»: điểm «x» không phải là số.",
    ]
    assert not report.saved


def test_interrupted_job_is_marked_and_run_again(sqlite_runtime, tmp_path):
    from sandbox.contest.admin_models import ProvisionJob
    small_contest(sqlite_runtime, tmp_path, n=1)
    with sqlite_runtime.db.write() as s:   # a job left "running" by a process that stopped
        c = api.get_contest(s, "cds2023")
        s.add(ProvisionJob(contest_id=c.id, shift_id=api.list_shifts(sqlite_runtime, "cds2023")[0].id,
                           status="running", total=1, errors=[], started_at=sqlite_runtime.clock.now()))
    job_id = api.start_provision_job(sqlite_runtime, "cds2023", "Ca 1", "btc", background=False)
    assert job_id == 2 and api.job_view(sqlite_runtime, job_id).status == "done"
    old = api.job_view(sqlite_runtime, 1)
    assert old.status == "failed" and old.message.startswith("Bị gián đoạn")
