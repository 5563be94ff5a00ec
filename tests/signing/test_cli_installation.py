"""`sandbox verify FILE --data-dir DIR --sandbox NAME`: trusts the installation's test root
and names the in-world owner of each certificate."""
from __future__ import annotations

import json
import subprocess
import sys

from sandbox.kernel.sandboxes import get_or_create_sandbox
from signing import api
from tests.conftest import cli_env


def test_verify_against_an_installation_and_a_sandbox(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    sid = get_or_create_sandbox(rt.db, rt.clock, "ts042")
    pki = api.pki_for(rt)
    bundle = pki.issue_personal("Trần Thị Bình", title="Chuyên viên", organisation="SỞ NỘI VỤ")
    token = api.provision(rt.dispatcher, sid, "binhtt@sonoivu.cantho.gov.vn", bundle, "135790")
    signed = api.sign_with_token(rt, sid, token, "135790", api.sample_draft("Trần Thị Bình"),
                                 actor="binhtt@sonoivu.cantho.gov.vn")
    f = tmp_path / "ky.pdf"
    f.write_bytes(signed)
    data_dir, db_url = str(rt.settings.data_dir), rt.settings.database_url
    rt.close()
    env = {**cli_env(tmp_path / "other"), "SANDBOX_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "sandbox.cli", "verify", str(f), "--data-dir", data_dir, "--sandbox", "ts042", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1, out.stderr  # the organisation field is still empty: incomplete
    report = json.loads(out.stdout)
    [sig] = report["signatures"]
    assert sig["trusted"] is True and sig["person"] == "Trần Thị Bình (binhtt@sonoivu.cantho.gov.vn)"
    assert report["status"] == "incomplete"
    missing = subprocess.run(cmd[:-3] + ["--sandbox", "khongco"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert missing.returncode == 2 and "không có sandbox khongco" in missing.stderr
