"""Every shipped full exam set: the golden path through the public APIs scores full marks, an
untouched sandbox scores 0, and each seeded mistake loses exactly its criterion's points
with a message that names it."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from docflow import api as docflow_api
from grader.engine import grade
from grader.state import SandboxState
from mailserver import api as mail_api
from sandbox.clock import FixedClock
from sandbox.errors import SandboxError
from scenarios.build import build
from scenarios.library import load
from signing import api as signing_api

START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


class Candidate:
    """Does an exam set's tasks through the public APIs, as the web pages and SMTP would."""

    def __init__(self, runtime, loaded, seed: int, name: str):
        if not isinstance(runtime.clock, FixedClock):  # the exam happens at START, in-world
            runtime.clock = runtime.dispatcher.clock = FixedClock(START)
        self.rt, self.loaded = runtime, loaded
        self.res = build(runtime, loaded, seed, name, start=START)
        self.sid = self.res.sandbox_id
        self.v = self.res.values
        self.me = self.res.candidate.address
        with runtime.db.read() as s:
            self.inst_anchors = __import__("scenarios.build", fromlist=["instance_of"]).instance_of(
                s, self.sid).anchors
            self.account = mail_api.account_by_address(s, self.sid, self.me)

    def person(self, pid: str):
        return next(p for p in self.loaded.scenario.world.people if p.id == pid)

    # -- mail --
    def inbox_attachment(self, seed_mail: str, name: str) -> bytes:
        mid = self.inst_anchors["mail"][seed_mail]["message_id"]
        with mail_api.open_view(self.rt.db, self.account) as view:
            items, _ = view.items(view.special(None), limit=100)
            for item, data in items:
                if data.message_id == mid:
                    raw = view.raw(data, self.rt.blobs)
                    from mailserver import mime
                    for att in mime.body_parts(raw, data.structure)["attachments"]:
                        if att["filename"] == name:
                            return mime.part_payload(raw, data.structure, att["part"])
        raise AssertionError(f"{name} not in {seed_mail}")

    def send(self, to, subject, body, cc=(), attachments=(), extra_rcpts=()):
        msg = EmailMessage(policy=SMTP)
        msg["From"] = self.me
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg.set_content(body)
        for name, data in attachments:
            msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        return mail_api.submit(self.rt.dispatcher, self.rt.blobs, self.account, msg.as_bytes(),
                               list(to) + list(cc) + list(extra_rcpts), via="webmail")

    # -- documents --
    def incoming_id(self, seed_id: str) -> int:
        return self.inst_anchors["incoming"][seed_id]["incoming_id"]

    def outgoing_id(self, seed_id: str) -> int:
        return self.inst_anchors["drafts"][seed_id]["outgoing_id"]

    def unit_id(self, seed_id: str) -> int:
        return self.inst_anchors["units"][seed_id]

    def token(self, owner_pid: str) -> int:
        owner = self.person(owner_pid).email.lower()
        with self.rt.db.read() as s:
            return next(t.id for t in signing_api.certificates_for(s, self.sid, self.me) if t.owner == owner)

    def grade(self) -> dict:
        return grade(SandboxState(self.rt, self.sid), self.loaded.scenario)


# --- thi-2022-de-1 ---------------------------------------------------------------------------
def _2022_mail(c: Candidate, *, cc=True, cc_in_to=False, attach=True, typo=False):
    v = c.v
    to = [v["recipient"]["email"]]
    chanh = c.person("chanhvp").email
    ccs = [chanh] if cc and not cc_in_to else []
    if cc_in_to:
        to.append(chanh)
    atts = [(v["attachment"], c.inbox_attachment("chi_dao", v["attachment"]))] if attach else []
    c.send(to, v["subject"]["text"], "Đề nghị đồng chí chỉ đạo tổng hợp danh sách công chức dự thi.\n",
           cc=ccs, attachments=atts, extra_rcpts=["sonvt.cchc@sonoivu.cantho.gov.vn"] if typo else ())


