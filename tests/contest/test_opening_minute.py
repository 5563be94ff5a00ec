"""The cheap opening minute (issue 14): the theory paper is drawn at provisioning, "Bắt đầu
làm bài" is one small write, the pages and the countdown's poll are reads, an autosave is one
short write, and the theory page's questions are the template's markup built directly."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from sandbox.contest import session as exam
from sandbox.contest import theory
from sandbox.contest.models import Attempt, Candidate, Question, TheoryPaper
from sandbox.kernel.clock import FixedClock

from .portal_factory import AT, make_portal_world
from .test_portal import Seat, text


class Writes:
    """Counts the write transactions (``Database.write``, outermost) and the statements that
    change rows, while active."""

    def __init__(self, rt):
        self.rt, self.transactions, self.changes, self.on = rt, 0, [], False
        real = rt.db.write

        @contextmanager
        def counted():
            if self.on and not rt.db.in_batch():
                self.transactions += 1
            with real() as s:
                yield s

        rt.db.write = counted

        @event.listens_for(rt.db.engine, "before_cursor_execute")
        def _stmt(conn, cursor, statement, params, context, executemany):
            words = statement.split()
            verb = words[0].upper() if words else ""
            if self.on and verb in ("INSERT", "UPDATE", "DELETE"):
                self.changes.append(" ".join(words[:3 if verb == "INSERT" else 2]))

    @contextmanager
    def counting(self):
        self.transactions, self.changes, self.on = 0, [], True
        try:
            yield self
        finally:
            self.on = False


@pytest.fixture
def rt(sqlite_runtime):
    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(AT)
    return sqlite_runtime


def test_prepared_paper_is_the_one_the_start_draws(rt):
    w = make_portal_world(rt, n=3, questions=10)
    ids = list(w.candidates.values())
    assert theory.prepare_papers(rt, ids[:2]) == 2
    assert theory.prepare_papers(rt, ids[:2]) == 0              # once
    for cid in ids:
        exam.start_attempt(rt, cid)                            # the third draws at its start, as before
    with rt.db.read() as s:
        bank = s.execute(select(Question.id, Question.options).where(Question.bank == "mau")).all()
        for number, cid in w.candidates.items():
            items = s.scalar(select(TheoryPaper.items).where(TheoryPaper.candidate_id == cid))
            expected = theory.draw(w.code, number, [r[0] for r in bank], {r[0]: len(r[1]) for r in bank}, 10)
            assert items == expected


def test_start_is_one_small_write(rt):
    w = make_portal_world(rt, n=2, questions=10, scenario="thi-2024-de-1")
    cid = w.candidates["TS001"]
    theory.prepare_papers(rt, [cid])
    writes = Writes(rt)
    with writes.counting():
        st = exam.start_attempt(rt, cid, seat="10.0.0.1")
    assert writes.transactions == 1
    # the attempt, the candidate marked present, the sandbox's closing time; no paper drawn
    assert sorted(writes.changes) == ["INSERT INTO contest_attempts", "UPDATE contest_candidates", "UPDATE sandboxes"]
    assert st.started and st.deadline == AT + dt.timedelta(minutes=60) and st.remaining_seconds == 3600
    with rt.db.read() as s:
        assert s.get(Candidate, cid).attendance == "present"
        assert s.scalar(select(Attempt.last_seat).where(Attempt.candidate_id == cid)) == "10.0.0.1"
    # pressing it again writes nothing new (same seat, just seen)
    with writes.counting():
        again = exam.start_attempt(rt, cid, seat="10.0.0.1")
    assert again.deadline == st.deadline and writes.transactions == 0


def test_pages_and_polls_are_reads_and_an_autosave_is_one_write(rt):
    from sandbox.web import create_app

    w = make_portal_world(rt, n=1, questions=8)
    theory.prepare_papers(rt, list(w.candidates.values()))
    app = create_app(rt)
    seat = Seat(app)
    seat.login("TS001", w.passwords["TS001"])
    seat.post("/thi/bat-dau")
    seat.get("/thi/ly-thuyet")                                    # the part changes: recorded
    writes = Writes(rt)
    with writes.counting():
        assert seat.get("/thi/ly-thuyet").status_code == 200
        assert seat.get("/thi/trang-thai").get_json()["open"]
        assert seat.get("/thi/bai-thi").status_code == 200
        assert seat.get("/thi/ly-thuyet/xem-lai").status_code == 200
    assert writes.transactions == 0 and writes.changes == []
    q = theory.review(rt, w.candidates["TS001"]).questions[0]
    with writes.counting():
        resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": q.question_id, "chosen": [q.options[1][0]]},
                                headers={"X-CSRFToken": seat.token}, environ_base={"REMOTE_ADDR": seat.address})
    assert resp.status_code == 200 and resp.get_json()["answered"] == 1
    assert writes.transactions == 1 and writes.changes == ["UPDATE contest_theory_papers"]
    # activity is still recorded, at most every SEEN_EVERY_SECONDS when nothing else changes
    rt.clock.advance(seconds=exam.SEEN_EVERY_SECONDS)
    with writes.counting():
        seat.get("/thi/trang-thai")
    assert writes.changes == ["UPDATE contest_attempts"]
    with rt.db.read() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == w.candidates["TS001"]))
        assert att.part == "theory" and att.last_seen.replace(tzinfo=dt.timezone.utc) == rt.clock.now()
    # a new seat is recorded at once
    other = Seat(app, "10.0.0.77")
    with writes.counting():
        other.login("TS001", w.passwords["TS001"])           # its first page records the seat
    assert writes.changes == ["UPDATE contest_attempts"]
    with rt.db.read() as s:
        assert s.scalar(select(Attempt.last_seat).where(Attempt.candidate_id == w.candidates["TS001"])) == "10.0.0.77"


@pytest.mark.parametrize("locked", [False, True])
def test_theory_questions_are_the_templates_markup(rt, locked):
    from flask import render_template_string

    from sandbox.contest.web.portal import questions_html
    from sandbox.web import create_app

    w = make_portal_world(rt, n=1, questions=12)
    cid = w.candidates["TS001"]
    exam.start_attempt(rt, cid)
    paper = theory.review(rt, cid)
    multi = next(q for q in paper.questions if q.multiple) if any(q.multiple for q in paper.questions) else None
    theory.save_answers(rt, cid, {paper.questions[0].question_id: [paper.questions[0].options[2][0]],
                                  **({multi.question_id: [o[0] for o in multi.options[:2]]} if multi else {})})
    paper = theory.review(rt, cid)
    app = create_app(rt)
    with app.test_request_context():
        expected = render_template_string('{% for q in paper.questions %}{% include "portal/_question.html" %}'
                                          '{% endfor %}', paper=paper, locked=locked)
    assert str(questions_html(paper.questions, locked)) == expected
    assert "checked" in expected


def test_provisioning_draws_the_papers_of_present_candidates(runtime):
    from sandbox.contest import api

    from .test_parallel_provision import contest_with_candidates

    ids = contest_with_candidates(runtime, "cds2025", 3, absent=["TS002"])
    res = api.provision_shift(runtime, "cds2025", "Ca 1", workers=1)
    assert res.built == ["TS001", "TS003"] and res.absent == ["TS002"]
    with runtime.db.read() as s:
        drawn = set(s.scalars(select(TheoryPaper.candidate_id)))
    assert drawn == {ids["TS001"], ids["TS003"]}
    seat_state = exam.start_attempt(runtime, ids["TS001"])
    assert seat_state.started


def test_a_page_after_the_deadline_finishes_the_attempt(rt):
    from sandbox.web import create_app

    w = make_portal_world(rt, n=1, questions=5)
    theory.prepare_papers(rt, list(w.candidates.values()))
    app = create_app(rt)
    seat = Seat(app)
    seat.login("TS001", w.passwords["TS001"])
    seat.post("/thi/bat-dau")
    rt.clock.advance(minutes=61)
    page = text(seat.get("/thi/bai-thi"))
    assert 'id="finished"' in page
    st = exam.state(rt, w.candidates["TS001"])
    assert st.finished_at == AT + dt.timedelta(minutes=60) and st.theory_submitted
