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
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update

from sandbox.kernel import storage
from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import Forbidden, NotFound
from sandbox.kernel.models import Sandbox

from . import theory
from .activity import SEEN_EVERY_SECONDS, worth_recording  # noqa: F401  (SEEN_EVERY_SECONDS: the API)
from .models import Attempt, Candidate, Contest, ContestPart, Shift, TheoryPaper
from .passwords import candidate_password

#: a candidate counts as "online" in the examiner's view when seen this recently
ONLINE_SECONDS = 120

_A, _P, _C, _K = Attempt.__table__, TheoryPaper.__table__, Candidate.__table__, Contest.__table__
_SB = Sandbox.__table__
#: the attempt as the pages need it, with the theory paper's submission, in one query
_ATTEMPT_ROW = (select(_A.c.id, _A.c.started_at, _A.c.deadline, _A.c.finished_at, _A.c.extra_minutes, _A.c.part,
                       _A.c.last_seen, _A.c.last_seat, _P.c.submitted_at)
                .select_from(_A.outerjoin(_P, _P.c.candidate_id == _A.c.candidate_id))
                .where(_A.c.candidate_id == bindparam("cid")))
_REF_ROW = (select(_C.c.id, _C.c.contest_id, _K.c.code, _K.c.name, _C.c.number, _C.c.full_name, _C.c.sandbox_name)
            .select_from(_C.join(_K, _K.c.id == _C.c.contest_id)).where(_C.c.id == bindparam("cid")))


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
    runtime.throttle.ceiling(key, client_address)   # verified first (cheap): see LoginThrottle
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
        runtime.throttle.refuse_failure(key, client_address)
    else:
        runtime.throttle.succeeded(key, client_address)
    return found


#: candidate refs of this process, per database: every portal request looks its candidate up
REF_CACHE_SECONDS = 5.0
_REFS: "weakref.WeakKeyDictionary[object, dict[int, tuple[float, CandidateRef]]]" = weakref.WeakKeyDictionary()
_REFS_LOCK = threading.Lock()


def candidate_ref(runtime, candidate_id: int, *, fresh: bool = False) -> CandidateRef | None:
    """The candidate (number, name, contest), from this process's memory when it was read in
    the last ``REF_CACHE_SECONDS`` (the portal asks on every request; a ref changes only when
    the organiser renames a contest or moves a candidate)."""
    now = time.monotonic()
    with _REFS_LOCK:
        cache = _REFS.setdefault(runtime.db, {})
    hit = cache.get(candidate_id)
    if hit is not None and hit[0] > now and not fresh:
        return hit[1]
    with runtime.db.read() as s:
        row = s.execute(_REF_ROW, {"cid": candidate_id}).first()
    if row is None:
        cache.pop(candidate_id, None)
        return None
    ref = CandidateRef(*row)
    if len(cache) > 50000:
        cache.clear()
    cache[candidate_id] = (now + REF_CACHE_SECONDS, ref)
    return ref


def _state(att: Attempt | None, paper_submitted: bool, now: datetime) -> AttemptState:
    if att is None:
        return AttemptState(False, None, None, 0, None, 0, "", paper_submitted)
    return _state_of(att.started_at, att.deadline, att.finished_at, att.extra_minutes, att.part, paper_submitted, now)


def _state_of(started_at, deadline, finished_at, extra_minutes, part, paper_submitted: bool,
              now: datetime) -> AttemptState:
    deadline = as_utc(deadline)
    remaining = max(0, int((deadline - as_utc(now)).total_seconds()))
    if finished_at is not None:
        remaining = 0
    return AttemptState(True, as_utc(started_at), deadline, remaining, as_utc(finished_at) if finished_at else None,
                        extra_minutes or 0, part or "", paper_submitted)


def _row_state(row, now: datetime) -> AttemptState:
    """The state from an ``_ATTEMPT_ROW``."""
    return _state_of(row.started_at, row.deadline, row.finished_at, row.extra_minutes, row.part,
                     row.submitted_at is not None, now)


class _Att(NamedTuple):
    id: int
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    extra_minutes: int
    part: str
    last_seen: datetime | None
    last_seat: str
    submitted_at: datetime | None


def _fetch_attempt(s, candidate_id: int) -> _Att | None:
    row = s.execute(_ATTEMPT_ROW, {"cid": candidate_id}).first()
    return _Att(*row) if row is not None else None


def _attempt_row(runtime, candidate_id: int) -> _Att | None:
    with runtime.db.read() as s:
        return _fetch_attempt(s, candidate_id)


