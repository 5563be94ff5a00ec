"""`sandbox log verify NAME`: an intact chain, then one edited entry named."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from sandbox.kernel.models import Action
from sandbox.kernel.sandboxes import get_or_create_sandbox
from tests.conftest import cli_env
from tests.factories import make_world


def test_log_verify_names_the_edited_entry(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    world = make_world(rt, "ts077")
    env = {**cli_env(rt.settings.data_dir), "SANDBOX_DATABASE_URL": rt.settings.database_url}
    cmd = [sys.executable, "-m", "sandbox.cli", "log", "verify", "ts077"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0 and "toàn vẹn" in ok.stdout, ok.stderr
    with rt.db.write() as s:
        entry = s.scalar(select(Action).where(Action.sandbox_id == world.sandbox_id, Action.seq == 3))
        entry.args = {**entry.args, "display_name": "Người khác"}
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "bước 3 (mail.create_account" in bad.stdout, bad.stdout
    missing = subprocess.run(cmd[:-1] + ["khongco"], capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2 and "không có sandbox khongco" in missing.stderr
    assert get_or_create_sandbox(rt.db, rt.clock, "ts077") == world.sandbox_id
