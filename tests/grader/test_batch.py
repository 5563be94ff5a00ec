"""grade_many: every core grades a share; the reports are the same as one process gives."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from grader.batch import grade_many
from sandbox.kernel.clock import FixedClock
from scenarios.build import build
from scenarios.library import load

DATA = Path(__file__).parents[1] / "scenarios" / "data"


def test_parallel_grading_equals_serial(sqlite_runtime):
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(dt.datetime(2026, 5, 20, 1, 0, tzinfo=dt.timezone.utc))
    loaded = load(DATA / "minimal.yaml")
    ids = [build(rt, loaded, i, f"ts{i:03d}").sandbox_id for i in range(6)]
    serial = grade_many(rt, ids, workers=1)
    parallel = grade_many(rt, ids, workers=2, chunk=2)
    assert serial == parallel and list(parallel) == ids
    assert all(r["max"] == 10 and r["total"] == 0 for r in parallel.values())
    assert grade_many(rt, [99999], workers=1)[99999]["error"].startswith("Sandbox này không được tạo")
