"""The scenario validator: every problem with file, line and a plain Vietnamese message."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env

from scenarios import templates
from scenarios.validate import validate_file, validate_text
from scenarios.variants import context, draw

DATA = Path(__file__).with_name("data")
MINIMAL = (DATA / "minimal.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def _problems(text: str) -> list[str]:
    _sc, problems = validate_text(text, "de.yaml")
    return [str(p) for p in problems]


def test_minimal_is_valid():
    sc, problems = validate_text(MINIMAL, "minimal.yaml")
    assert problems == [] and sc is not None
    assert sc.world.candidate == "an"


@pytest.mark.parametrize("old,new,needle,message", [
    ("points: 6", "points: 5", "criteria:",
     "tổng điểm các tiêu chí là 9, khác tổng điểm khai báo (10)"),
    ("person: [lan, hoa]", "person: [lan, hoang]", "person: [lan, hoang]",
     "tham số 'recipient': 'hoang' không có trong thế giới"),
    ("({recipient.email})", "({recipient.mail})", "({recipient.mail})",
     "'{recipient.mail}': lựa chọn thứ 1 của tham số 'recipient' không có thuộc tính 'mail'"),
    ("candidate: an", "candidate: binh", "candidate: binh",
     "thí sinh 'binh' không có trong danh sách người (world.people)"),
    ("role: van_thu", "role: thu_ky", "role: thu_ky",
     "world.people.role: giá trị 'thu_ky' không hợp lệ; chỉ nhận 'lanh_dao', 'chuyen_vien' hoặc 'van_thu'"),
    ("description: Tiêu đề đúng yêu cầu", "description: Tiêu đề là {subject}", "Tiêu đề là {subject}",
     "không được dùng tham số '{subject}' ở đây: nội dung này được công bố cho thí sinh trước khi thi"),
    ("duration_minutes: 15", "duration_minutes: mười lăm", "duration_minutes",
     "duration_minutes: phải là một số (đang là 'mười lăm')"),
    ("kind: drill", "kind: drill\nkind: exam", "kind: exam", "khoá 'kind' bị lặp lại (đã có ở dòng 2)"),
    ("email: an@snv.cantho.test", "email: an@sonoivu.test", "an@sonoivu.test",
     "địa chỉ 'an@sonoivu.test' không thuộc tên miền của cơ quan (snv.cantho.test)"),
])
def test_broken_copies_give_exact_messages(old, new, needle, message):
    assert old in MINIMAL, old
    text = MINIMAL.replace(old, new, 1)
    problems = _problems(text)
    line = _line_of(text, needle.replace("\\\"", "\""))
    assert f"de.yaml:{line}: {message}" in problems, problems


def test_unused_variant_and_duplicate_criterion():
    text = MINIMAL.replace('tiêu đề \\"{subject}\\".', "tiêu đề như yêu cầu.")
    text = text.replace('equals: "{subject}"', 'equals: "Tổng hợp danh sách dự thi"')
    text = text.replace('"Tiêu đề chưa đúng yêu cầu \\"{subject}\\"."', "Tiêu đề chưa đúng.")
    problems = _problems(text)
    assert f"de.yaml:{_line_of(text, 'subject:')}: tham số 'subject' được khai báo nhưng không được dùng ở đâu" \
        in problems, problems
    dup = MINIMAL.replace("id: M2", "id: M1")
    first = _line_of(dup, "id: M1")
    second = [n for n, line in enumerate(dup.splitlines(), 1) if "id: M1" in line][1]
    assert f"de.yaml:{second}: mã tiêu chí 'M1' bị trùng (đã khai báo ở dòng {first})" in _problems(dup)


def test_check_validator_messages_are_attached_to_the_criterion():
    def cv(kind, params, names=None):
        return [] if kind == "mail.sent_to" else [f"loại kiểm tra '{kind}' không tồn tại"]

    _sc, problems = validate_text(MINIMAL, "de.yaml", cv)
    line = _line_of(MINIMAL, "type: mail.subject")
    assert [str(p) for p in problems] == [f"de.yaml:{line}: tiêu chí M2: loại kiểm tra 'mail.subject' không tồn tại"]


def test_yaml_syntax_and_encoding_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: a\nworld:\n\t- x\n", encoding="utf-8")
    assert [str(p) for p in validate_file(bad)[1]] == [
        f"{bad}:3: có ký tự TAB: YAML chỉ dùng dấu cách để thụt lề"]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"title: a\nsummary: Ph\xf2ng N\xe9i v\xf9\n")  # Latin-1, not UTF-8
    assert str(validate_file(latin)[1][0]).startswith(f"{latin}:2: tệp không phải UTF-8")
    yml = tmp_path / "x.yml"
    yml.write_text(MINIMAL, encoding="utf-8")
    assert str(validate_file(yml)[1][0]) == f"{yml}: tệp đề phải có đuôi .yaml"


def test_cli_validate_exit_codes(tmp_path):
    env = cli_env(tmp_path / "data")
    ok = subprocess.run([sys.executable, "-m", "sandbox.cli", "scenario", "validate", str(DATA / "minimal.yaml")],
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(MINIMAL.replace("points: 6", "points: 5"), encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "sandbox.cli", "scenario", "validate", str(broken)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert "tổng điểm các tiêu chí là 9" in bad.stderr and "Traceback" not in bad.stderr


def test_draw_is_deterministic_and_varies_with_seed():
    sc, _ = validate_text(MINIMAL, "minimal.yaml")
    start = dt.date(2026, 5, 20)
    a = draw("minimal", sc, 1, start)
    assert a == draw("minimal", sc, 1, start)
    seen = {(draw("minimal", sc, s, start)["recipient"]["id"], draw("minimal", sc, s, start)["subject"])
            for s in range(20)}
    assert len(seen) == 4
    ctx = context(sc, a, start)
    text = templates.render(sc.tasks[0].text, ctx)
    assert a["recipient"]["email"] in text and a["subject"] in text


def test_templates():
    ctx = {"d": dt.date(2026, 3, 5), "p": {"name": "Trần Thị Lan", "email": "lan@x.vn"}, "n": 3}
    assert templates.render("Hạn {d} ({d.iso}) cho {p} <{p.email}> {{x}}", ctx) == \
        "Hạn 05/03/2026 (2026-03-05) cho Trần Thị Lan <lan@x.vn> {x}"
    assert templates.render_value({"a": "{d}", "b": ["{n} ngày"]}, ctx) == {"a": dt.date(2026, 3, 5), "b": ["3 ngày"]}
    with pytest.raises(templates.TemplateError):
        templates.render("{p.phone}", ctx)
    assert templates.stray_braces("a { b") and not templates.stray_braces("{{a}} {p}")
