"""Provisioning on every core (issue 14): worker processes build the shift's sandboxes, each
opening its own Runtime (on SQLite into a scratch file of its own, copied in with the same
ids), and every sandbox is the one a build in this process makes: same values, same task,
same log (action by action), same state after every step but the certificates (whose keys
differ from run to run in any case), same theory papers."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sandbox.contest import api
from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit, Shift, TheoryPaper
from sandbox.kernel.actions import verify_chain
from sandbox.kernel.clock import FixedClock, as_utc
from sandbox.kernel.models import Action, Sandbox
from scenarios.build import instance_of

AT = dt.datetime(2024, 6, 3, 1, 0, tzinfo=dt.timezone.utc)
#: the state parts that hold the certificates (keys from a pool: different in every run)
RUN_DEPENDENT = {"signing/tokens"}


def contest_with_candidates(rt, code: str, n: int, *, absent=(), scenario="thi-2022-de-1") -> dict[str, int]:
    """A contest with a theory part and one shift of ``n`` candidates TS001…; their ids."""
    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    with rt.db.write() as s:
        c = Contest(code=code, name="Cuộc thi thử", year=2024, duration_minutes=60, rules={}, created_at=AT)
        s.add(c)
        s.flush()
        s.add(ContestPart(contest_id=c.id, name="Lý thuyết", kind="theory", points=60, position=0,
                          settings={"bank": "mau", "questions": 10}))
        s.add(ContestPart(contest_id=c.id, name="Thực hành", kind="practical", points=40, position=1, settings={}))
        u = ContestUnit(contest_id=c.id, name="Sở Nội vụ", tier="so")
        sh = Shift(contest_id=c.id, name="Ca 1", scenario_id=scenario, backup_scenario_id="thi-2022-de-2")
        s.add_all([u, sh])
        s.flush()
        ids = {}
        for i in range(1, n + 1):
            number = f"TS{i:03d}"
            cand = Candidate(contest_id=c.id, number=number, full_name=f"Thí sinh {i}", unit_id=u.id, shift_id=sh.id,
                             attendance="absent" if number in absent else "")
            s.add(cand)
            s.flush()
            ids[number] = cand.id
    return ids


def sandboxes_of(rt, code: str) -> dict[str, dict]:
    """What a sandbox is, without its database ids: instance, log and state after each step."""
    out = {}
    with rt.db.read() as s:
        for cand in s.scalars(select(Candidate).join(Contest).where(Contest.code == code)):
            if not cand.sandbox_name:
                continue
            sb = s.scalar(select(Sandbox).where(Sandbox.name == cand.sandbox_name))
            inst = instance_of(s, sb.id)
            assert verify_chain(s, sb.id) == (True, None)
            log = s.scalars(select(Action).where(Action.sandbox_id == sb.id).order_by(Action.seq)).all()
            out[cand.number] = {
                "candidate": (cand.sandbox_name, cand.scenario_id, cand.seed),
                "instance": (inst.scenario_id, inst.seed, inst.values, as_utc(inst.start),
                             inst.candidate, inst.candidate_address, sorted(inst.anchors)),
                "log": [(a.seq, a.actor, a.name, as_utc(a.at)) for a in log],
                "states": [{k: v for k, v in (a.state_parts or {}).items() if k not in RUN_DEPENDENT} for a in log],
                "paper": s.scalar(select(TheoryPaper.items).where(TheoryPaper.candidate_id == cand.id)),
            }
    return out


def test_parallel_provisioning_builds_the_same_sandboxes(runtime, tmp_path):
    """Every core (``workers=2``) on SQLite and PostgreSQL against one process on SQLite."""
    from tests.conftest import open_runtime

    serial_rt = open_runtime(tmp_path / "serial", "sqlite")
    try:
        contest_with_candidates(serial_rt, "cds2025", 5, absent=["TS004"])
        serial = api.provision_shift(serial_rt, "cds2025", "Ca 1", workers=1)
        expected = sandboxes_of(serial_rt, "cds2025")
    finally:
        serial_rt.close()
    contest_with_candidates(runtime, "cds2025", 5, absent=["TS004"])
    seen = []
    res = api.provision_shift(runtime, "cds2025", "Ca 1", workers=2, progress=lambda d, t, n: seen.append((d, t)))
    assert res.built == serial.built == ["TS001", "TS002", "TS003", "TS005"] and res.absent == ["TS004"]
    assert not res.errors and sorted(seen) == [(i, 5) for i in range(1, 6)]
    got = sandboxes_of(runtime, "cds2025")
    assert got.keys() == expected.keys()
    for number in expected:
        assert got[number] == expected[number], number
    # a second run finds them all built
    again = api.provision_shift(runtime, "cds2025", "Ca 1", workers=2)
    assert again.skipped == res.built and not again.built
    # and they work: the candidate's login, a grading
    from grader.batch import grade_many
    with runtime.db.read() as s:
        ids = list(s.scalars(select(Sandbox.id).where(Sandbox.name.like("cds2025-%"))))
    reports = grade_many(runtime, ids, workers=1)
    assert all("error" not in r and r["gradable"] is not False for r in reports.values())


def test_a_failing_build_is_listed_and_the_others_go_on(sqlite_runtime):
    rt = sqlite_runtime
    ids = contest_with_candidates(rt, "cds2025", 3)
    with rt.db.write() as s:
        s.get(Candidate, ids["TS002"]).scenario_id = "khong-co-de-nay"
    res = api.provision_shift(rt, "cds2025", "Ca 1", workers=2)
    assert res.built == ["TS001", "TS003"]
    assert len(res.errors) == 1 and res.errors[0].startswith("TS002: ")


def test_the_copy_refuses_ids_someone_else_used(sqlite_runtime, tmp_path):
    """The scratch file's rows keep their ids; if another run has written into the reserved
    range meanwhile, nothing is copied."""
    from sandbox.contest.build_workers import _id_ranges, _start_ids_at, copy_sandboxes
    from sandbox.kernel.errors import SandboxError
    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings
    from scenarios.build import build, to_json
    from scenarios.library import load

    rt = sqlite_runtime
    [first] = _id_ranges(rt, 1)
    scratch = tmp_path / "scratch.db"
    srt = Runtime.open(Settings(data_dir=rt.settings.data_dir, database_url=f"sqlite:///{scratch}",
                                secret_key=rt.settings.get_secret_key()))
    _start_ids_at(str(scratch), first)
    built = build(srt, load("thi-2022-de-1"), 7, "ban-nhap")
    srt.close()
    assert built.sandbox_id == first["sandboxes"]
    with rt.db.write() as s:   # someone else takes the first reserved sandbox id
        s.add(Sandbox(id=first["sandboxes"], name="chen-ngang", created_at=AT))
    with pytest.raises(SandboxError):
        copy_sandboxes(str(scratch), rt, first)
    with rt.db.read() as s:
        assert s.scalar(select(Sandbox.id).where(Sandbox.name == "ban-nhap")) is None
    with rt.db.write() as s:
        s.delete(s.get(Sandbox, first["sandboxes"]))
    assert copy_sandboxes(str(scratch), rt, first) > 0
    with rt.db.read() as s:
        sb = s.scalar(select(Sandbox).where(Sandbox.name == "ban-nhap"))
        assert sb.id == first["sandboxes"] and verify_chain(s, sb.id) == (True, None)
        assert instance_of(s, sb.id).values == to_json(built.values)
