"""Issue 8, acceptance 1 for every shipped exam set: a scripted session (the golden path
with one classic mistake, through the same APIs the pages and SMTP use) replays to the
identical final score report; editing one log entry breaks the chain at exactly that entry."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.kernel.actions import verify_chain
from sandbox.kernel.models import Action
from sandbox.replay.api import replay
from scenarios.library import load
from tests.scenarios.harness import Candidate
from tests.scenarios.test_exam_sets import SETS, golden


@pytest.mark.parametrize("exam", sorted(SETS))
def test_exam_session_replays_identically(sqlite_runtime, exam):
    loaded = load(exam)
    c = Candidate(sqlite_runtime, loaded, 9, "ts009")
    golden(c, SETS[exam], cert=SETS[exam].specialist)   # the specialist's certificate: the clerk refuses
    result = replay(sqlite_runtime, "ts009")
    assert result.first_mismatch is None, [s.detail for s in result.steps if not s.ok]
    assert result.report_same is True
    assert result.replay_report["total"] == c.grade()["total"] < loaded.scenario.points

    with sqlite_runtime.db.write() as s:
        entry = s.scalar(select(Action).where(Action.sandbox_id == c.sid, Action.name == "mail.submit")
                         .order_by(Action.seq.desc()))
        entry.actor = "nguoi-khac@cantho.gov.vn"
        seq = entry.seq
    with sqlite_runtime.db.read() as s:
        assert verify_chain(s, c.sid) == (False, seq)
