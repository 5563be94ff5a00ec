"""Shifts (ca thi) with their exam set and backup set, rooms with seats, seating, attendance,
and switching a candidate or a whole room to the backup set (the reason recorded)."""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from sandbox.kernel.errors import NotFound, SandboxError

from .models import Candidate, ContestUnit, Room, Shift


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", (s or "").strip())


def _contest(s, code):
    from .contests import get_contest
    return get_contest(s, code)


def check_scenario(scenario_id: str, kinds: tuple[str, ...] = ("exam", "backup")) -> str:
    """The scenario id if it names a valid exam set of the library (raises otherwise)."""
    from scenarios.library import load

    try:
        from grader.checks import validate_check
    except ImportError:  # pragma: no cover
        validate_check = None
    loaded = load(scenario_id, validate_check)
    if loaded.scenario.kind not in kinds:
        raise SandboxError(f"«{scenario_id}» là bài luyện tập, không phải đề thi (xem: sandbox scenario list).")
    return loaded.id


def find_shift(s, contest_id: int, name: str) -> Shift:
    sh = s.scalar(select(Shift).where(Shift.contest_id == contest_id, Shift.name == _nfc(name)))
    if sh is None:
        names = s.scalars(select(Shift.name).where(Shift.contest_id == contest_id).order_by(Shift.id)).all()
        raise NotFound(f"Không có ca thi «{name}»" + (f" (các ca: {', '.join(names)})." if names else " (chưa có ca thi nào)."))
    return sh


def find_room(s, contest_id: int, name: str) -> Room:
    r = s.scalar(select(Room).where(Room.contest_id == contest_id, Room.name == _nfc(name)))
    if r is None:
        names = s.scalars(select(Room.name).where(Room.contest_id == contest_id).order_by(Room.id)).all()
        raise NotFound(f"Không có phòng thi «{name}»" + (f" (các phòng: {', '.join(names)})." if names else " (chưa có phòng nào)."))
    return r


def find_candidate(s, contest_id: int, number: str) -> Candidate:
    c = s.scalar(select(Candidate).where(Candidate.contest_id == contest_id, Candidate.number == (number or "").strip()))
    if c is None:
        raise NotFound(f"Không có thí sinh số báo danh «{number}».")
    return c


def add_shift(runtime, code: str, name: str, scenario_id: str, backup_scenario_id: str = "",
              starts_at: datetime | None = None, actor: str = "cli") -> int:
    """Add a shift, or change its start and exam sets (ids checked against the library)."""
    from .contests import record_event
    name = _nfc(name)
    if not name:
        raise SandboxError("Tên ca thi không được để trống.")
    scenario_id = check_scenario(scenario_id)
    if backup_scenario_id:
        backup_scenario_id = check_scenario(backup_scenario_id)
        if backup_scenario_id == scenario_id:
            raise SandboxError("Đề dự phòng phải khác đề chính của ca thi.")
    with runtime.db.write() as s:
        c = _contest(s, code)
        sh = s.scalar(select(Shift).where(Shift.contest_id == c.id, Shift.name == name))
        if sh is None:
            sh = Shift(contest_id=c.id, name=name)
            s.add(sh)
        sh.scenario_id, sh.backup_scenario_id, sh.starts_at = scenario_id, backup_scenario_id, starts_at
        s.flush()
        record_event(s, runtime, c.id, "shift", actor, detail={"name": name, "scenario": scenario_id,
                                                                "backup": backup_scenario_id,
                                                                "starts_at": starts_at.isoformat() if starts_at else None})
        return sh.id


def add_room(runtime, code: str, name: str, seats: int, actor: str = "cli") -> int:
    from .contests import record_event
    name = _nfc(name)
    if not name:
        raise SandboxError("Tên phòng thi không được để trống.")
    if not 1 <= int(seats) <= 1000:
        raise SandboxError(f"Số chỗ ngồi của phòng «{name}» phải từ 1 đến 1000.")
    with runtime.db.write() as s:
        c = _contest(s, code)
        r = s.scalar(select(Room).where(Room.contest_id == c.id, Room.name == name))
        if r is None:
            r = Room(contest_id=c.id, name=name)
            s.add(r)
        else:
            taken = s.scalars(select(Candidate.seat).where(Candidate.room_id == r.id, Candidate.seat > int(seats))).all()
            if taken:
                raise SandboxError(f"Phòng «{name}» đang có thí sinh ngồi ghế số {max(taken)}; không giảm số chỗ xuống {seats} được.")
        r.seats = int(seats)
        s.flush()
        record_event(s, runtime, c.id, "room", actor, detail={"name": name, "seats": int(seats)})
        return r.id


@dataclass
class SeatingResult:
    seated: int
    already: int
    per_shift: dict[str, int]