def _2022_route(c: Candidate, *, two_leads=False, deadline_shift=0):
    v = c.v
    lead, support = v["routing"]["lead"], v["routing"]["support"]
    deadline = v["deadline"] + dt.timedelta(days=deadline_shift)
    rows = [{"unit_id": c.unit_id(lead), "role": "xlc", "deadline": deadline},
            {"unit_id": c.unit_id(support), "role": "ph", "deadline": deadline},
            {"unit_id": c.unit_id("vp"), "role": "db"}]
    if two_leads:
        # The software refuses a second lead; the candidate then gives the lead to the wrong unit.
        spare = ({"tcbc", "cchc", "ccvc"} - {lead, support}).pop()
        with pytest.raises(SandboxError) as refused:
            docflow_api.direct(c.rt, c.sid, c.me, c.incoming_id("kh98"), "Giao các phòng.",
                               rows + [{"unit_id": c.unit_id(spare), "role": "xlc", "deadline": deadline}])
        assert "xử lý chính" in refused.value.message_vi
        rows[0]["unit_id"] = c.unit_id(spare)
    docflow_api.direct(c.rt, c.sid, c.me, c.incoming_id("kh98"), "Giao các phòng triển khai theo Kế hoạch.", rows)


def _2022_sign(c: Candidate, *, cert="candidate", forward=True):
    oid = c.outgoing_id("cv_cu_thi")
    pin = c.person(cert).pin
    docflow_api.sign_as_leader(c.rt, c.sid, c.me, oid, c.token(cert), pin)
    if forward:
        docflow_api.forward_to_clerk(c.rt, c.sid, c.me, oid)


def _2022_status(c: Candidate):
    c.send([c.person("chanhvp").email], "Tình hình xử lý văn bản 1520/UBND-KT",
           "Phòng Công chức - Viên chức đang quá hạn xử lý văn bản này.\n")


def golden_2022(c: Candidate, **mistakes):
    _2022_mail(c, **{k: v for k, v in mistakes.items() if k in ("cc", "cc_in_to", "attach", "typo")})
    _2022_route(c, **{k: v for k, v in mistakes.items() if k in ("two_leads", "deadline_shift")})
    _2022_sign(c, **{k: v for k, v in mistakes.items() if k in ("cert", "forward")})
    _2022_status(c)


EXAMS = {"thi-2022-de-1": golden_2022}


@pytest.fixture(scope="module")
def loaded_sets():
    return {sid: load(sid) for sid in EXAMS}


@pytest.mark.parametrize("exam", sorted(EXAMS))
def test_untouched_scores_zero_golden_path_full_marks(runtime, loaded_sets, exam):
    loaded = loaded_sets[exam]
    idle = Candidate(runtime, loaded, 11, "idle")
    assert idle.grade()["total"] == 0
    for seed in (1, 2):  # two seeds: different task values, both reach full marks
        c = Candidate(runtime, loaded, seed, f"gold{seed}")
        EXAMS[exam](c)
        report = c.grade()
        lost = [(r["id"], r["message"], r.get("detail")) for r in report["criteria"] if r["verdict"] != "pass"]
        assert report["total"] == loaded.scenario.points, lost


MISTAKES_2022 = [
    ("specialist_certificate", {"cert": "binh"}, ["S1"], "Trần Thị Bình"),
    ("no_second_layer", {"forward": False}, ["S3"], "chưa được chuyển văn thư"),
    ("cc_missing", {"cc": False}, ["M2"], "Chưa đồng gửi"),
    ("cc_put_in_to", {"cc_in_to": True}, ["M2"], "ô Đến (To)"),
    ("missing_attachment", {"attach": False}, ["M5"], "Chưa đính kèm"),
    ("two_leads_then_wrong_lead", {"two_leads": True}, ["D2"], "Chưa giao đúng một đơn vị xử lý chính"),
    ("wrong_deadline", {"deadline_shift": 1}, ["D5"], "Hạn xử lý của đơn vị chủ trì chưa đúng"),
    ("mail_to_a_bounce", {"typo": True}, ["M6"], "người ngoài yêu cầu"),
]


@pytest.mark.parametrize("name,mistake,lost_ids,words", MISTAKES_2022, ids=[m[0] for m in MISTAKES_2022])
def test_2022_each_mistake_loses_exactly_its_criterion(sqlite_runtime, loaded_sets, name, mistake, lost_ids, words):
    loaded = loaded_sets["thi-2022-de-1"]
    c = Candidate(sqlite_runtime, loaded, 5, name)
    golden_2022(c, **mistake)
    report = c.grade()
    failed = [r for r in report["criteria"] if r["verdict"] != "pass"]
    assert [r["id"] for r in failed] == lost_ids, [(r["id"], r["message"], r.get("detail")) for r in failed]
    lost = sum(r["points"] for r in failed)
    assert report["total"] == loaded.scenario.points - lost
    text = " ".join(f"{r['message']} {r.get('detail', '')}" for r in failed)
    assert words in text, text
