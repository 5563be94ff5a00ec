"""NPC rules (issue 13): the registry of rule kinds, ``auto_reply`` played with real doors (our
SMTP server with smtplib, the webmail, our IMAP server with imaplib) on the shipped drill
``luyen-xin-tai-lieu``, its log and its replay; ``auto_clerk`` as a standing rule."""
from __future__ import annotations

import datetime as dt
import email
import hashlib
import imaplib
import json
import re
import smtplib
import subprocess
import sys
import typing
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from sqlalchemy import select

import scenarios.npc as npc
from grader.engine import grade
from grader.state import SandboxState
from mailserver import api as mail_api
from mailserver import mime
from mailserver.imap.server import IMAPController
from sandbox.kernel.actions import ACTIONS, DOOR, REACTIONS, verify_chain
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.models import Action
from sandbox.replay.api import replay
from scenarios import schema
from scenarios.build import build
from scenarios.library import LIBRARY, load
from scenarios.npc import base as npc_base
from scenarios.validate import validate_text
from tests.conftest import cli_env, free_port
from tests.web.conftest import CSRF_FIELD

from .harness import Candidate, lost

DRILL = "luyen-xin-tai-lieu"
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SUBJECT = "Xin số liệu giải ngân vốn đầu tư công"
REQUEST = "Đề nghị chị gửi bảng tổng hợp giải ngân vốn đầu tư công đến hết tháng 4.\n"


# -- the registry ---------------------------------------------------------------------------------
def test_every_kind_is_a_registered_class_with_typed_params():
    assert set(npc.RULES) == {"auto_reply", "auto_clerk"}
    for kind, cls in npc.RULES.items():
        assert issubclass(cls, npc.Rule) and cls.kind == kind and cls.summary_vi
        assert issubclass(cls.Params, BaseModel) and cls.Params.__module__ == "scenarios.schema"
        assert cls.events and all(e in ACTIONS for e in cls.events), cls.events
        for e in cls.events:   # the dispatch is registered with the kernel for each of them
            assert npc.react in REACTIONS[e]
    assert npc.RULES["auto_reply"].Params is schema.AutoReply
    assert npc.RULES["auto_clerk"].standing and npc.RULES["auto_clerk"].into_result


def test_the_kinds_a_file_may_declare_are_the_schemas():
    rule_type = typing.get_args(schema.Scenario.model_fields["npc"].annotation)[0]   # list[NpcRule]
    if typing.get_origin(rule_type) is typing.Annotated:
        rule_type = typing.get_args(rule_type)[0]
    models = typing.get_args(rule_type) or (rule_type,)
    kinds = {typing.get_args(m.model_fields["kind"].annotation)[0] for m in models}
    assert kinds == npc.declarable_kinds() == {"auto_reply"}


def test_a_kind_is_registered_once_with_its_kind_in_its_params():
    class Twice(npc.Rule):
        kind, Params, events = "auto_reply", schema.AutoReply, ("mail.submit",)

    with pytest.raises(RuntimeError, match="registered twice"):
        npc.rule(Twice)

    class Mismatch(npc.Rule):
        kind, Params, events = "hoi_dap", schema.AutoReply, ("mail.submit",)

    with pytest.raises(RuntimeError, match="Literal"):
        npc.rule(Mismatch)
    assert "hoi_dap" not in npc.RULES


