"""The `sandbox` command line."""
from __future__ import annotations

from click.testing import CliRunner

from sandbox.cli import main


def test_account_add_creates_sandbox_and_account(tmp_path):
    r = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "account", "add", "ts009", "Lanhdao@CanTho.gov.vn",
                                  "--password", "x", "--name", "Nguyễn Văn An"])
    assert r.exit_code == 0, r.output
    assert "Đã tạo tài khoản lanhdao@cantho.gov.vn trong sandbox ts009" in r.output
    again = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "account", "add", "ts009", "lanhdao@cantho.gov.vn",
                                      "--password", "y"])
    assert again.exit_code == 2 and "đã có trong sandbox" in again.output


def test_account_add_rejects_a_bad_address_in_vietnamese(tmp_path):
    r = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "account", "add", "ts009", "khong-phai-dia-chi",
                                  "--password", "x"])
    assert r.exit_code == 2
    assert "Lỗi: Địa chỉ thư không hợp lệ" in r.output
    assert "Traceback" not in r.output


def test_demo_builds_once_and_prints_logins(tmp_path):
    args = ["--data-dir", str(tmp_path), "demo", "--no-serve", "--http-port", "8099"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "http://127.0.0.1:8099/" in r.output and "lanhdao@sonoivu.cantho.gov.vn" in r.output
    assert "demo@2024" in r.output
    # the demo contest: candidates with their portal passwords, admin accounts, a practice login
    assert "http://127.0.0.1:8099/thi" in r.output and "CT24-0001" in r.output and "btc" in r.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and again.output == r.output  # idempotent, same logins


def test_the_demo_contest_logins_work(tmp_path):
    import re

    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings
    from sandbox.web import create_app

    r = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "demo", "--no-serve"])
    number, password = re.search(r"(CT24-0001)\s+(\S+)\s+Nguyễn Thanh Tùng", r.output).groups()
    rt = Runtime.open(Settings(data_dir=tmp_path))
    try:
        client = create_app(rt).test_client()
        page = client.get("/thi").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resp = client.post("/thi", data={"csrf_token": token, "number": number, "password": password})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        assert rt.mail_login(*re.search(r"Luyện tập \(luyen-ky-so-chuyen-van-thu\): \S+  (\S+) / (\S+)",
                                        r.output).groups(), None) is not None
    finally:
        rt.close()