def seat_candidates(runtime, code: str, actor: str = "cli") -> SeatingResult:
    """Give every candidate without a place a shift, a room and a seat: candidates in number
    order, shared evenly over the shifts, each shift filling the rooms in order (every room
    is used in every shift). Candidates already seated keep their place."""
    from .contests import record_event
    with runtime.db.write() as s:
        c = _contest(s, code)
        shifts = s.scalars(select(Shift).where(Shift.contest_id == c.id).order_by(Shift.id)).all()
        rooms = s.scalars(select(Room).where(Room.contest_id == c.id).order_by(Room.id)).all()
        if not shifts:
            raise SandboxError("Chưa có ca thi nào (thêm bằng lệnh: sandbox contest add-shift).")
        if not rooms:
            raise SandboxError("Chưa có phòng thi nào (thêm bằng lệnh: sandbox contest add-room).")
        cands = s.scalars(select(Candidate).where(Candidate.contest_id == c.id).order_by(Candidate.number)).all()
        taken = {(x.shift_id, x.room_id, x.seat) for x in cands if x.shift_id and x.room_id and x.seat}
        todo = [x for x in cands if not (x.shift_id and x.room_id and x.seat)]
        free = {sh.id: [(r.id, n) for r in rooms for n in range(1, r.seats + 1) if (sh.id, r.id, n) not in taken]
                for sh in shifts}
        capacity = sum(len(v) for v in free.values())
        if len(todo) > capacity:
            raise SandboxError(f"Không đủ chỗ: còn {len(todo)} thí sinh chưa xếp nhưng chỉ còn {capacity} chỗ trống "
                               f"({len(shifts)} ca × {len(rooms)} phòng). Hãy thêm ca thi hoặc phòng thi.")
        per_shift: dict[str, int] = {}
        left = list(todo)
        for i, sh in enumerate(shifts):
            share = min(len(free[sh.id]), math.ceil(len(left) / (len(shifts) - i))) if left else 0
            # later shifts may be short of seats: give this one more if the rest cannot hold them
            rest_cap = sum(len(free[x.id]) for x in shifts[i + 1:])
            share = min(len(free[sh.id]), max(share, len(left) - rest_cap))
            for cand, (room_id, seat) in zip(left[:share], free[sh.id]):
                cand.shift_id, cand.room_id, cand.seat = sh.id, room_id, seat
                if not cand.scenario_id:
                    cand.scenario_id = sh.scenario_id
            per_shift[sh.name] = share
            left = left[share:]
        record_event(s, runtime, c.id, "seating", actor, detail={"seated": len(todo), "per_shift": per_shift})
        return SeatingResult(len(todo), len(cands) - len(todo), per_shift)


def assign_seat(runtime, code: str, number: str, shift: str, room: str, seat: int, actor: str = "cli") -> None:
    """Put one candidate at a given place (the seat must be free in that shift)."""
    from .contests import record_event
    with runtime.db.write() as s:
        c = _contest(s, code)
        cand = find_candidate(s, c.id, number)
        sh, r = find_shift(s, c.id, shift), find_room(s, c.id, room)
        if not 1 <= int(seat) <= r.seats:
            raise SandboxError(f"Phòng «{r.name}» chỉ có ghế từ 1 đến {r.seats}.")
        other = s.scalar(select(Candidate.number).where(Candidate.shift_id == sh.id, Candidate.room_id == r.id,
                                                        Candidate.seat == int(seat), Candidate.id != cand.id))
        if other:
            raise SandboxError(f"Ghế {seat} phòng «{r.name}» ca «{sh.name}» đã có thí sinh {other}.")
        if cand.shift_id != sh.id:   # a new shift: its exam set (or its backup, for a switched candidate)
            cand.scenario_id = sh.backup_scenario_id if cand.backup_reason and sh.backup_scenario_id else sh.scenario_id
        cand.shift_id, cand.room_id, cand.seat = sh.id, r.id, int(seat)
        record_event(s, runtime, c.id, "seat", actor, candidate_id=cand.id,
                     detail={"shift": sh.name, "room": r.name, "seat": int(seat)})


def mark_attendance(runtime, code: str, number: str, present: bool, reason: str = "", actor: str = "cli") -> None:
    """Present, or absent with a reason (required)."""
    from .contests import record_event
    reason = _nfc(reason)
    if not present and not reason:
        raise SandboxError("Hãy ghi lý do vắng (ví dụ: «Đi công tác, có văn bản xin vắng»).")
    with runtime.db.write() as s:
        c = _contest(s, code)
        cand = find_candidate(s, c.id, number)
        cand.attendance = "present" if present else "absent"
        cand.absence_reason = "" if present else reason
        record_event(s, runtime, c.id, "attendance", actor, candidate_id=cand.id,
                     detail={"attendance": cand.attendance}, reason=cand.absence_reason)


