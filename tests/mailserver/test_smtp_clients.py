"""Independent SMTP clients (smtplib with STARTTLS, curl, swaks) against `sandbox serve`
started as a subprocess, the way a trainer starts it."""
from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess

import pytest

from tests.factories import make_message, minimal_pdf

SENDER = "lanhdao@cantho.gov.vn"


def _inbox_subjects(served, address):
    """Read the served data dir through the store, as the grader would."""
    from mailserver.api import MailView
    from mailserver.models import MailAccount
    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings
    from sqlalchemy import select

    rt = Runtime.open(Settings(data_dir=served.data_dir))
    try:
        with rt.db.read() as s:
            acc = s.scalars(select(MailAccount).where(MailAccount.address == address)).one()
            view = MailView(s, acc.sandbox_id, acc.id)
            rows, _ = view.items(view.special(None), limit=100)
            return sorted(d.subject for _, d in rows)
    finally:
        rt.close()


def test_smtplib_starttls_session(serve_process):
    raw = make_message(f"Nguyễn Văn An <{SENDER}>", ["truongphong@cantho.gov.vn"], subject="Gửi kế hoạch",
                       cc=["vanthu@cantho.gov.vn"], attachments=[("Kế hoạch.pdf", "application/pdf", minimal_pdf())])
    with smtplib.SMTP("127.0.0.1", serve_process.smtp, timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        c.starttls(context=ssl._create_unverified_context())
        c.login(SENDER, serve_process.password)
        assert c.sendmail(SENDER, ["truongphong@cantho.gov.vn", "vanthu@cantho.gov.vn"], raw) == {}
    assert _inbox_subjects(serve_process, "vanthu@cantho.gov.vn") == ["Gửi kế hoạch"]


@pytest.mark.skipif(not shutil.which("curl"), reason="curl missing")
def test_curl_submission(serve_process, tmp_path):
    msg = tmp_path / "m.eml"
    msg.write_bytes(make_message(SENDER, ["truongphong@cantho.gov.vn"], subject="Thư từ curl"))
    out = subprocess.run(["curl", "-sS", f"smtp://127.0.0.1:{serve_process.smtp}", "--mail-from", SENDER,
                          "--mail-rcpt", "truongphong@cantho.gov.vn", "--user", f"{SENDER}:{serve_process.password}",
                          "--upload-file", str(msg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    # unauthenticated: refused
    bad = subprocess.run(["curl", "-sS", f"smtp://127.0.0.1:{serve_process.smtp}", "--mail-from", SENDER,
                          "--mail-rcpt", "truongphong@cantho.gov.vn", "--upload-file", str(msg)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "530" in bad.stderr
    assert _inbox_subjects(serve_process, "truongphong@cantho.gov.vn") == ["Thư từ curl"]


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks missing (make deps installs it)")
def test_swaks_submission_and_relay_refusal(serve_process):
    base = ["swaks", "--server", "127.0.0.1", "--port", str(serve_process.smtp), "--from", SENDER,
            "--auth", "LOGIN", "--auth-user", SENDER, "--auth-password", serve_process.password, "--tls"]
    ok = subprocess.run(base + ["--to", "vanthu@cantho.gov.vn", "--header", "Subject: =?UTF-8?B?VGjGsCB04burIHN3YWtz?=",
                                "--body", "Noi dung", "--attach", "-"], input=minimal_pdf(), capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stdout.decode()
    relay = subprocess.run(base + ["--to", "ai.do@gmail.com"], capture_output=True, timeout=30)
    assert relay.returncode != 0 and b"Relay access denied" in relay.stdout
    assert _inbox_subjects(serve_process, "vanthu@cantho.gov.vn") == ["Thư từ swaks"]