def state(runtime, candidate_id: int) -> AttemptState:
    row = _attempt_row(runtime, candidate_id)
    now = runtime.clock.now()
    if row is not None:
        return _row_state(row, now)
    with runtime.db.read() as s:
        submitted = s.scalar(select(TheoryPaper.submitted_at).where(TheoryPaper.candidate_id == candidate_id))
    return _state(None, submitted is not None, now)


def _sandbox_id(s, cand: Candidate) -> int | None:
    if not cand.sandbox_name:
        return None
    return s.scalar(select(Sandbox.id).where(Sandbox.name == cand.sandbox_name))


def _activity(row, now: datetime, seat: str | None, part: str | None) -> dict:
    return worth_recording(now, row.last_seen, row.last_seat, row.part, row.finished_at is not None,
                           seat=seat, new_part=part)


_PT, _SH = ContestPart.__table__, Shift.__table__
#: what starting needs to know, in one query
_START_ROW = (select(_C.c.attendance, _SH.c.id, _SH.c.name, _SH.c.starts_at, _K.c.duration_minutes,
                     select(_PT.c.id).where(_PT.c.contest_id == _C.c.contest_id, _PT.c.kind == "theory")
                     .limit(1).scalar_subquery(),
                     select(_P.c.id).where(_P.c.candidate_id == _C.c.id).scalar_subquery(),
                     select(_SB.c.id).where(_SB.c.name == _C.c.sandbox_name, _C.c.sandbox_name != "")
                     .scalar_subquery())
              .select_from(_C.join(_K, _K.c.id == _C.c.contest_id).outerjoin(_SH, _SH.c.id == _C.c.shift_id))
              .where(_C.c.id == bindparam("cid")))


def start_attempt(runtime, candidate_id: int, *, seat: str = "") -> AttemptState:
    """Start the candidate's exam (idempotent: a second call, from any seat, returns the
    running attempt unchanged). Closes the sandbox at the deadline; the theory paper was
    drawn at provisioning (``theory.prepare_papers``), or is drawn now if it was not.

    Everything is read first (two queries); the start itself is one small write: the
    attempt, the candidate marked present, the sandbox's closing time."""
    now = runtime.clock.now()
    with runtime.db.read() as s:
        info = s.execute(_START_ROW, {"cid": candidate_id}).first()
        row = _fetch_attempt(s, candidate_id) if info is not None else None
    if info is None:
        raise NotFound("Không tìm thấy thí sinh.", f"candidate {candidate_id}")
    attendance, shift_id, shift_name, shift_starts, duration, theory_part_id, paper_id, sandbox_id = info
    if attendance == "absent":
        raise Forbidden("Thí sinh đã được ghi vắng thi; liên hệ giám khảo phòng thi.", "candidate absent")
    if row is not None:
        return _record_activity(runtime, row, now, seat or None, None)
    if shift_starts is not None and as_utc(now) < as_utc(shift_starts):
        from sandbox.kernel.vnformat import date_time
        raise Forbidden(f"Chưa đến giờ thi: {shift_name} bắt đầu lúc {date_time(shift_starts)}.",
                        f"shift {shift_id} starts at {shift_starts}")
    needs_paper = theory_part_id is not None and paper_id is None
    if needs_paper:
        theory.ensure_sample_bank(runtime)     # the shipped bank "mau" is there on first use
    deadline = now + timedelta(minutes=duration)
    with runtime.db.write() as s:
        again = s.scalar(select(_A.c.id).where(_A.c.candidate_id == candidate_id)) is not None
        if not again:                          # (else started meanwhile: a double click, another seat)
            s.execute(insert(_A).values(candidate_id=candidate_id, started_at=now, deadline=deadline,
                                        extra_minutes=0, part="", last_seen=now, last_seat=seat))
            if attendance != "present":
                s.execute(update(_C).where(_C.c.id == candidate_id).values(attendance="present"))
            if sandbox_id is not None:
                s.execute(update(_SB).where(_SB.c.id == sandbox_id).values(closes_at=deadline))
            if needs_paper:
                theory._paper(s, s.get(Candidate, candidate_id))
    if again:
        return state(runtime, candidate_id)
    return AttemptState(True, as_utc(now), as_utc(deadline), max(0, int((deadline - now).total_seconds())), None, 0,
                        "", False)


def _record_activity(runtime, row, now: datetime, seat: str | None, part: str | None) -> AttemptState:
    """Write the activity columns if there is something worth writing; the state. Best
    effort: when storage fails (a full disk) the page is shown all the same, the activity
    left unrecorded (logged with the cause)."""
    values = _activity(row, now, seat, part)
    if values:
        with storage.best_effort(f"activity of attempt {row.id}"):
            with runtime.db.write() as s:
                s.execute(update(_A).where(_A.c.id == row.id).values(**values))
            row = row._replace(**values)
    return _row_state(row, now)


