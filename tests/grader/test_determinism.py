"""Issue 6, acceptance 4: grading the same state twice, and on SQLite vs PostgreSQL, gives
byte-identical JSON reports."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP

from docflow import api as docflow_api
from grader.engine import grade, report_json
from grader.state import SandboxState
from mailserver import api as mail_api
from sandbox.kernel.clock import FixedClock
from scenarios.build import build, instance_of
from scenarios.library import load
from signing import api as signing_api
from tests.conftest import open_runtime

START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _session(rt, loaded) -> str:
    """Build thi-2022-de-1 (seed 2), do most tasks with some mistakes, grade twice."""
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    res = build(rt, loaded, 2, "ts002")
    v, me = res.values, res.candidate.address
    with rt.db.read() as s:
        anchors = instance_of(s, res.sandbox_id).anchors
        acc = mail_api.account_by_address(s, res.sandbox_id, me)
        spec_token = next(t.id for t in signing_api.certificates_for(s, res.sandbox_id, me) if t.owner != me)
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = me, v["recipient"]["email"], "Danh sách dự thi"
    msg.set_content("Đề nghị tổng hợp danh sách.\n")
    mail_api.submit(rt.dispatcher, rt.blobs, acc, msg.as_bytes(), [v["recipient"]["email"]], via="smtp")
    units = anchors["units"]
    docflow_api.direct(rt, res.sandbox_id, me, anchors["incoming"]["kh98"]["incoming_id"], "Giao triển khai.",
                       [{"unit_id": units[v["routing"]["lead"]], "role": "xlc", "deadline": v["deadline"]}])
    # the classic mistake: the specialist's certificate
    oid = anchors["drafts"]["cv_cu_thi"]["outgoing_id"]
    docflow_api.sign_as_leader(rt, res.sandbox_id, me, oid, spec_token, "135790")
    docflow_api.forward_to_clerk(rt, res.sandbox_id, me, oid)
    first = report_json(grade(SandboxState(rt, res.sandbox_id), loaded.scenario))
    again = report_json(grade(SandboxState(rt, res.sandbox_id), loaded.scenario))
    assert first == again
    return first


def test_same_state_same_bytes_on_sqlite_and_postgresql(tmp_path):
    loaded = load("thi-2022-de-1")
    sqlite = open_runtime(tmp_path, "sqlite")   # both share tmp_path/data: the same test CA
    try:
        a = _session(sqlite, loaded)
    finally:
        sqlite.close()
    pg = open_runtime(tmp_path, "postgresql")
    try:
        b = _session(pg, loaded)
    finally:
        pg.close()
    assert a == b
    assert '"id": "S1"' in a and "Trần Thị Bình" in a  # the evidence names whose certificate signed
