"""Issue 8: signed score sheets per candidate and per unit verify with `sandbox verify`; a
changed byte does not."""
from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import cli_env

from .results_factory import add_candidates, add_units, make_contest, scored


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "sandbox.cli", *args], capture_output=True, text=True,
                          env=env, timeout=180)


def test_candidate_and_unit_sheets_are_signed(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    contest = make_contest(rt)
    units = add_units(rt, contest, [("Sở Nội vụ", "so")])
    add_candidates(rt, contest, units, [("CT23-0001", "Nguyễn Văn An", "Sở Nội vụ", scored(55, 38), None),
                                        ("CT23-0002", "Trần Thị Bình", "Sở Nội vụ", None, "Đi công tác")])
    env = {**cli_env(rt.settings.data_dir), "SANDBOX_DATABASE_URL": rt.settings.database_url}
    data_dir = str(rt.settings.data_dir)
    for what, arg in (("candidate", ["--number", "CT23-0001"]), ("unit", ["--unit", "Sở Nội vụ"])):
        out = tmp_path / f"{what}.pdf"
        made = _cli(env, "contest", "sheet", "cds2023", *arg, "--out", str(out))
        assert made.returncode == 0, made.stderr
        ok = _cli(env, "verify", str(out), "--data-dir", data_dir)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        if shutil.which("pdftotext"):
            text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout.split())
            assert ("PHIẾU ĐIỂM THÍ SINH" if what == "candidate" else "BẢNG ĐIỂM ĐƠN VỊ") in text
            assert "Nguyễn Văn An" in text and "93" in text
            if what == "unit":
                assert "Vắng" in text and "Đi công tác" in text
        data = bytearray(out.read_bytes())
        data[len(data) // 3] ^= 0x01
        out.write_bytes(bytes(data))
        assert _cli(env, "verify", str(out), "--data-dir", data_dir).returncode != 0
    bad = _cli(env, "contest", "sheet", "cds2023", "--number", "CT23-9999", "--out", str(tmp_path / "x.pdf"))
    assert bad.returncode == 2 and "Không có thí sinh số báo danh CT23-9999" in bad.stderr
