"""A candidate's exam session: portal login, the attempt and its server-side clock, activity
(seat, part, last seen), finishing, and the deadline enforced on every request and by
``sweep``.

The deadline is decided once, when the candidate presses "Bắt đầu làm bài":
``start + contest.duration_minutes + extra minutes``; reloading, logging in on another seat
or a new browser never moves it; only an examiner's extension does
(``sandbox.contest.examiner.extend``). The candidate's sandbox closes at the same moment
(``sandbox.kernel.sandboxes.set_closing_time``): after it, web forms, SMTP and IMAP refuse changes."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import Forbidden, NotFound
from sandbox.kernel.models import Sandbox

from . import theory
from .models import Attempt, Candidate, Contest, ContestPart, Shift, TheoryPaper
from .passwords import candidate_password

#: a candidate counts as "online" in the examiner's view when seen this recently
ONLINE_SECONDS = 120


@dataclass(frozen=True)
class CandidateRef:
    id: int
    contest_id: int
    contest_code: str
    contest_name: str
    number: str
    full_name: str
    sandbox_name: str


@dataclass
class AttemptState:
    started: bool
    started_at: datetime | None
    deadline: datetime | None
    remaining_seconds: int          # 0 when over or not started
    finished_at: datetime | None
    extra_minutes: int
    part: str
    theory_submitted: bool

    @property
    def open(self) -> bool:
        return self.started and self.finished_at is None and self.remaining_seconds > 0

    @property
    def over(self) -> bool:
        return self.started and not self.open


def _ref(c: Candidate, contest: Contest) -> CandidateRef:
    return CandidateRef(c.id, contest.id, contest.code, contest.name, c.number, c.full_name, c.sandbox_name)


def login(runtime, number: str, password: str, client_address: str | None) -> CandidateRef | None:
    """Check a candidate number and portal password (throttled like every login). The
    number may exist in several contests; the password (derived per contest) decides."""
    number = (number or "").strip().upper()
    key = f"thi:{number}"
    runtime.throttle.check(key, client_address)
    password = (password or "").strip()
    found = None
    if number and password:
        with runtime.db.read() as s:
            rows = s.execute(select(Candidate, Contest).join(Contest, Contest.id == Candidate.contest_id)
                             .where(Candidate.number == number)).all()
            for cand, contest in rows:
                if hmac.compare_digest(candidate_password(runtime.secret, contest.code, cand.number), password):
                    found = _ref(cand, contest)
                    break
    if found is None:
        runtime.throttle.failed(key, client_address)
    else:
        runtime.throttle.succeeded(key)
    return found


def candidate_ref(runtime, candidate_id: int) -> CandidateRef | None:
    with runtime.db.read() as s:
        cand = s.get(Candidate, candidate_id)
        if cand is None:
            return None
        return _ref(cand, s.get(Contest, cand.contest_id))


def _state(att: Attempt | None, paper_submitted: bool, now: datetime) -> AttemptState:
    if att is None:
        return AttemptState(False, None, None, 0, None, 0, "", paper_submitted)
    deadline = as_utc(att.deadline)
    remaining = max(0, int((deadline - as_utc(now)).total_seconds()))
    if att.finished_at is not None:
        remaining = 0
    return AttemptState(True, as_utc(att.started_at), deadline, remaining,
                        as_utc(att.finished_at) if att.finished_at else None, att.extra_minutes or 0,
                        att.part or "", paper_submitted)


def state(runtime, candidate_id: int) -> AttemptState:
    with runtime.db.read() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        submitted = s.scalar(select(TheoryPaper.submitted_at).where(TheoryPaper.candidate_id == candidate_id))
        return _state(att, submitted is not None, runtime.clock.now())


def _sandbox_id(s, cand: Candidate) -> int | None:
    if not cand.sandbox_name:
        return None
    return s.scalar(select(Sandbox.id).where(Sandbox.name == cand.sandbox_name))


def start_attempt(runtime, candidate_id: int, *, seat: str = "") -> AttemptState:
    """Start the candidate's exam (idempotent: a second call, from any seat, returns the
    running attempt unchanged). Draws the theory paper and closes the sandbox at the deadline."""
    theory.ensure_sample_bank(runtime)     # the shipped bank "mau" is there on first use
    now = runtime.clock.now()
    with runtime.db.write() as s:
        cand = s.get(Candidate, candidate_id)
        if cand is None:
            raise NotFound("Không tìm thấy thí sinh.", f"candidate {candidate_id}")
        if cand.attendance == "absent":
            raise Forbidden("Thí sinh đã được ghi vắng thi; liên hệ giám khảo phòng thi.", "candidate absent")
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        if att is None:
            shift = s.get(Shift, cand.shift_id) if cand.shift_id else None
            if shift is not None and shift.starts_at is not None and as_utc(now) < as_utc(shift.starts_at):
                from sandbox.kernel.vnformat import date_time
                raise Forbidden(f"Chưa đến giờ thi: {shift.name} bắt đầu lúc {date_time(shift.starts_at)}.",
                                f"shift {shift.id} starts at {shift.starts_at}")
            contest = s.get(Contest, cand.contest_id)
            att = Attempt(candidate_id=cand.id, started_at=now,
                          deadline=now + timedelta(minutes=contest.duration_minutes),
                          extra_minutes=0, part="", last_seen=now, last_seat=seat)
            s.add(att)
            if cand.attendance != "present":
                cand.attendance = "present"
            if theory.theory_part(s, cand.contest_id) is not None:
                theory._paper(s, cand)
            sandbox_id = _sandbox_id(s, cand)
            if sandbox_id is not None:
                s.get(Sandbox, sandbox_id).closes_at = att.deadline
            s.flush()
        else:
            att.last_seen = now
            if seat:
                att.last_seat = seat
        submitted = s.scalar(select(TheoryPaper.submitted_at).where(TheoryPaper.candidate_id == candidate_id))
        return _state(att, submitted is not None, now)


def touch(runtime, candidate_id: int, *, seat: str | None = None, part: str | None = None) -> AttemptState:
    """Record activity (a page of the portal), and enforce the deadline: a request after it
    submits the theory part automatically and finishes the attempt."""
    now = runtime.clock.now()
    with runtime.db.write() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        if att is None:
            return _state(None, False, now)
        att.last_seen = now
        if seat is not None:
            att.last_seat = seat
        if part is not None and att.finished_at is None:
            att.part = part
        if att.finished_at is None and as_utc(now) >= as_utc(att.deadline):
            _finish(s, att, now, auto=True)
        submitted = s.scalar(select(TheoryPaper.submitted_at).where(TheoryPaper.candidate_id == candidate_id))
        return _state(att, submitted is not None, now)


def _finish(s, att: Attempt, now: datetime, *, auto: bool) -> None:
    """Close the attempt: theory submitted (and scored), the sandbox closed no later than
    now, ``finished_at`` = now, or the deadline when the clock ran out."""
    cand = s.get(Candidate, att.candidate_id)
    if theory.theory_part(s, cand.contest_id) is not None:
        theory._submit(s, cand.id, now, auto)
    end = as_utc(att.deadline) if auto and as_utc(now) >= as_utc(att.deadline) else as_utc(now)
    att.finished_at = end
    att.part = "finished"
    sandbox_id = _sandbox_id(s, cand)
    if sandbox_id is not None:
        sb = s.get(Sandbox, sandbox_id)
        if sb.closes_at is None or as_utc(sb.closes_at) > end:
            sb.closes_at = end


def finish(runtime, candidate_id: int) -> AttemptState:
    """The candidate ends the exam ("Kết thúc bài thi"): the theory part is submitted and
    the practical part locked at once. Idempotent."""
    now = runtime.clock.now()
    with runtime.db.write() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        if att is None:
            raise Forbidden("Thí sinh chưa bắt đầu làm bài.", f"candidate {candidate_id} has no attempt")
        if att.finished_at is None:
            _finish(s, att, now, auto=as_utc(now) >= as_utc(att.deadline))
        submitted = s.scalar(select(TheoryPaper.submitted_at).where(TheoryPaper.candidate_id == candidate_id))
        return _state(att, submitted is not None, now)


def sweep(runtime, contest_id: int | None = None) -> int:
    """Finish every attempt whose deadline has passed (auto-submitting theory papers); the
    number finished. Run by ``sandbox contest sweep ID`` (e.g. each minute from cron) so the
    scores exist even for candidates who never came back."""
    now = runtime.clock.now()
    done = 0
    with runtime.db.write() as s:
        q = select(Attempt).join(Candidate, Candidate.id == Attempt.candidate_id).where(
            Attempt.finished_at.is_(None), Attempt.deadline <= now)
        if contest_id is not None:
            q = q.where(Candidate.contest_id == contest_id)
        for att in s.scalars(q).all():
            if as_utc(att.deadline) <= as_utc(now):
                _finish(s, att, now, auto=True)
                done += 1
    return done


def sync_closing(runtime, candidate_id: int) -> None:
    """Make the candidate's current sandbox close when their attempt does (after a switch to
    the backup set, the new sandbox did not exist when the attempt started)."""
    with runtime.db.write() as s:
        cand = s.get(Candidate, candidate_id)
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        sandbox_id = _sandbox_id(s, cand) if cand is not None else None
        if att is None or sandbox_id is None:
            return
        end = as_utc(att.finished_at) if att.finished_at is not None else as_utc(att.deadline)
        sb = s.get(Sandbox, sandbox_id)
        if sb.closes_at is None or as_utc(sb.closes_at) != end:
            sb.closes_at = end


def contest_by_code(runtime, code: str) -> Contest:
    with runtime.db.read() as s:
        c = s.scalar(select(Contest).where(Contest.code == code))
        if c is None:
            raise NotFound(f"Không tìm thấy cuộc thi «{code}».", f"contest {code}")
        s.expunge(c)
        return c


def parts_of(runtime, contest_id: int) -> list[ContestPart]:
    with runtime.db.read() as s:
        parts = s.scalars(select(ContestPart).where(ContestPart.contest_id == contest_id)
                          .order_by(ContestPart.position, ContestPart.id)).all()
        for p in parts:
            s.expunge(p)
        return list(parts)


def mail_account_of(runtime, candidate_id: int):
    """The mail account (``AccountRef``) of the candidate's in-world person in their sandbox,
    or None when the sandbox is not provisioned yet."""
    from mailserver.api import account_by_address
    from scenarios.build import instance_of

    with runtime.db.read() as s:
        cand = s.get(Candidate, candidate_id)
        if cand is None:
            return None
        sandbox_id = _sandbox_id(s, cand)
        if sandbox_id is None:
            return None
        inst = instance_of(s, sandbox_id)
        if inst is None:
            return None
        return account_by_address(s, sandbox_id, inst.candidate_address)
