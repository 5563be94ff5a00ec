"""The load generator's installation: a contest in a fresh data folder, made through the
organiser's API (``sandbox.contest.api``, as ``sandbox/demo/contest.py`` does): a theory part
and a practical part, units of the three tiers, a roster of N candidates imported from a CSV,
one shift on the chosen exam set, rooms of 40 seats, automatic seating and provisioning (one
sandbox per candidate). Then what each simulated candidate knows (:class:`Seat`): the
number and password of the login slip, the values drawn for their sandbox, their in-world
mail login for the SMTP/IMAP share, and the theory bank's answer key (to answer a chosen
share of questions right, so the expected theory score is known)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

CODE = "tai"
THEORY_POINTS, PRACTICAL_POINTS = 60, 40
SEATS_PER_ROOM = 40
SHIFT = "Ca 1"
UNITS = [("Sở Nội vụ", "sở"), ("Sở Thông tin và Truyền thông", "sở"), ("Sở Tài chính", "sở"),
         ("Sở Giáo dục và Đào tạo", "sở"), ("UBND quận Ninh Kiều", "huyện"), ("UBND quận Cái Răng", "huyện"),
         ("UBND huyện Phong Điền", "huyện"), ("UBND phường An Hòa", "xã"), ("UBND phường Xuân Khánh", "xã"),
         ("UBND xã Mỹ Khánh", "xã")]


@dataclass
class Seat:
    """One simulated candidate: what their slip, their task sheet and their sandbox give."""
    number: str
    password: str
    sandbox: str
    scenario: str
    values: dict
    start_date: dt.date
    person: str                 # the in-world person id the candidate plays
    address: str                # their in-world mail address
    mail_password: str          # for a mail client (SMTP/IMAP share)


@dataclass
class Installation:
    data_dir: Path
    code: str
    scenario: str
    seats: list[Seat]
    answer_key: dict[int, list[int]]          # theory question id -> correct option indexes
    theory_questions: int
    timings: dict[str, float] = field(default_factory=dict)


def _roster_csv(n: int) -> str:
    lines = ["Họ và tên,Chức vụ,Đơn vị,Cấp"]
    for i in range(n):
        unit, tier = UNITS[i % len(UNITS)]
        lines.append(f"Thí sinh số {i + 1:05d},Chuyên viên,{unit},{tier}")
    return "\n".join(lines) + "\n"


def prepare(data_dir: Path, n: int, scenario: str, *, progress=None, database_url: str | None = None) -> Installation:
    """Create the contest with ``n`` candidates on ``scenario`` in ``data_dir`` and provision it."""
    import time

    from sqlalchemy import select

    from sandbox.contest import api, theory
    from sandbox.contest.models import Question
    from sandbox.contest.passwords import candidate_password
    from sandbox.kernel.errors import SandboxError
    from sandbox.kernel.sandboxes import find_sandbox
    from sandbox.kernel.settings import Settings
    from sandbox.runtime import Runtime
    from scenarios.build import derive_password, from_json, instance_of

    timings = {}
    rt = Runtime.open(Settings(data_dir=data_dir, database_url=database_url))
    try:
        t0 = time.perf_counter()
        api.create_contest(rt, CODE, "Cuộc thi thử tải (bench load)", 2024,
                           [("Lý thuyết", THEORY_POINTS), ("Thực hành", PRACTICAL_POINTS)], duration_minutes=60,
                           actor="bench")
        for name, tier in UNITS:
            api.add_unit(rt, CODE, name, tier, actor="bench")
        report = api.import_roster(rt, CODE, "danh-sach.csv", _roster_csv(n).encode("utf-8"), actor="bench")
        if not report.ok:
            raise SandboxError("roster rejected: " + "; ".join(report.lines()), "bench roster")
        api.add_shift(rt, CODE, SHIFT, scenario, actor="bench")
        for r in range(math.ceil(n / SEATS_PER_ROOM)):
            api.add_room(rt, CODE, f"Phòng máy {r + 1}", SEATS_PER_ROOM, actor="bench")
        api.seat_candidates(rt, CODE, actor="bench")
        theory.ensure_sample_bank(rt)
        timings["contest"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = api.provision_shift(rt, CODE, SHIFT, progress=progress, actor="bench")
        timings["provision"] = time.perf_counter() - t0
        if result.errors:
            raise SandboxError("provisioning failed: " + "; ".join(result.errors[:5]), "bench provision")

        seats = []
        with rt.db.read() as s:
            for c in api.list_candidates(rt, CODE):
                sb = find_sandbox(s, c.sandbox_name)
                inst = instance_of(s, sb.id)
                start = inst.start.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
                seats.append(Seat(c.number, candidate_password(rt.secret, CODE, c.number), c.sandbox_name,
                                  inst.scenario_id, from_json(inst.values), start, inst.candidate,
                                  inst.candidate_address, derive_password(rt.secret, c.sandbox_name, inst.candidate)))
            info = api.contest_info(rt, CODE)
            part = next(p for p in info.parts if p.kind == "theory")
            bank_settings = _theory_settings(s, part.id)
            key = {q.id: sorted(q.correct) for q in s.scalars(select(Question).where(
                Question.bank == bank_settings.get("bank", "mau")))}
        questions = min(int(bank_settings.get("questions", 30)), len(key))
        return Installation(data_dir, CODE, scenario, seats, key, questions, timings)
    finally:
        rt.close()


def _theory_settings(session, part_id: int) -> dict:
    from sandbox.contest.models import ContestPart
    return dict(session.get(ContestPart, part_id).settings or {})