def touch(runtime, candidate_id: int, *, seat: str | None = None, part: str | None = None) -> AttemptState:
    """Record activity (a page of the portal), and enforce the deadline: a request after it
    submits the theory part automatically and finishes the attempt. A read, unless the
    deadline has passed or the activity is worth recording (``_activity``)."""
    now = runtime.clock.now()
    row = _attempt_row(runtime, candidate_id)
    if row is None:
        return _state(None, False, now)
    if row.finished_at is not None or as_utc(now) < as_utc(row.deadline):
        return _record_activity(runtime, row, now, seat, part)
    with runtime.db.write() as s:
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
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


@dataclass(frozen=True)
class ContestView:
    id: int
    code: str
    name: str
    year: int
    duration_minutes: int
    rules: dict


@dataclass(frozen=True)
class PartView:
    id: int
    name: str
    kind: str
    points: float
    position: int
    settings: dict


@dataclass
class Page:
    """What a portal page shows, read in one go (``page``)."""
    state: AttemptState
    contest: ContestView | None = None
    parts: list[PartView] = field(default_factory=list)
    paper: object = None          # theory.PaperView ("full") or theory.PaperSummary ("summary")
    practical_ready: bool = False


_CONTEST_ROW = select(_K.c.id, _K.c.code, _K.c.name, _K.c.year, _K.c.duration_minutes, _K.c.rules) \
    .where(_K.c.code == bindparam("code"))
_PARTS = select(_PT.c.id, _PT.c.name, _PT.c.kind, _PT.c.points, _PT.c.position, _PT.c.settings) \
    .where(_PT.c.contest_id == bindparam("kid")).order_by(_PT.c.position, _PT.c.id)
_READY = select(_SB.c.id).select_from(_C.join(_SB, _SB.c.name == _C.c.sandbox_name)).where(
    _C.c.id == bindparam("cid"), _C.c.sandbox_name != "")


def _practical_ready(s, candidate_id: int) -> bool:
    from scenarios.build import instance_of

    sandbox_id = s.scalar(_READY, {"cid": candidate_id})
    return sandbox_id is not None and instance_of(s, sandbox_id) is not None


def page(runtime, candidate_id: int, *, contest_code: str | None = None, seat: str | None = None,
         part: str | None = None, paper: str | None = None, practical: bool = False,
         _finish: bool = True) -> Page:
    """One portal page's data in one read: the attempt's state (the activity recorded and the
    deadline enforced as ``touch`` does), and as asked the contest with its parts, the paper
    (``paper="full"``: questions and answers; ``"summary"``: counts) and whether the practical
    sandbox is ready. A write only when ``touch`` would need one; a page is shown even when
    that write fails (a full disk): then the attempt shows as over, not finished, and the next
    request or ``sweep`` finishes it."""
    now = runtime.clock.now()
    with runtime.db.read() as s:
        row = _fetch_attempt(s, candidate_id)
        over = _finish and row is not None and row.finished_at is None and as_utc(now) >= as_utc(row.deadline)
        contest, parts, shown, ready = None, [], None, False
        if not over:
            if contest_code is not None:
                c = s.execute(_CONTEST_ROW, {"code": contest_code}).first()
                if c is None:
                    raise NotFound(f"Không tìm thấy cuộc thi «{contest_code}».", f"contest {contest_code}")
                contest = ContestView(*c)
                parts = [PartView(*r) for r in s.execute(_PARTS, {"kid": contest.id})]
            if paper == "full":
                shown = theory.paper_view(runtime, s, candidate_id)
            elif paper == "summary":
                shown = theory.paper_summary(s, candidate_id)
            if practical:
                ready = _practical_ready(s, candidate_id)
    if over:       # the deadline has passed: finish (a write), then read the page again
        finished = False
        with storage.best_effort(f"finishing the attempt of candidate {candidate_id} at its deadline"):
            touch(runtime, candidate_id, seat=seat, part=part)
            finished = True
        return page(runtime, candidate_id, contest_code=contest_code, paper=paper, practical=practical,
                    seat=None if finished else seat, part=None if finished else part, _finish=finished)
    st = _state(None, False, now) if row is None else _record_activity(runtime, row, now, seat, part)
    return Page(st, contest, parts, shown, ready)


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


def practical_ready(runtime, candidate_id: int) -> bool:
    """Whether the candidate's practical sandbox is built (one query; the exam page shows it)."""
    with runtime.db.read() as s:
        return _practical_ready(s, candidate_id)


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
