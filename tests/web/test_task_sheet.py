"""The task sheet ("Đề bài") and practice mode: "Kiểm tra" gives per-criterion feedback
now, "Làm lại" starts again from the initial state with the same logins."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailserver import api as mail_api
from sandbox.kernel.clock import FixedClock
from scenarios.build import build
from scenarios.library import load
from tests.factories import make_message

from .conftest import CSRF_FIELD

DATA = Path(__file__).parents[1] / "scenarios" / "data"
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _login(client, address, password):
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_FIELD.search(page).group(1)
    return client.post("/login", data={"login": address, "password": password, "csrf_token": token})


def _post(client, url):
    page = client.get("/de-bai").get_data(as_text=True)
    return client.post(url, data={"csrf_token": CSRF_FIELD.search(page).group(1)}, follow_redirects=True)


def test_practice_check_and_restart(sqlite_runtime):
    from sandbox.web import create_app

    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    loaded = load(DATA / "minimal.yaml")
    res = build(rt, loaded, 7, "hv01", practice=True)
    client = create_app(rt).test_client()
    resp = _login(client, res.candidate.address, res.candidate.password)
    assert resp.headers["Location"].endswith("/")
    sheet = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Bài luyện: gửi thư có đồng gửi" in sheet and res.values["recipient"]["email"] in sheet
    assert "Kiểm tra bài làm" in sheet and "Làm lại từ đầu" in sheet

    checked = _post(client, "/de-bai/kiem-tra").get_data(as_text=True)
    assert "Kết quả kiểm tra: 0/10 điểm" in checked and "Chưa có thư nào gửi tới" in checked

    with rt.db.read() as s:
        acc = mail_api.account_by_address(s, res.sandbox_id, res.candidate.address)
    rcpt = res.values["recipient"]["email"]
    raw = make_message(res.candidate.address, [rcpt], subject=res.values["subject"])
    mail_api.submit(rt.dispatcher, rt.blobs, acc, raw, [rcpt], via="webmail")
    checked = _post(client, "/de-bai/kiem-tra").get_data(as_text=True)
    assert "Kết quả kiểm tra: 10/10 điểm" in checked

    restarted = _post(client, "/de-bai/lam-lai").get_data(as_text=True)
    assert "Đã làm lại từ đầu" in restarted
    assert "Kết quả kiểm tra: 0/10 điểm" in _post(client, "/de-bai/kiem-tra").get_data(as_text=True)
    # the same logins open the new attempt; the old one is kept but closed
    assert rt.mail_login(res.candidate.address, res.candidate.password, None).sandbox_id != res.sandbox_id
    assert rt.mail_login(f"hv01/{res.candidate.address}", res.candidate.password, None) is not None


def test_exam_mode_has_no_feedback(sqlite_runtime):
    from sandbox.web import create_app

    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    res = build(rt, load(DATA / "minimal.yaml"), 8, "ts008")
    client = create_app(rt).test_client()
    _login(client, res.candidate.address, res.candidate.password)
    sheet = client.get("/de-bai").get_data(as_text=True)
    assert "Kiểm tra bài làm" not in sheet and "Gửi thư cho" in sheet
    refused = _post(client, "/de-bai/kiem-tra")
    assert refused.status_code == 403 and "chỉ dùng khi luyện tập" in refused.get_data(as_text=True)
    other = build(rt, load(DATA / "minimal.yaml"), 9, "ts009")
    with rt.db.read() as s:
        assert mail_api.account_by_address(s, other.sandbox_id, "lan@snv.cantho.test") is not None
