"""Issue 8, acceptance 1: a scripted session (web, SMTP and IMAP actions mixed) on a shipped
exam set replays to the identical final score report; a changed log entry makes the replay
(and `sandbox log verify`) name that step."""
from __future__ import annotations

import datetime as dt
import imaplib
import smtplib
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select

from docflow import api as docflow_api
from mailserver.imap.server import IMAPController
from sandbox.kernel.actions import verify_chain
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.models import Action
from sandbox.replay.api import discard, kept_replays, replay
from scenarios.build import build, instance_of
from scenarios.library import load
from signing import api as signing_api
from tests.conftest import free_port
from tests.web.conftest import CSRF_FIELD

START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.fixture
def session(runtime, smtp_server):
    """thi-2022-de-1, seed 3: SMTP mail with CC, IMAP flags and a folder, a webmail read,
    directive and signing through the document workflow; the clock moves a minute a step."""
    rt = runtime                  # the SMTP server's runtime too
    clock = FixedClock(START)
    rt.clock = rt.dispatcher.clock = clock
    loaded = load("thi-2022-de-1")
    res = build(rt, loaded, 3, "ts003")
    v, me, pw = res.values, res.candidate.address, res.candidate.password
    with rt.db.read() as s:
        anchors = instance_of(s, res.sandbox_id).anchors
        own = next(t.id for t in signing_api.certificates_for(s, res.sandbox_id, me) if t.owner == me)

    def tick():
        clock.set(clock.now() + dt.timedelta(minutes=1))

    # SMTP: the task mail
    chanh = next(p.email for p in loaded.scenario.world.people if p.id == "chanhvp")
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Cc"], msg["Subject"] = me, v["recipient"]["email"], chanh, v["subject"]["text"]
    msg.set_content("Đề nghị tổng hợp danh sách công chức dự thi.\n")
    tick()
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as c:
        c.login(me, pw)
        c.send_message(msg)
    # IMAP: flag the Director's mail, make a folder, copy it there
    imap = IMAPController(rt, host="127.0.0.1", port=free_port())
    imap.start()
    try:
        tick()
        c = imaplib.IMAP4("127.0.0.1", imap.port)
        c.login(me, pw)
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Flagged)")
        tick()
        c.create("Cuoc-thi")
        tick()
        c.copy("1", "Cuoc-thi")
        c.logout()
    finally:
        imap.stop()
    # web: read a message (marks it seen)
    from sandbox.web import create_app
    client = create_app(rt).test_client()
    token = CSRF_FIELD.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"login": me, "password": pw, "csrf_token": token})
    inbox = client.get("/mail/").get_data(as_text=True)
    import re
    first = re.search(r'href="/mail/message/(\d+)"', inbox).group(1)
    tick()
    client.get(f"/mail/message/{first}")
    # the document workflow through its API (what its pages call)
    tick()
    u = anchors["units"]
    docflow_api.direct(rt, res.sandbox_id, me, anchors["incoming"]["kh98"]["incoming_id"], "Giao triển khai.",
                       [{"unit_id": u[v["routing"]["lead"]], "role": "xlc", "deadline": v["deadline"]},
                        {"unit_id": u[v["routing"]["support"]], "role": "ph", "deadline": v["deadline"]},
                        {"unit_id": u["vp"], "role": "db"}])
    tick()
    oid = anchors["drafts"]["cv_cu_thi"]["outgoing_id"]
    docflow_api.sign_as_leader(rt, res.sandbox_id, me, oid, own, res.candidate.pin)
    tick()
    docflow_api.forward_to_clerk(rt, res.sandbox_id, me, oid)
    return rt, res


def test_a_mixed_session_replays_to_the_same_score_report(session):
    rt, res = session
    with rt.db.read() as s:
        rows = list(s.scalars(select(Action).where(Action.sandbox_id == res.sandbox_id)))
        names = {a.name for a in rows}
        doors = {(a.name, a.door) for a in rows if a.door}
    assert {("mail.submit", "smtp"), ("mail.set_flags", "imap"), ("mail.create_folder", "imap"),
            ("mail.copy", "imap"), ("mail.set_flags", "web")} <= doors
    assert {"mail.submit", "mail.set_flags", "mail.create_folder", "mail.copy", "docflow.direct",
            "docflow.leader_signed", "docflow.forward_to_clerk"} <= names
    result = replay(rt, "ts003", keep=True)  # kept: its own log is looked at below
    assert result.first_mismatch is None, [s.detail for s in result.steps if not s.ok]
    assert {s.state for s in result.steps} == {"same"}  # every step's state digest compared, equal
    assert result.report_same is True, list(_debug_diff(result.original_report, result.replay_report))[:10]
    assert result.original_report["total"] == result.replay_report["total"] > 0
    with rt.db.read() as s:
        assert verify_chain(s, result.replay_sandbox_id) == (True, None)
        replayed = {(a.name, a.door) for a in s.scalars(select(Action).where(
            Action.sandbox_id == result.replay_sandbox_id)) if a.door}
    assert replayed == doors  # the replay records each step's door as it was
    assert [k.name for k in kept_replays(rt, "ts003")] == ["ts003~replay1"]
    discard(rt, "ts003~replay1")
    assert kept_replays(rt) == []


def test_a_changed_entry_is_named_by_the_replay_and_the_chain(session):
    rt, res = session
    with rt.db.write() as s:
        entry = s.scalar(select(Action).where(Action.sandbox_id == res.sandbox_id, Action.name == "docflow.direct"))
        args = dict(entry.args)
        args["directive"] = "Ý kiến đã bị sửa."
        entry.args = args
        seq = entry.seq
    with rt.db.read() as s:
        assert verify_chain(s, res.sandbox_id) == (False, seq)
    until = replay(rt, "ts003", until=seq - 1)
    assert until.first_mismatch is None and until.steps[-1].seq == seq - 1


def _debug_diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _debug_diff(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _debug_diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def test_cli_replay(sqlite_runtime, tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import cli_env

    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    build(rt, load("thi-2022-de-1"), 4, "ts004")
    env = {**cli_env(rt.settings.data_dir), "SANDBOX_DATABASE_URL": rt.settings.database_url}
    out = subprocess.run([sys.executable, "-m", "sandbox.cli", "replay", "ts004", "--json"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["first_mismatch"] is None and data["report_same"] is True and data["replay"] == "ts004~replay1"
    text = subprocess.run([sys.executable, "-m", "sandbox.cli", "replay", "ts004", "--until", "5"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert text.returncode == 0 and "5 bước khớp" in text.stdout

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "sandbox.cli", "replay", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    assert "Không có bản phát lại nào" in cli("--list").stdout  # both copies above were removed
    kept = cli("ts004", "--keep")
    assert kept.returncode == 0 and "vào ts004~replay1:" in kept.stdout, kept.stdout + kept.stderr
    listed = cli("--list", "ts004", "--json")
    assert [k["name"] for k in json.loads(listed.stdout)] == ["ts004~replay1"]
    assert cli("--discard", "ts004").returncode == 2  # never an original
    gone = cli("--discard", "ts004~replay1")
    assert gone.returncode == 0 and "Đã xoá" in gone.stdout
    assert json.loads(cli("--list", "--json").stdout) == []
