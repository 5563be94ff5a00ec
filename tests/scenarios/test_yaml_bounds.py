"""Hostile or malformed YAML through the real ``sandbox scenario validate``: a complex key,
deep nesting, an alias bomb, an oversized file. Each gets ``file:line: message`` in
Vietnamese and exit code 2, quickly, never a traceback (see ``scenarios.yamlsrc``)."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cli_env

from scenarios import yamlsrc
from scenarios.library import LIBRARY

HANG_GUARD = 20   # seconds: a hang fails the test instead of blocking the run; the time itself is reported


def _bomb(levels: int = 9, width: int = 9, indent: str = "") -> str:
    """The billion laughs: each level lists the previous one ``width`` times."""
    lines = [f"{indent}l0: &l0 [" + ", ".join(['"ha"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"{indent}l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _exam_with_bomb() -> str:
    """A shipped exam set with a bomb mixed in: the anchors defined in the world (small
    enough on their own) and expanded at the end of the file, where the limit is passed."""
    text = (LIBRARY / "thi-2022-de-1.yaml").read_text(encoding="utf-8")
    assert "\nworld:\n" in text and text.endswith("\n")
    return (text.replace("\nworld:\n", "\nworld:\n" + _bomb(levels=4, indent="  "), 1)
            + "ghi_chu: [*l3, *l3, *l3]\n")


CASES = {
    "complex_key": ("? {a: 1}\n: b\n", 1, "khoá phải là một tên"),
    "complex_flow_key": ("title: Đề\nworld: {[1, 2]: x}\n", 2, "khoá phải là một tên"),
    "deep_brackets": ("[" * 100_000, 1, "lồng nhau quá sâu"),
    "deep_braces": ("{" * 100_000, 1, None),        # too deep or a complex key: both true, both at line 1
    "deep_block": ("".join("  " * i + "-\n" for i in range(200)), 65, "lồng nhau quá sâu"),
    "alias_bomb": (_bomb(), None, "quá nhiều giá trị"),
    "alias_bomb_in_exam": (_exam_with_bomb(), None, "quá nhiều giá trị"),
    "alias_cycle": ("a: &a [1, *a]\n", 1, "tham chiếu vòng"),
    "too_large": ("title: Đề\n" + "# chú thích\n" * 200_000, 1, "tệp quá lớn"),
    "impossible_date": ("title: Đề\nngay: 2026-02-30\n", 2, "không có thật"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cli_refuses_with_file_line_and_exit_2(tmp_path, name, record_property):
    text, line, needle = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    if name == "too_large":
        assert path.stat().st_size > 2 * 1024 * 1024
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "sandbox.cli", "scenario", "validate", str(path)],
                       capture_output=True, text=True, env=cli_env(tmp_path / "data"), timeout=HANG_GUARD)
    seconds = time.monotonic() - t0
    record_property("seconds", round(seconds, 3))
    print(f"{name}: {seconds:.3f} s (process start included)")
    out = r.stdout + r.stderr
    assert r.returncode == 2, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    m = re.match(rf"{re.escape(str(path))}:(\d+): (.+)", r.stderr)
    assert m, r.stderr[:2000]
    if line is not None:
        assert int(m.group(1)) == line, r.stderr
    if needle is not None:
        assert needle in m.group(2), r.stderr
    assert len(r.stderr) < 2000       # one line, not the file echoed back


@pytest.mark.parametrize("name", ["complex_key", "deep_brackets", "alias_bomb", "too_large"])
def test_parse_is_fast_in_process(name):
    text, _line, _needle = CASES[name]
    t0 = time.monotonic()
    with pytest.raises(yamlsrc.YamlError) as exc:
        yamlsrc.parse(text)
    print(f"{name}: {time.monotonic() - t0:.4f} s")
    assert exc.value.line is not None and exc.value.message


def test_bomb_line_is_where_the_limit_is_passed():
    with pytest.raises(yamlsrc.YamlError) as exc:
        yamlsrc.parse(_bomb())
    assert 2 <= exc.value.line <= 9


def test_exam_bomb_line_is_where_the_aliases_are_expanded():
    text = _exam_with_bomb()
    with pytest.raises(yamlsrc.YamlError) as exc:
        yamlsrc.parse(text)
    assert exc.value.line == len(text.splitlines())


def test_small_aliases_within_the_limits_still_work():
    src = yamlsrc.parse("a: &x [1, 2]\nb: *x\nc: &s chuỗi\nd: *s\n")
    assert src.data == {"a": [1, 2], "b": [1, 2], "c": "chuỗi", "d": "chuỗi"}
    assert src.lines[("b",)] == 2


def test_limits_hold_without_libyaml(monkeypatch):
    """The pure-Python pass enforces the same limits on its own."""
    monkeypatch.setattr(yamlsrc.yaml, "__with_libyaml__", False)
    for name in ["complex_key", "deep_brackets", "deep_block", "alias_bomb", "alias_cycle"]:
        text, line, needle = CASES[name]
        with pytest.raises(yamlsrc.YamlError) as exc:
            yamlsrc.parse(text)
        if line is not None:
            assert exc.value.line == line, name
        if needle is not None:
            assert needle in exc.value.message, name


def test_just_under_the_limits_is_accepted():
    nested = "a: " + "[" * (yamlsrc.MAX_DEPTH - 1) + "]" * (yamlsrc.MAX_DEPTH - 1) + "\n"
    assert yamlsrc.parse(nested).data["a"] is not None
    flat = "a: [" + ", ".join(["1"] * (yamlsrc.MAX_NODES - 3)) + "]\n"
    assert len(yamlsrc.parse(flat).data["a"]) == yamlsrc.MAX_NODES - 3
    with pytest.raises(yamlsrc.YamlError):
        yamlsrc.parse("a: [" + ", ".join(["1"] * (yamlsrc.MAX_NODES - 1)) + "]\n")


def test_shipped_library_is_well_inside_the_limits():
    for path in sorted(Path(LIBRARY).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert len(text.encode()) < yamlsrc.MAX_BYTES // 10
        yamlsrc.parse(text)     # no limit reached
