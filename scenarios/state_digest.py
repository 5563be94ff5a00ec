"""The scenario part of a sandbox's state digest (``sandbox.kernel.actions.state_contributor``):
which exam the sandbox was built from, for whom (its anchors hold database ids and are left
out: the rows they point at are in the other packages' parts)."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from sandbox.kernel.actions import state_contributor
from sandbox.kernel.clock import as_utc

from .models import ScenarioInstance

_I = ScenarioInstance.__table__
_INSTANCE = select(_I.c.scenario_id, _I.c.title, _I.c.seed, _I.c["values"], _I.c.start, _I.c.candidate,
                   _I.c.candidate_address, _I.c.rubric_version, _I.c.practice).where(_I.c.sandbox_id == bindparam("sid"))


@state_contributor("scenario", label="đề thi", sections={"instance": "đề và thí sinh"}, tables=("scenario_instances",))
def scenario_state(session, sandbox_id: int) -> dict:
    row = session.execute(_INSTANCE, {"sid": sandbox_id}).first()
    if row is None:
        return {"instance": None}
    return {"instance": [*row[:4], as_utc(row[4]).isoformat(), *row[5:8], bool(row[8])]}
