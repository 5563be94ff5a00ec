"""The examiner's side of the candidate portal: the live room view (who is logged in, which
part, last activity, time left) and time extensions for one candidate or a whole room, each
recorded as a ``ContestEvent`` with its reason; an extension moves the attempt's deadline and
the sandbox's closing time together."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.models import Sandbox

from . import theory
from .models import Attempt, Candidate, Contest, ContestEvent, ContestUnit, Room, Shift, TheoryPaper
from .session import ONLINE_SECONDS

PART_LABELS = {"": "Trang bắt đầu", "start": "Trang bắt đầu", "theory": "Lý thuyết", "practical": "Thực hành",
               "finished": "Đã kết thúc"}
MAX_EXTENSION_MINUTES = 120


@dataclass
class RoomRow:
    candidate_id: int
    number: str
    full_name: str
    unit: str
    room: str
    seat: int | None
    shift: str
    status: str             # chua-vao | dang-thi | mat-ket-noi | da-ket-thuc | vang
    status_vi: str
    online: bool
    part: str
    part_vi: str
    last_seen: datetime | None
    last_seat: str
    deadline: datetime | None
    remaining_seconds: int
    extra_minutes: int
    answered: int
    questions: int


def room_view(runtime, contest_id: int, *, shift_id: int | None = None, room_id: int | None = None) -> list[RoomRow]:
    """One row per candidate of the shift/room (all of the contest if neither is given),
    ordered by room and seat."""
    now = as_utc(runtime.clock.now())
    with runtime.db.read() as s:
        q = (select(Candidate, ContestUnit.name, Room.name, Shift.name)
             .join(ContestUnit, ContestUnit.id == Candidate.unit_id)
             .outerjoin(Room, Room.id == Candidate.room_id)
             .outerjoin(Shift, Shift.id == Candidate.shift_id)
             .where(Candidate.contest_id == contest_id))
        if shift_id is not None:
            q = q.where(Candidate.shift_id == shift_id)
        if room_id is not None:
            q = q.where(Candidate.room_id == room_id)
        rows = s.execute(q).all()
        ids = [r[0].id for r in rows]
        attempts = {a.candidate_id: a for a in s.scalars(select(Attempt).where(Attempt.candidate_id.in_(ids)))} if ids else {}
        papers = {p.candidate_id: p for p in s.scalars(select(TheoryPaper).where(TheoryPaper.candidate_id.in_(ids)))} if ids else {}
        out = []
        for cand, unit, room, shift in rows:
            att, paper = attempts.get(cand.id), papers.get(cand.id)
            last_seen = as_utc(att.last_seen) if att and att.last_seen else None
            online = bool(last_seen and (now - last_seen).total_seconds() <= ONLINE_SECONDS)
            if cand.attendance == "absent" and att is None:
                status, label = "vang", "Vắng thi"
            elif att is None:
                status, label = "chua-vao", "Chưa bắt đầu"
            elif att.finished_at is not None or now >= as_utc(att.deadline):
                status, label = "da-ket-thuc", "Đã kết thúc"
            elif online:
                status, label = "dang-thi", "Đang làm bài"
            else:
                status, label = "mat-ket-noi", "Mất kết nối"
            deadline = as_utc(att.deadline) if att else None
            remaining = 0
            if att and att.finished_at is None:
                remaining = max(0, int((deadline - now).total_seconds()))
            part = (att.part or "") if att else ""
            if status == "da-ket-thuc":
                part = "finished"
            out.append(RoomRow(cand.id, cand.number, cand.full_name, unit, room or "", cand.seat, shift or "",
                               status, label, online and status == "dang-thi", part, PART_LABELS.get(part, part),
                               last_seen, att.last_seat if att else "", deadline, remaining,
                               att.extra_minutes if att else 0,
                               len((paper.answers or {})) if paper else 0, len(paper.items) if paper else 0))
        out.sort(key=lambda r: (r.room, r.seat if r.seat is not None else 10**6, r.number))
        return out


def _validate(minutes: int, reason: str) -> tuple[int, str]:
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise SandboxError("Số phút gia hạn phải là số nguyên.", f"bad minutes {minutes!r}") from None
    if minutes <= 0 or minutes > MAX_EXTENSION_MINUTES:
        raise SandboxError(f"Số phút gia hạn phải từ 1 đến {MAX_EXTENSION_MINUTES}.", f"minutes {minutes}")
    reason = (reason or "").strip()
    if not reason:
        raise SandboxError("Cần ghi lý do gia hạn thời gian.", "empty reason")
    return minutes, reason


def _extend_one(s, att: Attempt, cand: Candidate, minutes: int, reason: str, actor: str, now: datetime,
                room_id: int | None) -> dict:
    old = as_utc(att.deadline)
    reopened = False
    if att.finished_at is not None:
        if as_utc(att.finished_at) < old:
            raise SandboxError(f"Thí sinh {cand.number} đã tự kết thúc bài thi, không gia hạn được.",
                               f"candidate {cand.id} finished before deadline")
        # the clock ran out: the examiner gives time back (e.g. after a power cut)
        att.finished_at = None
        att.part = ""
        theory.reopen(s, cand.id)
        reopened = True
    base = max(old, now)   # time already run out is given back from now
    new = base + timedelta(minutes=minutes)
    att.deadline = new
    att.extra_minutes = (att.extra_minutes or 0) + minutes
    if cand.sandbox_name:
        sb = s.scalar(select(Sandbox).where(Sandbox.name == cand.sandbox_name))
        if sb is not None:
            sb.closes_at = new
    detail = {"minutes": minutes, "old_deadline": old.isoformat(), "new_deadline": new.isoformat(),
              "reopened": reopened}
    if room_id is not None:
        detail["room_id"] = room_id
    s.add(ContestEvent(contest_id=cand.contest_id, candidate_id=cand.id, at=now, actor=actor,
                       kind="extend_time", detail=detail, reason=reason))
    return {"candidate_id": cand.id, "number": cand.number, "deadline": new, "reopened": reopened}


def extend(runtime, candidate_id: int, minutes: int, reason: str, *, actor: str) -> dict:
    """Give one candidate ``minutes`` more (their deadline and their sandbox's closing time
    move together). If the clock had already run out, the attempt reopens from now."""
    minutes, reason = _validate(minutes, reason)
    now = as_utc(runtime.clock.now())
    with runtime.db.write() as s:
        cand = s.get(Candidate, candidate_id)
        if cand is None:
            raise NotFound("Không tìm thấy thí sinh.", f"candidate {candidate_id}")
        att = s.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        if att is None:
            raise SandboxError(f"Thí sinh {cand.number} chưa bắt đầu làm bài; thời gian tính từ khi bắt đầu.",
                               "no attempt")
        return _extend_one(s, att, cand, minutes, reason, actor, now, None)


def extend_room(runtime, contest_id: int, room_id: int, minutes: int, reason: str, *, actor: str,
                shift_id: int | None = None) -> list[dict]:
    """Give every candidate of a room (of a shift, if given) who has started and not finished
    by themselves ``minutes`` more; one event per candidate, all with the same reason."""
    minutes, reason = _validate(minutes, reason)
    now = as_utc(runtime.clock.now())
    done = []
    with runtime.db.write() as s:
        if s.get(Room, room_id) is None:
            raise NotFound("Không tìm thấy phòng thi.", f"room {room_id}")
        q = (select(Attempt, Candidate).join(Candidate, Candidate.id == Attempt.candidate_id)
             .where(Candidate.contest_id == contest_id, Candidate.room_id == room_id))
        if shift_id is not None:
            q = q.where(Candidate.shift_id == shift_id)
        for att, cand in s.execute(q).all():
            if att.finished_at is not None and as_utc(att.finished_at) < as_utc(att.deadline):
                continue
            done.append(_extend_one(s, att, cand, minutes, reason, actor, now, room_id))
    return done


def contest_rooms(runtime, contest_id: int) -> tuple[Contest, list[Shift], list[Room]]:
    with runtime.db.read() as s:
        c = s.get(Contest, contest_id)
        if c is None:
            raise NotFound("Không tìm thấy cuộc thi.", f"contest {contest_id}")
        shifts = s.scalars(select(Shift).where(Shift.contest_id == contest_id).order_by(Shift.name)).all()
        rooms = s.scalars(select(Room).where(Room.contest_id == contest_id).order_by(Room.name)).all()
        for o in [c, *shifts, *rooms]:
            s.expunge(o)
        return c, list(shifts), list(rooms)


def extensions(runtime, contest_id: int, limit: int = 50) -> list[tuple[ContestEvent, str]]:
    """The latest time extensions of a contest, newest first, with the candidate's number."""
    with runtime.db.read() as s:
        rows = s.execute(select(ContestEvent, Candidate.number)
                         .outerjoin(Candidate, Candidate.id == ContestEvent.candidate_id)
                         .where(ContestEvent.contest_id == contest_id, ContestEvent.kind == "extend_time")
                         .order_by(ContestEvent.at.desc(), ContestEvent.id.desc()).limit(limit)).all()
        for ev, _ in rows:
            s.expunge(ev)
        return [(ev, number or "") for ev, number in rows]