def _drill_text() -> str:
    return (LIBRARY / f"{DRILL}.yaml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("kind", ["tra_loi", "auto_clerk"])
def test_an_unknown_kind_is_refused_with_its_line(kind):
    text = _drill_text().replace("  - kind: auto_reply", f"  - kind: {kind}", 1)
    _sc, problems = validate_text(text, "de.yaml")
    assert [str(p) for p in problems] == [
        f"de.yaml:{_line(text, f'kind: {kind}')}: npc: loại '{kind}' không hợp lệ; chỉ nhận 'auto_reply'"]


def test_a_rule_naming_nobody_of_the_world_is_refused_with_its_line():
    text = _drill_text().replace("    person: tp_tcdt", "    person: tp_khong_co", 1)
    _sc, problems = validate_text(text, "de.yaml")
    assert [str(p) for p in problems] == [
        f"de.yaml:{_line(text, 'person: tp_khong_co')}: người 'tp_khong_co' không có trong danh sách người "
        "(world.people)"]


def test_the_drills_file_check_is_the_colleagues_file():
    """C2 compares bytes: its sha256 is the one of the file the rule sends."""
    from scenarios.build_helpers import attachment_bytes
    from scenarios.variants import context

    sc = load(DRILL).scenario
    crit = next(c for c in sc.rubric.criteria if c.id == "C2")
    for choice in sc.variants["giai_ngan"].choices:
        ctx = context(sc, {"giai_ngan": choice, "nguoi_nhan": {}}, START.date())
        _name, _ctype, data = attachment_bytes(sc.npc[0].attachments[0], sc, ctx)
        assert hashlib.sha256(data).hexdigest() == crit.check.params["sha256"]


# -- auto_reply with the real doors ----------------------------------------------------------
def _fetch_inbox(port: int, login: str, password: str) -> list[email.message.EmailMessage]:
    c = imaplib.IMAP4("127.0.0.1", port)
    try:
        c.login(login, password)
        c.select("INBOX")
        _typ, data = c.search(None, "ALL")
        out = []
        for num in data[0].split():
            _typ, parts = c.fetch(num, "(RFC822)")
            out.append(email.message_from_bytes(parts[0][1], policy=default))
        return out
    finally:
        c.logout()


def _from(msgs, address: str) -> list:
    return [m for m in msgs if m["From"].addresses[0].addr_spec == address]


class Session:
    def __init__(self, rt, smtp_port: int, name: str = "ts051", seed: int = 5):
        self.clock = FixedClock(START)
        rt.clock = rt.dispatcher.clock = self.clock
        self.rt, self.smtp_port, self.name = rt, smtp_port, name
        self.loaded = load(DRILL)
        self.res = build(rt, self.loaded, seed, name)
        self.sid, self.me, self.pw = self.res.sandbox_id, self.res.candidate.address, self.res.candidate.password
        self.v = self.res.values
        people = {p.id: p for p in self.loaded.scenario.world.people}
        self.colleague = people["tp_tcdt"].email.lower()

    def tick(self) -> None:
        self.clock.set(self.clock.now() + dt.timedelta(minutes=1))

    def smtp_send(self, to, subject, body, *, cc=(), msgid=None, in_reply_to=None):
        msg = EmailMessage(policy=SMTP)
        msg["From"], msg["To"], msg["Subject"] = self.me, ", ".join(to), subject
        if cc:
            msg["Cc"] = ", ".join(cc)
        if msgid:
            msg["Message-ID"] = msgid
        if in_reply_to:
            msg["In-Reply-To"], msg["References"] = in_reply_to, in_reply_to
        msg.set_content(body)
        self.tick()
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as c:
            c.login(self.me, self.pw)
            c.send_message(msg)

    def entries(self, name: str = "mail.submit") -> list[Action]:
        with self.rt.db.read() as s:
            return list(s.scalars(select(Action).where(Action.sandbox_id == self.sid, Action.name == name)
                                  .order_by(Action.seq)))


@pytest.fixture
def imap(runtime):
    ctl = IMAPController(runtime, host="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl
    ctl.stop()


def test_the_colleague_answers_over_smtp_and_imap_shows_it_and_it_replays(runtime, smtp_server, imap, tmp_path):
    rt = runtime
    s = Session(rt, smtp_server.port)
    request_id = "<xin-so-lieu.1@sotaichinh.cantho.gov.vn>"
    s.smtp_send([s.colleague], SUBJECT, REQUEST, msgid=request_id)

    inbox = _fetch_inbox(imap.port, s.me, s.pw)
    [reply] = _from(inbox, s.colleague)
    assert reply["Subject"] == f"Re: {SUBJECT}"
    assert reply["To"].addresses[0].addr_spec == s.me
    assert reply["In-Reply-To"] == request_id and reply["References"] == request_id
    assert reply["Message-ID"].startswith("<npc.tp_tcdt.") and reply["Message-ID"].endswith("@sotaichinh.cantho.gov.vn>")
    assert reply["Date"] == "Wed, 20 May 2026 08:01:00 +0700"   # the in-world time of the request
    text = reply.get_body(("plain",)).get_content()
    assert f"đạt {s.v['giai_ngan']['ty_le']} kế hoạch" in text and "Chào anh Lâm Quốc Bảo" in text
    [att] = list(reply.iter_attachments())
    assert att.get_filename() == "Tong-hop-giai-ngan-von-dau-tu-cong-T4.txt"
    crit = next(c for c in s.loaded.scenario.rubric.criteria if c.id == "C2")
    assert hashlib.sha256(att.get_payload(decode=True)).hexdigest() == crit.check.params["sha256"]

    # the log: the reply belongs to the candidate's submission, through the colleague's account
    [entry] = s.entries()
    assert entry.actor == s.me and entry.door == "smtp"
    assert entry.result["npc"] == [{"kind": "auto_reply", "rule": 0, "person": "tp_tcdt",
                                    "message_id": reply["Message-ID"], "in_reply_to": request_id,
                                    "files": ["Tong-hop-giai-ngan-von-dau-tu-cong-T4.txt"]}]
    assert len(entry.created["item"]) == 3 and len(entry.created["submission"]) == 2  # her INBOX, his INBOX, her Sent
    with rt.db.read() as ses:
        acc = mail_api.account_by_address(ses, s.sid, s.colleague)
        with mail_api.open_view(rt.db, acc) as view:
            [sent] = view.sent(rt.blobs)
    assert (sent.via, sent.to, sent.in_reply_to, sent.message_id) == ("npc", (s.me,), request_id, reply["Message-ID"])
    with rt.db.read() as ses:
        assert verify_chain(ses, s.sid) == (True, None)

    # `sandbox log verify` (the real command) and the replay: every step, every state the same
    env = {**cli_env(rt.settings.data_dir), "SANDBOX_DATABASE_URL": rt.settings.database_url}
    ok = subprocess.run([sys.executable, "-m", "sandbox.cli", "log", "verify", s.name], capture_output=True,
                        text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "toàn vẹn" in ok.stdout, ok.stdout + ok.stderr
    result = replay(rt, s.name)
    assert result.first_mismatch is None, [st.detail for st in result.steps if not st.ok]
    assert {st.state for st in result.steps} == {"same"}
    assert result.report_same is True and result.original_report["total"] == 3


def test_the_webmail_path_the_thread_and_the_mails_that_get_no_answer(runtime, smtp_server, imap):
    """Once per matching mail (asked twice, she answers twice), never to an answer to her own
    reply, never when she is only in CC, never to another subject; the forward of her reply
    through the webmail keeps her file and earns the task's points, and the session replays."""
    rt = runtime
    s = Session(rt, smtp_server.port, "ts052", seed=8)
    from sandbox.web import create_app

    client = create_app(rt).test_client()
    token = CSRF_FIELD.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"login": s.me, "password": s.pw, "csrf_token": token}).status_code == 302
    token = CSRF_FIELD.search(client.get("/mail/compose").get_data(as_text=True)).group(1)

    def web_send(**form):
        s.tick()
        resp = client.post("/mail/compose", data={"csrf_token": token, "send": "1", **form})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    web_send(to=s.colleague, subject=SUBJECT, body=REQUEST)
    [first] = _from(_fetch_inbox(imap.port, s.me, s.pw), s.colleague)
    assert first["Subject"] == f"Re: {SUBJECT}" and s.entries()[-1].door == "web"
    sent_id = s.entries()[-1].result["message_id"]
    assert first["In-Reply-To"] == sent_id

    # no answer: a thank-you to her reply, CC only, another subject
    s.smtp_send([s.colleague], f"Re: Re: {SUBJECT}", "Cảm ơn chị.\n", in_reply_to=first["Message-ID"])
    chanh = next(p.email for p in s.loaded.scenario.world.people if p.id == "chanhvp")
    s.smtp_send([chanh], SUBJECT, REQUEST, cc=[s.colleague])
    s.smtp_send([s.colleague], "Lịch họp giao ban tuần", "Mời chị dự họp giao ban.\n")
    assert len(_from(_fetch_inbox(imap.port, s.me, s.pw), s.colleague)) == 1
    assert ["npc" in e.result for e in s.entries()] == [True, False, False, False]
    # asked again (without accents, in lower case): a second answer
    web_send(to=s.colleague, subject="xin so lieu giai ngan quy II", body=REQUEST)
    replies = _from(_fetch_inbox(imap.port, s.me, s.pw), s.colleague)
    assert [r["Subject"] for r in replies] == [f"Re: {SUBJECT}", "Re: xin so lieu giai ngan quy II"]
    assert len({r["Message-ID"] for r in replies}) == 2

    # the forward through the webmail keeps her file; the drill is then done
    with rt.db.read() as ses:
        acc = mail_api.account_by_address(ses, s.sid, s.me)
    with mail_api.open_view(rt.db, acc) as view:
        items, _ = view.items(view.special(None), limit=50)
        item, data = next((i, d) for i, d in items if d.message_id == first["Message-ID"])
        parts = mime.body_parts(view.raw(data, rt.blobs), data.structure)
    page = client.get(f"/mail/compose?forward={item.id}").get_data(as_text=True)
    keep = re.findall(r'name="keep" value="([\d.]+)"', page)
    assert keep == [a["part"] for a in parts["attachments"]]
    rate = re.search(r"đạt (\d+,\d+%)", parts["text"]).group(1)
    assert rate == s.v["giai_ngan"]["ty_le"]
    web_send(to=s.v["nguoi_nhan"]["email"], subject=f"Fwd: Re: {SUBJECT}", body=f"Tỷ lệ giải ngân đạt {rate}.\n",
             source_id=str(item.id), keep=keep)
    report = grade(SandboxState(rt, s.sid), s.loaded.scenario)
    assert next(t for t in report["tasks"] if t["id"] == "chuyen")["awarded"] == 7, lost(report)

    result = replay(rt, s.name)
    assert result.first_mismatch is None, [st.detail for st in result.steps if not st.ok]
    assert {st.state for st in result.steps} == {"same"} and result.report_same is True

    # the replay command, in this process (where the rules are registered)
    door = DOOR.get()
    try:
        out = CliRunner().invoke(__import__("sandbox.cli", fromlist=["main"]).main, [
            "--data-dir", str(rt.settings.data_dir), "--database-url", rt.settings.database_url, "replay", s.name])
    finally:
        DOOR.set(door)
    assert out.exit_code == 0, out.output
    assert f"{len(result.steps)} bước khớp" in out.output and "trùng khớp với bản gốc" in out.output


def test_a_separate_process_replays_the_reply(sqlite_runtime):
    rt = sqlite_runtime
    c = Candidate(rt, load(DRILL), 2, "ts053")
    c.send([c.email("tp_tcdt")], SUBJECT, REQUEST)
    env = {**cli_env(rt.settings.data_dir), "SANDBOX_DATABASE_URL": rt.settings.database_url}
    out = subprocess.run([sys.executable, "-m", "sandbox.cli", "replay", "ts053", "--json"], capture_output=True,
                         text=True, env=env, timeout=180)
    result = json.loads(out.stdout)
    assert result["first_mismatch"] is None, result["steps"][-1]


# -- what a rule cannot render, what it does not touch -------------------------------------------
def test_a_reply_that_cannot_be_rendered_leaves_the_mail_sent_and_says_why(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    c = Candidate(rt, load(DRILL), 4, "ts054")
    broken = c.loaded.scenario.model_copy(deep=True)
    broken.npc[0].reply_body = "Tỷ lệ {giai_ngan.khong_co}."
    real = npc_base._scenario
    monkeypatch.setattr(npc_base, "_scenario", lambda ref: broken if ref == DRILL else real(ref))
    res = c.send([c.email("tp_tcdt")], SUBJECT, REQUEST)
    assert res["delivered"] == [c.email("tp_tcdt")]
    assert res["npc"] == [{"kind": "auto_reply", "rule": 0, "error": "không có giá trị 'giai_ngan.khong_co'"}]
    with mail_api.open_view(rt.db, c.account) as view:
        assert view.items(view.special(None))[1] == 0


def test_a_request_that_does_not_reach_her_gets_no_answer(sqlite_runtime):
    """A typo in her address: the request bounces (the candidate gets the delivery report),
    nobody answers."""
    c = Candidate(sqlite_runtime, load(DRILL), 6, "ts057")
    res = c.send(["trangnt@sotaichinh.cantho.gov.vn"], SUBJECT, REQUEST)
    assert res["bounced"] == ["trangnt@sotaichinh.cantho.gov.vn"] and "npc" not in res
    res = c.send([c.email("chanhvp")], SUBJECT, REQUEST, bcc=[c.email("tp_tcdt")])   # BCC: not addressed to her
    assert "npc" not in res
    with mail_api.open_view(sqlite_runtime.db, c.account) as view:
        rows, _ = view.items(view.special(None))
        assert [d.from_address for _i, d in rows] == ["mailer-daemon@sotaichinh.cantho.gov.vn"]


def test_a_sandbox_without_rules_sends_as_before(sqlite_runtime):
    """A scenario without ``npc`` (every other shipped set): the result has no ``npc`` key."""
    c = Candidate(sqlite_runtime, load("luyen-chuyen-tiep-thu"), 1, "ts055")
    res = c.send([c.v["recipient"]["email"]], "Fwd: Kế hoạch", "Đề nghị phòng góp ý.\n")
    assert set(res) == {"message_id", "delivered", "bounced", "submission_id"}


# -- auto_clerk --------------------------------------------------------------------------------
def test_the_automatic_clerk_is_a_standing_rule_that_queues_her_job(sqlite_runtime, monkeypatch):
    """A forward says ``deferred``: the rule queues the clerk's job in the forward's transaction
    (``queued`` in its result) and her release follows as her own action. A forward recorded
    before issue 14 (no ``deferred``) had her release inside it: the rule still does it inline
    for such an entry, so old logs replay."""
    from sqlalchemy import select

    from docflow import api as docflow_api
    from sandbox.kernel import jobs
    from sandbox.kernel.models import Action

    c = Candidate(sqlite_runtime, load("luyen-ky-so-chuyen-van-thu"), 1, "ts056")
    oid = c.outgoing_id(c.v["van_ban"]["id"])
    cert = c.loaded.scenario.world.candidate
    docflow_api.sign_as_leader(c.rt, c.sid, c.me, oid, c.token(cert), c.person(cert).pin)
    res = docflow_api.forward_to_clerk(c.rt, c.sid, c.me, oid)
    assert res == {"status": "at_clerk", "clerk": "npc", "queued": True}
    assert docflow_api.outgoing_doc(c.rt, c.sid, None, oid).status == "at_clerk"
    [ran] = jobs.run_pending(c.rt)
    assert ran.status == "done" and set(ran.outcome) == {"status", "clerk", "released", "symbol"}
    with c.rt.db.read() as s:
        last = s.scalars(select(Action).where(Action.sandbox_id == c.sid).order_by(Action.seq.desc())).first()
    clerk = next(p.email.lower() for p in c.loaded.scenario.world.people if p.role == "van_thu")
    assert (last.name, last.actor, last.result) == ("docflow.auto_clerk", clerk, ran.outcome)
    assert docflow_api.outgoing_doc(c.rt, c.sid, None, oid).status == "sent"

    calls = []

    def queue(ctx, outgoing_id):
        calls.append(("queue", outgoing_id))
        return {"queued": True}

    def inline(ctx, outgoing_id):
        calls.append(("inline", outgoing_id))
        return {"status": "sent", "released": True, "symbol": "05/STC-VP"}

    monkeypatch.setattr(docflow_api, "queue_auto_clerk", queue, raising=False)
    monkeypatch.setattr(docflow_api, "auto_clerk_in_action", inline, raising=False)
    left = {"status": "at_clerk", "clerk": "npc"}
    assert npc.react(None, "docflow.forward_to_clerk", {"outgoing_id": 7, "note": "", "deferred": True},
                     left) == {"queued": True}
    assert npc.react(None, "docflow.forward_to_clerk", {"outgoing_id": 8, "note": ""}, left) == {
        "status": "sent", "released": True, "symbol": "05/STC-VP"}
    assert calls == [("queue", 7), ("inline", 8)]
    for done in ({"status": "at_clerk", "clerk": "person"}, {"status": "sent", "clerk": "npc", "released": True}):
        assert npc.react(None, "docflow.forward_to_clerk", {"outgoing_id": 7, "deferred": True}, done) is None
    assert len(calls) == 2


def test_a_placeholder_in_the_colleagues_file_is_checked_with_its_line():
    """The reply's files are rendered with the candidate's values, so the validator checks them."""
    text = _drill_text().replace("      - name: Tong-hop-giai-ngan-von-dau-tu-cong-T4.txt",
                                 "      - name: Tong-hop-{khong_co}.txt", 1)
    _sc, problems = validate_text(text, "de.yaml")
    assert len(problems) == 1
    assert str(problems[0]).startswith(f"de.yaml:{_line(text, 'Tong-hop-{khong_co}')}: ")
    assert "khong_co" in str(problems[0])
