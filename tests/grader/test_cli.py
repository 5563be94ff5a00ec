"""`sandbox sandbox create`, `sandbox grade` and `sandbox rubric render` as a user runs them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from scenarios.library import load
from tests.conftest import cli_env

CLI = [sys.executable, "-m", "sandbox.cli"]


def _run(env, *args, check=True):
    out = subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=180)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_create_then_grade_json_html_pdf(tmp_path):
    env = cli_env(tmp_path / "data")
    created = _run(env, "sandbox", "create", "--scenario", "thi-2022-de-1", "--seed", "4", "--name", "ts004").stdout
    assert "Đăng nhập (web, SMTP, IMAP): tungnt@sonoivu.cantho.gov.vn / mật khẩu: " in created
    assert "Mã PIN thiết bị ký số: 246810" in created and "Câu 2. Bút phê" in created
    again = _run(env, "sandbox", "create", "--scenario", "thi-2022-de-1", "--seed", "4", "--name", "ts004", check=False)
    assert again.returncode == 2 and "đã được tạo từ một đề" in again.stderr

    report = json.loads(_run(env, "grade", "ts004", "--json").stdout)
    assert report["total"] == 0 and report["max"] == 55 and report["scenario"] == "thi-2022-de-1"
    assert [c["id"] for c in report["criteria"]][:3] == ["M1", "M2", "M3"]
    assert _run(env, "grade", "ts004", "--json").stdout == _run(env, "grade", "ts004", "--json").stdout

    _run(env, "grade", "ts004", "--html", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Phiếu chấm điểm phần thực hành" in html and "Không đạt" in html
    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                                       text=True).stdout.split())
        assert "PHIẾU CHẤM ĐIỂM PHẦN THỰC HÀNH" in text and "Thư gửi đúng người nhận chính" in text

    missing = _run(env, "grade", "khongco", check=False)
    assert missing.returncode == 2 and "không có sandbox khongco" in missing.stderr


def test_published_rubric_has_no_parameters_or_answer_values(tmp_path):
    env = cli_env(tmp_path / "data")
    html = _run(env, "rubric", "render", "thi-2022-de-1").stdout
    body = html.split("<body>")[1]
    sc = load("thi-2022-de-1").scenario
    assert "Hướng dẫn chấm phần thực hành" in html
    for c in sc.rubric.criteria:
        assert c.description in html
    # no drawn values, no check parameters, no placeholders
    for secret in ("sonvt@", "maiht@", "Mau-danh-sach", "KH-98-UBND.pdf", "{", "cv_cu_thi", "mail.sent_to"):
        assert secret not in body, secret
    _run(env, "rubric", "render", "thi-2022-de-1", "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                                       text=True).stdout.split())
        assert "HƯỚNG DẪN CHẤM PHẦN THỰC HÀNH" in text and "Ký số bằng chứng thư số của chính mình" in text
    bad = _run(env, "rubric", "render", "khong-co-de", check=False)
    assert bad.returncode == 2 and "Không tìm thấy đề" in bad.stderr and "Traceback" not in bad.stderr


def test_a_signed_score_sheet_verifies_and_a_modified_one_does_not(tmp_path):
    env = cli_env(tmp_path / "data")
    _run(env, "sandbox", "create", "--scenario", "thi-2022-de-1", "--seed", "6", "--name", "ts006")
    sheet = tmp_path / "phieu.pdf"
    _run(env, "grade", "ts006", "--pdf", str(sheet), "--sign")
    ok = _run(env, "verify", str(sheet), "--data-dir", str(tmp_path / "data"), check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ" in ok.stdout
    data = bytearray(sheet.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the signed page content
    tampered = tmp_path / "phieu-sua.pdf"
    tampered.write_bytes(bytes(data))
    bad = _run(env, "verify", str(tampered), "--data-dir", str(tmp_path / "data"), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
