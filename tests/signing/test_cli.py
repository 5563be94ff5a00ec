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
