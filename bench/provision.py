"""Provisioning a shift: ``provision_shift`` of BENCH_N candidates (default 600) of the 2022
exam set, in one process (the baseline, ``workers=1``) and on every core, each into a fresh
installation, on the configured database (SQLite by default; PostgreSQL with
``SANDBOX_DATABASE_URL``: each installation gets its own schema-free database by name).

Target (issue 14): 600 sandboxes in ≤ 30 s on this 2-core machine.
``python -m bench.provision``."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

N = int(os.environ.get("BENCH_N", "600"))
SCENARIO = "thi-2022-de-1"
CODE = "bench"
START = dt.datetime(2026, 5, 20, 1, 0, tzinfo=dt.timezone.utc)


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _database_url(label: str) -> str | None:
    """A fresh database for one installation: None (SQLite in its data folder), or a new
    PostgreSQL database next to the configured one."""
    url = os.environ.get("SANDBOX_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{label}_{os.getpid()}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def installation(label: str, n: int = N, scenario: str = SCENARIO):
    """A fresh installation with a contest of ``n`` candidates in one shift (a theory part of
    30 questions from the sample bank), the clock pinned; its runtime."""
    from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit, Shift
    from sandbox.contest import theory
    from sandbox.kernel.clock import FixedClock
    from sandbox.kernel.settings import Settings
    from sandbox.runtime import Runtime

    data = tempfile.mkdtemp(prefix=f"bench-{label}-")
    rt = Runtime.open(Settings(data_dir=data, database_url=_database_url(label)))
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    theory.ensure_sample_bank(rt)
    with rt.db.write() as s:
        c = Contest(code=CODE, name="Cuộc thi đo tải", year=2026, duration_minutes=60, rules={}, created_at=START)
        s.add(c)
        s.flush()
        s.add(ContestPart(contest_id=c.id, name="Lý thuyết", kind="theory", points=60, position=0,
                          settings={"bank": "mau", "questions": 30}))
        s.add(ContestPart(contest_id=c.id, name="Thực hành", kind="practical", points=40, position=1, settings={}))
        u = ContestUnit(contest_id=c.id, name="Sở Thông tin và Truyền thông", tier="so")
        sh = Shift(contest_id=c.id, name="Ca 1", scenario_id=scenario, backup_scenario_id="thi-2022-de-2")
        s.add_all([u, sh])
        s.flush()
        for i in range(n):
            s.add(Candidate(contest_id=c.id, number=f"TS{i:04d}", full_name=f"Thí sinh {i}", unit_id=u.id,
                            shift_id=sh.id))
    return rt


def provision(rt, workers: int) -> tuple[float, object]:
    from sandbox.contest.provision import provision_shift

    t = time.perf_counter()
    res = provision_shift(rt, CODE, "Ca 1", workers=workers, actor="bench")
    wall = time.perf_counter() - t
    assert not res.errors and len(res.built) == N, res.lines()
    return wall, res


def measure(keep: bool = False):
    """(lines, the all-cores installation's runtime if ``keep``)."""
    from sandbox.kernel.settings import Settings

    cores = os.cpu_count() or 1
    db = "PostgreSQL" if (Settings().database_url or "").startswith("postgresql") else "SQLite"
    lines = [f"Provisioning a shift: provision_shift of {N} candidates of {SCENARIO} ({db}; {load_average()})"]
    one = installation("prov1")
    t_one, _ = provision(one, 1)
    one.close()
    many = installation("provn")
    t_many, _ = provision(many, cores)
    lines.append(f"  one process (baseline)     {t_one:7.1f} s  ({t_one / N * 1000:6.1f} ms per sandbox)")
    lines.append(f"  {cores} processes (every core) {t_many:7.1f} s  ({t_many / N * 1000:6.1f} ms per sandbox)"
                 f"  {t_one / t_many:4.2f}× faster; target ≤ 30 s for 600 ({load_average()})")
    if keep:
        return lines, many
    many.close()
    return lines, None


def main() -> list[str]:
    return measure()[0]


if __name__ == "__main__":
    for line in main():
        print(line, flush=True)