def switch_to_backup(runtime, code: str, reason: str, *, number: str | None = None, shift: str | None = None,
                     room: str | None = None, actor: str = "cli") -> list[str]:
    """Give one candidate (``number``) or a whole room of a shift (``shift`` and ``room``) the
    shift's backup set, with the reason recorded (ContestEvent "backup_switch"). Their
    sandboxes are rebuilt from the backup set at the next provisioning (the old ones archived).
    Returns the candidate numbers switched."""
    from .contests import record_event
    reason = _nfc(reason)
    if not reason:
        raise SandboxError("Hãy ghi lý do chuyển sang đề dự phòng.")
    with runtime.db.write() as s:
        c = _contest(s, code)
        if number:
            cands = [find_candidate(s, c.id, number)]
        elif shift and room:
            sh, r = find_shift(s, c.id, shift), find_room(s, c.id, room)
            cands = s.scalars(select(Candidate).where(Candidate.shift_id == sh.id, Candidate.room_id == r.id)
                              .order_by(Candidate.seat)).all()
            if not cands:
                raise SandboxError(f"Phòng «{r.name}» ca «{sh.name}» chưa có thí sinh nào.")
        else:
            raise SandboxError("Hãy chọn một thí sinh (số báo danh) hoặc một phòng của một ca thi.")
        done = []
        for cand in cands:
            if cand.shift_id is None:
                raise SandboxError(f"Thí sinh {cand.number} chưa được xếp ca thi.")
            sh = s.get(Shift, cand.shift_id)
            if not sh.backup_scenario_id:
                raise SandboxError(f"Ca thi «{sh.name}» chưa có đề dự phòng (khai báo bằng add-shift --backup).")
            if cand.scenario_id == sh.backup_scenario_id:
                continue
            old = cand.scenario_id or sh.scenario_id
            cand.scenario_id, cand.backup_reason = sh.backup_scenario_id, reason
            record_event(s, runtime, c.id, "backup_switch", actor, candidate_id=cand.id, reason=reason,
                         detail={"from": old, "to": sh.backup_scenario_id, "room": room or None})
            done.append(cand.number)
        return done


@dataclass(frozen=True)
class CandidateView:
    """A candidate as other parts read it (portal, results, pages)."""

    id: int
    contest_id: int
    number: str
    full_name: str
    title: str
    unit: str
    tier: str
    email: str
    phone: str
    shift: str
    room: str
    seat: int | None
    scenario_id: str
    backup_reason: str
    sandbox_name: str
    seed: int
    attendance: str
    absence_reason: str


def _views(s, contest_id: int, where=()) -> list[CandidateView]:
    shifts = {x.id: x.name for x in s.scalars(select(Shift).where(Shift.contest_id == contest_id))}
    rooms = {x.id: x.name for x in s.scalars(select(Room).where(Room.contest_id == contest_id))}
    q = (select(Candidate, ContestUnit).join(ContestUnit, Candidate.unit_id == ContestUnit.id)
         .where(Candidate.contest_id == contest_id, *where).order_by(Candidate.number))
    return [CandidateView(c.id, c.contest_id, c.number, c.full_name, c.title, u.name, u.tier, c.email, c.phone,
                          shifts.get(c.shift_id, ""), rooms.get(c.room_id, ""), c.seat, c.scenario_id,
                          c.backup_reason, c.sandbox_name, c.seed, c.attendance, c.absence_reason)
            for c, u in s.execute(q)]


def candidate_by_number(runtime, code: str, number: str) -> CandidateView:
    with runtime.db.read() as s:
        c = _contest(s, code)
        found = _views(s, c.id, (Candidate.number == (number or "").strip(),))
        if not found:
            raise NotFound(f"Không có thí sinh số báo danh «{number}».")
        return found[0]


def list_candidates(runtime, code: str, shift: str | None = None, room: str | None = None) -> list[CandidateView]:
    with runtime.db.read() as s:
        c = _contest(s, code)
        where = []
        if shift:
            where.append(Candidate.shift_id == find_shift(s, c.id, shift).id)
        if room:
            where.append(Candidate.room_id == find_room(s, c.id, room).id)
        return _views(s, c.id, tuple(where))


def list_shifts(runtime, code: str) -> list[Shift]:
    with runtime.db.read() as s:
        c = _contest(s, code)
        return list(s.scalars(select(Shift).where(Shift.contest_id == c.id).order_by(Shift.id)))


def list_rooms(runtime, code: str) -> list[Room]:
    with runtime.db.read() as s:
        c = _contest(s, code)
        return list(s.scalars(select(Room).where(Room.contest_id == c.id).order_by(Room.id)))


def list_units(runtime, code: str) -> list[ContestUnit]:
    with runtime.db.read() as s:
        c = _contest(s, code)
        return list(s.scalars(select(ContestUnit).where(ContestUnit.contest_id == c.id).order_by(ContestUnit.tier,
                                                                                                 ContestUnit.name)))
