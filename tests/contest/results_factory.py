"""Contest rows made directly with the models, for the results and report tests (the
organiser's API is tested on its own): a contest, its parts, units by tier, candidates with
their part scores and attendance."""
from __future__ import annotations

import datetime as dt

from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit, PartScore

AT = dt.datetime(2023, 6, 24, 3, 0, tzinfo=dt.timezone.utc)


def make_contest(rt, code: str = "cds2023", *, parts=(("Lý thuyết", "theory", 60), ("Thực hành", "practical", 40)),
                 rules: dict | None = None, name: str = "Cuộc thi đánh giá năng lực ứng dụng CNTT, chuyển đổi số",
                 year: int = 2023) -> dict:
    """The contest and its parts: ``{"id", "code", "parts": {name: id}}``."""
    with rt.db.write() as s:
        c = Contest(code=code, name=name, year=year, duration_minutes=60, rules=rules or {}, created_at=AT)
        s.add(c)
        s.flush()
        ids = {}
        for i, (pname, kind, points) in enumerate(parts):
            p = ContestPart(contest_id=c.id, name=pname, kind=kind, points=points, position=i, settings={})
            s.add(p)
            s.flush()
            ids[pname] = p.id
        return {"id": c.id, "code": code, "parts": ids}


def add_units(rt, contest: dict, units: list[tuple[str, str]]) -> dict[str, int]:
    """``[(name, tier)]`` → ``{name: id}``."""
    out = {}
    with rt.db.write() as s:
        for name, tier in units:
            u = ContestUnit(contest_id=contest["id"], name=name, tier=tier)
            s.add(u)
            s.flush()
            out[name] = u.id
    return out


def add_candidates(rt, contest: dict, units: dict[str, int], rows: list[tuple]) -> dict[str, int]:
    """``rows``: ``(number, full_name, unit_name, {part: points} | None, absence_reason | None)``;
    a reason marks the candidate absent; ``None`` scores leave the parts unscored."""
    out = {}
    with rt.db.write() as s:
        for number, full_name, unit, points, absent in rows:
            c = Candidate(contest_id=contest["id"], number=number, full_name=full_name, title="Phó Trưởng phòng",
                          unit_id=units[unit], attendance="absent" if absent else "present",
                          absence_reason=absent or "", scenario_id="thi-2023-de-1")
            s.add(c)
            s.flush()
            out[number] = c.id
            for part, value in (points or {}).items():
                s.add(PartScore(candidate_id=c.id, part_id=contest["parts"][part], points=value,
                                source="theory" if part == "Lý thuyết" else "import", at=AT))
    return out


def scored(theory: float, practical: float) -> dict:
    return {"Lý thuyết": theory, "Thực hành": practical}


def add_shift(rt, contest: dict, name: str, scenario_id: str, backup_scenario_id: str = "") -> int:
    from sandbox.contest.models import Shift
    with rt.db.write() as s:
        sh = Shift(contest_id=contest["id"], name=name, starts_at=AT, scenario_id=scenario_id,
                   backup_scenario_id=backup_scenario_id)
        s.add(sh)
        s.flush()
        return sh.id


def add_candidate(rt, contest: dict, unit_id: int, number: str, full_name: str, **fields) -> int:
    """One candidate with any of ``Candidate``'s columns (shift, scenario, sandbox, attendance…)."""
    with rt.db.write() as s:
        c = Candidate(contest_id=contest["id"], number=number, full_name=full_name, unit_id=unit_id,
                      title=fields.pop("title", "Phó Chủ tịch"), **fields)
        s.add(c)
        s.flush()
        return c.id


def set_part_score(rt, candidate_id: int, part_id: int, points: float, source: str) -> None:
    """A part's points as the theory paper or a scores import leaves them."""
    with rt.db.write() as s:
        s.add(PartScore(candidate_id=candidate_id, part_id=part_id, points=points, source=source, at=AT))
