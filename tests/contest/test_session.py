"""The exam session: login across contests, the shift's start time, absent candidates, the
deadline fixed at the start, the sandbox closing with the attempt (also after a switch to
another sandbox), finishing early."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sandbox.kernel.clock import FixedClock, as_utc
from sandbox.contest import session as exam
from sandbox.contest.models import Candidate, Shift
from sandbox.kernel.models import Sandbox

from .portal_factory import AT, make_portal_world


@pytest.fixture
def rt(sqlite_runtime):
    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(AT)
    return sqlite_runtime


def test_login_picks_the_contest_by_password(rt):
    a = make_portal_world(rt, code="cds2023", n=1)
    b = make_portal_world(rt, code="cds2024", n=1)
    assert a.passwords["TS001"] != b.passwords["TS001"]
    ref = exam.login(rt, " ts001 ", b.passwords["TS001"], "10.0.0.1")
    assert (ref.contest_code, ref.id) == ("cds2024", b.candidates["TS001"])
    assert exam.login(rt, "TS001", a.passwords["TS001"], "10.0.0.1").contest_code == "cds2023"
    assert exam.login(rt, "TS001", "", "10.0.0.1") is None
    assert exam.login(rt, "TS999", a.passwords["TS001"], "10.0.0.1") is None


def test_shift_start_absent_and_fixed_deadline(rt):
    w = make_portal_world(rt, n=2, duration=45)
    with rt.db.write() as s:
        s.get(Shift, w.shift_id).starts_at = AT + dt.timedelta(minutes=30)
        s.get(Candidate, w.candidates["TS002"]).attendance = "absent"
    with pytest.raises(exam.Forbidden) as e:
        exam.start_attempt(rt, w.candidates["TS001"])
    assert e.value.message_vi == "Chưa đến giờ thi: Ca 1 bắt đầu lúc 08:30 03/06/2024."
    rt.clock.advance(minutes=30)
    with pytest.raises(exam.Forbidden) as e:
        exam.start_attempt(rt, w.candidates["TS002"])
    assert "vắng thi" in e.value.message_vi
    st = exam.start_attempt(rt, w.candidates["TS001"], seat="10.0.0.1")
    assert st.deadline == AT + dt.timedelta(minutes=75) and st.remaining_seconds == 45 * 60
    rt.clock.advance(minutes=10)
    again = exam.start_attempt(rt, w.candidates["TS001"], seat="10.0.0.2")
    assert again.deadline == st.deadline and again.remaining_seconds == 35 * 60
    with rt.db.read() as s:
        assert s.get(Candidate, w.candidates["TS001"]).attendance == "present"


def test_sandbox_closes_with_the_attempt_and_after_a_switch(rt):
    w = make_portal_world(rt, n=1, questions=5, scenario="thi-2024-de-1")
    cid = w.candidates["TS001"]
    st = exam.start_attempt(rt, cid)
    with rt.db.read() as s:
        assert as_utc(s.scalar(select(Sandbox.closes_at).where(Sandbox.name == "cds2024-ts001"))) == st.deadline
    # the candidate is moved to another sandbox (e.g. the backup set): it closes at the same deadline
    from scenarios.build import build
    from scenarios.library import load
    build(rt, load("thi-2024-de-2"), 1, "cds2024-ts001-dp")
    with rt.db.write() as s:
        s.get(Candidate, cid).sandbox_name = "cds2024-ts001-dp"
    exam.sync_closing(rt, cid)
    assert exam.mail_account_of(rt, cid).sandbox_name == "cds2024-ts001-dp"
    with rt.db.read() as s:
        assert as_utc(s.scalar(select(Sandbox.closes_at).where(Sandbox.name == "cds2024-ts001-dp"))) == st.deadline
    # finishing early closes it at once
    rt.clock.advance(minutes=20)
    done = exam.finish(rt, cid)
    assert done.finished_at == AT + dt.timedelta(minutes=20) and done.theory_submitted and not done.open
    with rt.db.read() as s:
        assert as_utc(s.scalar(select(Sandbox.closes_at).where(Sandbox.name == "cds2024-ts001-dp"))) == done.finished_at
