"""Drill classes: the board (passed / failed / not yet, common mistakes), joining by code and
from a roster, the trainer's reset, and the `sandbox training` commands."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailserver import api as mail_api
from sandbox.training import api as training
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.errors import SandboxError
from tests.factories import make_message

MINIMAL = str(Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml")
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture
def rt(sqlite_runtime):
    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(START)
    return sqlite_runtime


@pytest.fixture
def any_rt(runtime):
    """SQLite and PostgreSQL."""
    runtime.clock = runtime.dispatcher.clock = FixedClock(START)
    return runtime


def send(rt, login: training.TraineeLogin, to: str, subject: str) -> None:
    with rt.db.read() as s:
        sb = training._current(s, login.sandbox_name)
        acc = mail_api.account_by_address(s, sb.id, login.address)
    mail_api.submit(rt.dispatcher, rt.blobs, acc, make_message(login.address, [to], subject=subject), [to],
                    via="webmail")


def values(rt, login: training.TraineeLogin) -> dict:
    from grader.state import SandboxState
    with rt.db.read() as s:
        sb = training._current(s, login.sandbox_name)
    return SandboxState(rt, sb.id).values


@contextlib.contextmanager
def refused(text: str):
    """The Vietnamese message (what the user sees) contains ``text``."""
    with pytest.raises(SandboxError) as e:
        yield
    assert text in e.value.message_vi, e.value.message_vi


def cells(b: dict, slot: int = 0) -> dict[str, dict[str, str]]:
    return {t["name"]: {k: v["status"] for k, v in t["slots"][slot]["criteria"].items()} for t in b["trainees"]}


def test_board_passed_failed_not_yet_and_common_mistakes(any_rt):
    rt = any_rt
    info, _ = training.create_class(rt, "Lớp Ninh Kiều", [MINIMAL], code="nk-2026", actor="gv01")
    assert info.join_code == "NK-2026" and info.slug == "lop-ninh-kieu"
    an = training.join(rt, "nk-2026", "Nguyễn Văn An")
    binh = training.join(rt, " NK-2026 ", "Trần  Thị Bình")
    chi = training.join(rt, "NK-2026", "Lê Minh Chi")
    assert [j.logins[0].sandbox_name for j in (an, binh, chi)] == \
        ["lop-ninh-kieu.hv001.1", "lop-ninh-kieu.hv002.1", "lop-ninh-kieu.hv003.1"]
    assert binh.name == "Trần Thị Bình"

    untouched = training.board(rt, info.id, workers=1)
    assert set(cells(untouched)["Nguyễn Văn An"].values()) == {"not_yet"} and untouched["mistakes"] == []

    v = values(rt, an.logins[0])
    send(rt, an.logins[0], v["recipient"]["email"], "Sai tiêu đề")          # M1 right, M2 wrong
    v2 = values(rt, binh.logins[0])
    send(rt, binh.logins[0], "vanthu@snv.cantho.test", v2["subject"])      # wrong person: both fail
    b = training.board(rt, info.id, workers=1)
    assert cells(b) == {"Nguyễn Văn An": {"M1": "passed", "M2": "failed"},
                        "Trần Thị Bình": {"M1": "failed", "M2": "failed"},
                        "Lê Minh Chi": {"M1": "not_yet", "M2": "not_yet"}}
    m1 = next(c for c in b["items"][0]["criteria"] if c["id"] == "M1")
    assert m1["counts"] == {"passed": 1, "failed": 1, "not_yet": 1}
    assert [(m["criterion"], m["count"]) for m in b["mistakes"]] == [("M2", 2), ("M1", 1)]
    assert b["mistakes"][1]["messages"] == [{"text": f"Chưa có thư nào gửi tới {v2['recipient']['email']}.",
                                             "count": 1}]
    assert sum(x["count"] for x in b["mistakes"][0]["messages"]) == 2
    assert b["trainees"][0]["slots"][0]["actions"] >= 1 and b["trainees"][2]["slots"][0]["actions"] == 0
    json.dumps(b, ensure_ascii=False)  # JSON-ready for `--json`


def test_a_task_left_alone_stays_not_yet():
    """Two tasks: acting on one leaves the other "not yet" while its outcome is the untouched one."""
    report = {"criteria": [
        {"id": "A1", "task": "t1", "verdict": "pass", "awarded": 1, "detail": "ok", "evidence": {"n": 1}},
        {"id": "B1", "task": "t2", "verdict": "fail", "awarded": 0, "detail": "chưa", "evidence": {"doc_id": 9}}]}
    baseline = {"A1": ["fail", 0, "chưa", {}], "B1": ["fail", 0, "chưa", {}]}
    assert training.criterion_statuses(report, baseline, acted=2) == {"A1": "passed", "B1": "not_yet"}
    assert training.criterion_statuses(report, baseline, acted=0) == {"A1": "not_yet", "B1": "not_yet"}


def test_trainer_reset_rebuilds_and_is_recorded(any_rt):
    rt = any_rt
    info, _ = training.create_class(rt, "Lớp Cái Răng", [MINIMAL], code="CR01")
    an = training.join(rt, "CR01", "Nguyễn Văn An")
    login = an.logins[0]
    v = values(rt, login)
    send(rt, login, v["recipient"]["email"], v["subject"])
    assert cells(training.board(rt, info.id, workers=1))["Nguyễn Văn An"] == {"M1": "passed", "M2": "passed"}

    done = training.reset(rt, info.id, an.trainee_id, by="gv01")
    assert done[0]["archived_as"] == "lop-cai-rang.hv001.1~1"
    b = training.board(rt, info.id, workers=1)
    assert cells(b)["Nguyễn Văn An"] == {"M1": "not_yet", "M2": "not_yet"}
    assert b["trainees"][0]["slots"][0]["resets"] == [{"by": "gv01", "at": START.astimezone(dt.timezone.utc).isoformat(),
                                                       "archived_as": "lop-cai-rang.hv001.1~1"}]
    assert [(r["trainee"], r["by"]) for r in training.resets(rt, info.id)] == [("Nguyễn Văn An", "gv01")]
    # the same login opens the fresh attempt
    ref = rt.mail_login(login.login, login.password, None)
    assert ref is not None and ref.sandbox_id == done[0]["sandbox_id"]
    assert training.logins(rt, an.trainee_id)[0].password == login.password
    # the trainee's own "Làm lại" (same name, new sandbox) gets a fresh baseline on the board
    from scenarios.build import restart
    restart(rt, done[0]["sandbox_id"], actor=login.address)
    assert cells(training.board(rt, info.id, workers=1))["Nguyễn Văn An"] == {"M1": "not_yet", "M2": "not_yet"}


def test_join_refusals_are_precise(rt):
    info, _ = training.create_class(rt, "Lớp Ô Môn", [MINIMAL], code="OMON")
    with refused("Mã tham gia «SAI-MA» không đúng"):
        training.join(rt, "sai-ma", "Nguyễn Văn An")
    with refused("Hãy nhập mã tham gia"):
        training.join(rt, "  ", "Nguyễn Văn An")
    with refused("Hãy nhập họ và tên"):
        training.join(rt, "OMON", "   ")
    training.join(rt, "OMON", "Nguyễn Văn An")
    with refused("Trong lớp đã có học viên «Nguyễn Văn An»"):
        training.join(rt, "omon", "Nguyễn  Văn An")
    training.set_closed(rt, info.id, True)
    with refused("đã đóng"):
        training.join(rt, "OMON", "Trần Thị Bình")


def test_create_refusals_and_roster(rt):
    with refused("Hãy chọn ít nhất một bài"):
        training.create_class(rt, "Lớp A", [])
    with refused("Không tìm thấy bài luyện hay đề thi «khong-co»"):
        training.create_class(rt, "Lớp A", ["khong-co"])
    with refused("Mã tham gia chỉ gồm"):
        training.create_class(rt, "Lớp A", [MINIMAL], code="a b")
    with refused("Dòng 2 của danh sách học viên: «abc» không phải địa chỉ"):
        training.parse_roster("Nguyễn Văn An, an@example.vn\nTrần Thị Bình, abc")
    roster = training.parse_roster("Nguyễn Văn An, an@example.vn\n\nTrần Thị Bình;binh@example.vn\n")
    info, joined = training.create_class(rt, "Lớp A", [MINIMAL, "luyen-ky-so-chuyen-van-thu"], use_code=False,
                                         roster=roster, actor="gv01")
    assert info.join_code is None
    assert [(j.name, j.email, len(j.logins)) for j in joined] == [("Nguyễn Văn An", "an@example.vn", 2),
                                                                 ("Trần Thị Bình", "binh@example.vn", 2)]
    first = joined[0].logins[1]
    assert first.sandbox_name == "lop-a.hv001.2" and first.login.startswith("lop-a.hv001.2/")
    assert rt.mail_login(first.login, first.password, None) is not None
    assert [x.password for x in training.logins(rt, joined[0].trainee_id)] == [x.password for x in joined[0].logins]
    with refused("Đã có lớp «Lớp A»"):
        training.create_class(rt, "Lớp  A", [MINIMAL])
    b = training.board(rt, info.id, workers=1)
    assert len(b["items"]) == 2 and all(len(t["slots"]) == 2 for t in b["trainees"])
    # a drill with documents and signing is reset too (the world is rebuilt by the system)
    done = training.reset(rt, info.id, joined[1].trainee_id, 2, by="gv01")
    assert done[0]["archived_as"] == "lop-a.hv002.2~1"
    assert set(cells(training.board(rt, info.id, workers=1), 1)["Trần Thị Bình"].values()) == {"not_yet"}


def test_cli_create_join_board(tmp_path):
    from sandbox.cli import main

    base = ["--data-dir", str(tmp_path)]
    r = CliRunner().invoke(main, base + ["training", "create", "Lớp Bình Thủy", "--drill", MINIMAL, "--code", "BT-01"])
    assert r.exit_code == 0, r.output
    assert "Đã tạo lớp «Lớp Bình Thủy»" in r.output and "BT-01" in r.output
    r = CliRunner().invoke(main, base + ["training", "join", "bt-01", "--name", "Nguyễn Văn An"])
    assert r.exit_code == 0, r.output
    assert "lop-binh-thuy.hv001.1/an@snv.cantho.test" in r.output and "mật khẩu" in r.output
    bad = CliRunner().invoke(main, base + ["training", "join", "XX-99", "--name", "Nguyễn Văn An"])
    assert bad.exit_code == 2 and "Mã tham gia «XX-99» không đúng" in bad.output and "Traceback" not in bad.output
    r = CliRunner().invoke(main, base + ["training", "board", "Lớp Bình Thủy"])
    assert r.exit_code == 0, r.output
    assert "Nguyễn Văn An" in r.output and "Chưa làm" in r.output
    r = CliRunner().invoke(main, base + ["training", "board", "Lớp Bình Thủy", "--json"])
    data = json.loads(r.output)
    assert data["trainees"][0]["slots"][0]["criteria"]["M1"]["status"] == "not_yet"
    missing = CliRunner().invoke(main, base + ["training", "board", "Không có"])
    assert missing.exit_code == 2 and "Không có lớp luyện tập «Không có»" in missing.output
