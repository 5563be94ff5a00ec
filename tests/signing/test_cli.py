"""`sandbox sign example`: a trainer gets a draft, a leader-signed and an issued PDF."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from sandbox.cli import main


@pytest.mark.skipif(not shutil.which("pdfsig"), reason="Poppler's pdfsig not installed (make deps installs it)")
def test_sign_example_writes_a_two_layer_document(tmp_path):
    r = CliRunner().invoke(main, ["sign", "example", "--out", str(tmp_path / "ex")])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (tmp_path / "ex").iterdir())
    assert names == ["draft.pdf", "issued.pdf", "leader-signed.pdf", "root.pem"]
    out = subprocess.run(["pdfsig", "-nocert", "-no-ocsp", str(tmp_path / "ex" / "issued.pdf")],
                         capture_output=True, text=True).stdout
    assert out.count("Signature is Valid.") == 2
    leader_only = subprocess.run(["pdfsig", "-nocert", "-no-ocsp", str(tmp_path / "ex" / "leader-signed.pdf")],
                                 capture_output=True, text=True).stdout
    assert leader_only.count("Signature is Valid.") == 1
    assert (tmp_path / "ex" / "root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_verify_exit_codes_and_json(tmp_path):
    import json
    ex = tmp_path / "ex"
    assert CliRunner().invoke(main, ["sign", "example", "--out", str(ex)]).exit_code == 0
    trust = ["--trust", str(ex / "root.pem")]
    ok = CliRunner().invoke(main, ["verify", str(ex / "issued.pdf"), *trust])
    assert ok.exit_code == 0, ok.output
    assert "HỢP LỆ" in ok.output and "Dấu trùm lên khoảng 1/3" in ok.output
    waiting = CliRunner().invoke(main, ["verify", str(ex / "leader-signed.pdf"), *trust])
    assert waiting.exit_code == 1 and "CHƯA HOÀN THÀNH" in waiting.output
    untrusted = CliRunner().invoke(main, ["verify", str(ex / "issued.pdf")])
    assert untrusted.exit_code == 1 and "KHÔNG tin cậy" in untrusted.output
    report = json.loads(CliRunner().invoke(main, ["verify", str(ex / "issued.pdf"), *trust, "--json"]).output)
    assert report["status"] == "valid"
    assert [s["field"] for s in report["signatures"]] == ["SigLanhDao", "SigToChuc"]
    assert {v["code"] for v in report["verdicts"]} >= {"two_layers", "order", "unchanged_after_leader", "seal_placement"}


def test_verify_unusable_input_is_one_clear_line_and_exit_2(tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"not a pdf at all")
    for path in (tmp_path / "x.pdf", tmp_path / "missing.pdf"):
        r = CliRunner().invoke(main, ["verify", str(path)])
        assert r.exit_code == 2
        assert r.output.startswith("Lỗi: ") and r.output.count("\n") == 1 and "Traceback" not in r.output
