"""Every shipped scenario validates (with the grader's check validator); broken copies of a
shipped exam set give exact file:line messages."""
from __future__ import annotations

import pytest

from grader.checks import validate_check
from scenarios.library import library_paths, scenario_id
from scenarios.validate import validate_file, validate_text

PATHS = library_paths()


def test_the_library_ships_exam_sets_and_drills():
    ids = [scenario_id(p) for p in PATHS]
    assert "thi-2022-de-1" in ids


@pytest.mark.parametrize("path", PATHS, ids=[scenario_id(p) for p in PATHS])
def test_shipped_scenario_is_valid(path):
    sc, problems = validate_file(path, validate_check)
    assert problems == [] and sc is not None, [str(p) for p in problems]
    if sc.kind == "backup":
        assert sc.backup_of in {scenario_id(p) for p in PATHS}


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old,new,needle,message", [
    ("      points: 8\n", "      points: 9\n", "  criteria:",
     "tổng điểm các tiêu chí là 56, khác tổng điểm khai báo (55)"),
    ("params: {doc: kh98}}", "params: {doc: kh98, nguoi: an}}", "doc: kh98, nguoi: an",
     "tiêu chí D1: tham số không được hỗ trợ 'nguoi' của docflow.directive"),
    ("type: signing.leader_own_cert", "type: signing.chu_ky", "signing.chu_ky",
     "tiêu chí S1: loại kiểm tra 'signing.chu_ky' không tồn tại (có: docflow.assigned, "),
    ("signer: candidate", "signer: binh", "signer: binh",
     "người ký 'binh' phải có vai trò lanh_dao (đang là chuyen_vien)"),
    ("role: xlc, deadline: \"{deadline}\"", "role: chinh, deadline: \"{deadline}\"", "role: chinh",
     "tiêu chí D5: tham số 'role' của docflow.assigned không hợp lệ ('chinh'); chỉ nhận 'xlc', 'ph' hoặc 'db'"),
    ("target: \"{routing.support}\"", "target: \"{routing.unit}\"", "routing.unit",
     "'{routing.unit}': lựa chọn thứ 1 của tham số 'routing' không có thuộc tính 'unit'"),
])
def test_broken_copies_of_a_shipped_set(old, new, needle, message):
    path = next(p for p in PATHS if scenario_id(p) == "thi-2022-de-1")
    text = path.read_text(encoding="utf-8")
    if old not in text:
        pytest.skip("not in this set")
    broken = text.replace(old, new, 1)
    _sc, problems = validate_text(broken, "de.yaml", validate_check)
    got = [str(p) for p in problems]
    expected = f"de.yaml:{_line(broken, needle)}: {message}"
    assert any(g == expected or (message.endswith(", ") and g.startswith(expected)) for g in got), got
