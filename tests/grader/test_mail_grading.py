"""Build a sandbox from a scenario, act through the real SMTP server, grade."""
from __future__ import annotations

import datetime as dt
import smtplib
from pathlib import Path

from grader.engine import grade, report_json
from grader.state import SandboxState
from scenarios.build import build
from scenarios.library import load
from tests.factories import make_message

DATA = Path(__file__).parents[1] / "scenarios" / "data"
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _send(port, login, password, to, subject, cc=None):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.login(login, password)
        c.sendmail(login, to + (cc or []), make_message(login, to, subject=subject, cc=cc))


def _grade(runtime, sandbox_id, loaded):
    return grade(SandboxState(runtime, sandbox_id), loaded.scenario)


def test_untouched_scores_zero_and_golden_path_full(runtime, smtp_server):
    loaded = load(DATA / "minimal.yaml")
    res = build(runtime, loaded, 7, "ts001", start=START)
    before = _grade(runtime, res.sandbox_id, loaded)
    assert before["total"] == 0 and before["max"] == 10
    assert [c["verdict"] for c in before["criteria"]] == ["fail", "fail"]
    assert "Chưa có thư nào gửi tới" in before["criteria"][0]["message"]

    rcpt, subject = res.values["recipient"]["email"], res.values["subject"]
    _send(smtp_server.port, res.candidate.address, res.candidate.password, [rcpt], subject)
    after = _grade(runtime, res.sandbox_id, loaded)
    assert after["total"] == 10, report_json(after)
    ev = after["criteria"][0]["evidence"]
    assert ev["to"] == [rcpt] and ev["message_id"].startswith("<")
    assert report_json(after) == report_json(_grade(runtime, res.sandbox_id, loaded))


def test_wrong_field_and_subject_lose_their_points(runtime, smtp_server):
    loaded = load(DATA / "minimal.yaml")
    res = build(runtime, loaded, 3, "ts002", start=START)
    rcpt = res.values["recipient"]["email"]
    other = "hoa@snv.cantho.test" if rcpt != "hoa@snv.cantho.test" else "lan@snv.cantho.test"
    _send(smtp_server.port, res.candidate.address, res.candidate.password, [other], "Danh sách", cc=[rcpt])
    report = _grade(runtime, res.sandbox_id, loaded)
    m1, m2 = report["criteria"]
    assert m1["awarded"] == 0 and f"{rcpt} được đặt ở ô CC" in m1["detail"]
    assert m2["awarded"] == 0 and "Tiêu đề thư là «Danh sách»" in m2["detail"]
    assert report["total"] == 0


def test_same_seed_same_task_sheet_different_seeds_differ(runtime):
    loaded = load(DATA / "minimal.yaml")
    a = build(runtime, loaded, 1, "a1", start=START)
    b = build(runtime, loaded, 1, "a2", start=START)
    assert a.task_sheet == b.task_sheet and a.values == b.values
    sheets = {tuple(build(runtime, loaded, s, f"s{s}", start=START).task_sheet) for s in range(2, 8)}
    assert len(sheets) > 1
