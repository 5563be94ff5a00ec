"""Contest rows for the candidate portal's tests, inserted with the models (the organiser's
API is tested on its own): a contest with a theory and a practical part, one unit, shift and
room, candidates, and optionally each candidate's practical sandbox built from an exam set."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sandbox.contest import theory
from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit, Room, Shift
from sandbox.contest.passwords import candidate_password

AT = dt.datetime(2024, 6, 3, 1, 0, tzinfo=dt.timezone.utc)


@dataclass
class PortalWorld:
    contest_id: int
    code: str
    theory_part_id: int
    practical_part_id: int
    shift_id: int
    room_id: int
    candidates: dict[str, int] = field(default_factory=dict)     # number -> id
    passwords: dict[str, str] = field(default_factory=dict)      # number -> portal password
    builds: dict[str, object] = field(default_factory=dict)      # number -> scenarios BuildResult


def make_portal_world(rt, *, code: str = "cds2024", n: int = 3, questions: int = 10, theory_points: float = 60,
                      duration: int = 60, scenario: str | None = None, numbers: list[str] | None = None,
                      room_of: dict[str, str] | None = None) -> PortalWorld:
    """``n`` candidates TS001… (or ``numbers``); with ``scenario``, each gets a sandbox built
    from that exam set (``<code>-<number>``)."""
    theory.ensure_sample_bank(rt)
    numbers = numbers or [f"TS{i:03d}" for i in range(1, n + 1)]
    with rt.db.write() as s:
        c = Contest(code=code, name="Cuộc thi đánh giá kỹ năng chuyển đổi số của cán bộ lãnh đạo năm 2024",
                    year=2024, duration_minutes=duration, rules={"zero_part_fails": True,
                                                                 "commendation_min_ratio": 0.5}, created_at=AT)
        s.add(c)
        s.flush()
        tp = ContestPart(contest_id=c.id, name="Lý thuyết", kind="theory", points=theory_points, position=0,
                         settings={"bank": "mau", "questions": questions})
        pp = ContestPart(contest_id=c.id, name="Thực hành", kind="practical", points=100 - theory_points, position=1,
                         settings={})
        unit = ContestUnit(contest_id=c.id, name="Ủy ban nhân dân quận Cái Răng", tier="huyen")
        shift = Shift(contest_id=c.id, name="Ca 1", scenario_id=scenario or "thi-2024-de-1",
                      backup_scenario_id="thi-2024-de-2")
        s.add_all([tp, pp, unit, shift])
        s.flush()
        rooms = {}
        for rname in sorted(set((room_of or {}).values()) | {"Phòng 1"}):
            r = Room(contest_id=c.id, name=rname, seats=40)
            s.add(r)
            s.flush()
            rooms[rname] = r.id
        world = PortalWorld(c.id, code, tp.id, pp.id, shift.id, rooms["Phòng 1"])
        for i, number in enumerate(numbers, start=1):
            cand = Candidate(contest_id=c.id, number=number, full_name=f"Thí sinh {number}", title="Phó Chủ tịch",
                             unit_id=unit.id, shift_id=shift.id, room_id=rooms[(room_of or {}).get(number, "Phòng 1")],
                             seat=i, scenario_id=shift.scenario_id, sandbox_name=f"{code}-{number}".lower() if scenario else "",
                             seed=i)
            s.add(cand)
            s.flush()
            world.candidates[number] = cand.id
            world.passwords[number] = candidate_password(rt.secret, code, number)
    if scenario:
        from scenarios.build import build
        from scenarios.library import load

        loaded = load(scenario)
        for i, number in enumerate(numbers, start=1):
            world.builds[number] = build(rt, loaded, i, f"{code}-{number}".lower())
    return world
