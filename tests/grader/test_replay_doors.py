"""A session done through the candidate's pages replays (the failure measured on main:
every browser session stopped at the first ``docflow.viewed``, whose ``doc_id`` the replay
could not translate, and left a ``~replayN`` sandbox behind).

No browser: the Flask test client goes through the same pages Chromium does, so every door
that dispatches is taken: opening an incoming document (``docflow.progress`` read,
``docflow.viewed``), the tracking page, a report view, reading mail (``mail.set_flags``), a
clicked link and a downloaded file (``mail.opened``), a draft saved then sent, a message
deleted and moved back, a folder, the directive form, the leader's signature with a wrong
PIN first (``signing.pin_failed``/``pin_ok``), the automatic clerk refusing the specialist's
certificate then releasing (internal delivery opened afterwards), and the signing dialog."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from docflow import api as docflow_api
from mailserver import api as mail_api
from mailserver import mime
from sandbox.kernel import actions, jobs
from sandbox.kernel.db import Base
from sandbox.kernel.models import Action, Sandbox
from sandbox.replay.api import kept_replays, replay
from scenarios.library import load
from tests.contest.conftest import ADMIN_PASSWORD, AdminClient
from tests.scenarios.harness import Candidate
from tests.scenarios.test_exam_sets import SETS
from tests.web.conftest import CSRF_FIELD

EXAM = "thi-2022-de-1"


@pytest.fixture
def checked_digests(monkeypatch):
    """After every action: the digest the dispatcher recorded (skipping the packages whose
    tables the action did not write) equals one computed from scratch."""
    apply = actions.Dispatcher.apply
    seen: list[str] = []

    def checked(self, sandbox_id, actor, name, args=None, **kw):
        applied = apply(self, sandbox_id, actor, name, args, **kw)
        with self.db.read() as s:
            assert actions.state_parts(s, sandbox_id) == applied.state_parts, name
        seen.append(name)
        return applied

    monkeypatch.setattr(actions.Dispatcher, "apply", checked)
    return seen


class Pages:
    """The candidate in the web app (a Flask test client, logged in)."""

    def __init__(self, rt, c: Candidate):
        from sandbox.web import create_app

        self.client = create_app(rt).test_client()
        token = CSRF_FIELD.search(self.client.get("/login").get_data(as_text=True)).group(1)
        resp = self.client.post("/login", data={"csrf_token": token, "login": c.me,
                                                "password": c.res.candidate.password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        self.token = CSRF_FIELD.search(self.client.get("/mail/folders").get_data(as_text=True)).group(1)

    def get(self, url: str, ok=(200,)):
        resp = self.client.get(url)
        assert resp.status_code in ok, (url, resp.status_code, resp.get_data(as_text=True)[:500])
        return resp

    def post(self, url: str, data: dict, ok=(200, 302)):
        resp = self.client.post(url, data={**data, "csrf_token": self.token})
        assert resp.status_code in ok, (url, resp.status_code, resp.get_data(as_text=True)[:800])
        return resp


def _inbox(rt, c: Candidate) -> list[tuple[int, str, str]]:
    with mail_api.open_view(rt.db, c.account) as view:
        items, _ = view.items(view.special(None), limit=100)
        return [(item.id, data.message_id, data.subject) for item, data in items]


def _browser_session(rt, c: Candidate) -> None:
    spec, v = SETS[EXAM], c.v
    web = Pages(rt, c)
    # --- mail: read the Director's message, click its link, download its attachment
    seed_id, raw, structure = c._inbox_item(spec.mail_seed)
    web.get("/mail/")
    web.get(f"/mail/message/{seed_id}")
    web.get(f"/mail/message/{seed_id}/link?u=http://example.invalid/huong-dan")
    part = next(a["part"] for a in mime.body_parts(raw, structure)["attachments"] if a["filename"] == v["attachment"])
    web.get(f"/mail/message/{seed_id}/part/{part}")
    # a draft saved, then sent from the draft (CC to oneself: the copy is then read)
    mail = {"to": v["recipient"]["email"], "cc": f"{c.email(spec.cc)}, {c.me}", "subject": v["subject"]["text"],
            "body": spec.body, "source_id": str(seed_id), "keep": part}
    saved = web.post("/mail/compose", {**mail, "save_draft": "1"})
    draft = int(re.search(r"draft=(\d+)", saved.headers["Location"]).group(1))
    web.post("/mail/compose", {**mail, "draft_id": str(draft), "source_id": str(draft)})
    own_copy = next(i for i, _mid, subject in _inbox(rt, c) if subject == v["subject"]["text"])
    web.get(f"/mail/message/{own_copy}")
    # delete it (to Trash), then move it back to the inbox; mark it unread; a folder
    web.post("/mail/items", {"item": str(own_copy), "op": "delete"})
    with mail_api.open_view(rt.db, c.account) as view:
        trash, inbox = view.special("\\Trash"), view.special(None)
        trashed = view.items(trash, limit=10)[0][0][0].id
        inbox_id = inbox.id
    web.post("/mail/items", {"item": str(trashed), "op": "move", "target": str(inbox_id)})
    back = next(i for i, _mid, subject in _inbox(rt, c) if subject == v["subject"]["text"])
    web.post("/mail/items", {"item": str(back), "op": "unread"})
    web.post("/mail/folders", {"name": "Cuộc thi"})

    # --- documents: the tracking page, the incoming document, the directive, a report view
    web.get("/van-ban/theo-doi")
    incoming = c.incoming_id(spec.incoming)
    web.get(f"/van-ban/den/{incoming}")
    lead, support = v["routing"]["lead"], v["routing"]["support"]
    deadline = v["deadline"].isoformat()
    web.post(f"/van-ban/den/{incoming}/chuyen-xu-ly", {
        "directive": "Giao các đơn vị triển khai, báo cáo đúng hạn.",
        f"role_u{c.unit_id(lead)}": "xlc", f"deadline_u{c.unit_id(lead)}": deadline,
        f"role_u{c.unit_id(support)}": "ph", f"deadline_u{c.unit_id(support)}": deadline,
        f"role_u{c.unit_id(spec.info_unit)}": "db"})
    web.get(f"/van-ban/den/{incoming}")
    docflow_api.record_view(rt, c.sid, c.me, "report")  # what a report page records

    # --- the draft: a wrong PIN, the specialist's certificate (the clerk refuses), then one's own
    draft_id = c.outgoing_id(spec.draft)
    own, other = c.token(c.loaded.scenario.world.candidate), c.token(spec.specialist)
    web.get(f"/van-ban/di/{draft_id}")
    web.post(f"/van-ban/di/{draft_id}/ky-so", {"token_id": str(own), "pin": "000000"}, ok=(400, 403))
    web.post(f"/van-ban/di/{draft_id}/ky-so", {"token_id": str(other), "pin": c.person(spec.specialist).pin})
    web.post(f"/van-ban/di/{draft_id}/chuyen-van-thu", {})
    jobs.run_pending(rt)  # the automatic clerk's job (the worker of `sandbox serve`)
    assert docflow_api.outgoing_doc(rt, c.sid, c.me, draft_id).clerk_refusal
    web.post(f"/van-ban/di/{draft_id}/ky-so", {"token_id": str(own), "pin": c.res.candidate.pin})
    web.post(f"/van-ban/di/{draft_id}/chuyen-van-thu", {"note": "Đề nghị phát hành."})
    jobs.run_pending(rt)
    released = docflow_api.outgoing_doc(rt, c.sid, c.me, draft_id)
    assert released.status in ("sent", "issued") and released.symbol
    # the internal copy the release delivered (a row made inside the clerk's action)
    delivered = [row.id for row in docflow_api.incoming_list(rt, c.sid, c.me, per_page=50).items
                 if row.original_symbol == released.symbol]
    assert delivered
    web.get(f"/van-ban/den/{delivered[0]}")
    # the unit's head opens it (what the page records: marked read) and reports progress
    head = next(p.email.lower() for p in c.loaded.scenario.world.people if p.unit == "cchc" and p.leads == "unit")
    assert docflow_api.mark_read(rt, c.sid, head, delivered[0])
    docflow_api.record_view(rt, c.sid, head, "incoming_doc", "in", delivered[0])

    # --- the signing dialog: the sample draft, a wrong PIN, then signed
    web.post("/ky-so/du-thao-mau", {})
    with rt.db.read() as s:
        from signing.models import SigningFile
        sample = s.scalars(select(SigningFile.blob).where(SigningFile.sandbox_id == c.sid,
                                                          SigningFile.kind == "upload")).all()[-1]
    web.post("/ky-so/ky", {"file": sample, "token_id": str(own), "pin": "111111"}, ok=(400, 403))
    web.post("/ky-so/ky", {"file": sample, "token_id": str(own), "pin": c.res.candidate.pin})

    # --- task 4 by mail
    c.send([c.email(spec.status_to)], "Tình hình xử lý văn bản", spec.status(v))


def test_a_browser_session_replays_and_leaves_no_copy(sqlite_runtime, checked_digests):
    rt = sqlite_runtime
    c = Candidate(rt, load(EXAM), 7, "ts007")
    _browser_session(rt, c)
    with rt.db.read() as s:
        log = list(s.scalars(select(Action).where(Action.sandbox_id == c.sid).order_by(Action.seq)))
    names = {e.name for e in log if e.actor != "system"}
    assert {"docflow.viewed", "docflow.progress", "docflow.direct", "docflow.leader_signed",
            "docflow.forward_to_clerk", "mail.set_flags", "mail.opened", "mail.save_draft", "mail.submit",
            "mail.delete", "mail.move", "mail.create_folder", "signing.pin_failed", "signing.pin_ok",
            "signing.file_added"} <= names, names
    clerk = next(p.email.lower() for p in c.loaded.scenario.world.people if p.role == "van_thu")
    assert [(e.name, e.actor, bool(e.result.get("released"))) for e in log if e.name == "docflow.auto_clerk"] == [
        ("docflow.auto_clerk", clerk, False), ("docflow.auto_clerk", clerk, True)]  # she refused, then released
    # every id in the log sits at a declared place (nothing left for a guess)
    assert [(e.seq, e.name, gap) for e in log for gap in actions.undeclared_ids(e.name, e.args, e.result)] == []
    assert all(e.state_digest for e in log)

    result = replay(rt, "ts007")
    assert result.first_mismatch is None, [(s.seq, s.name, s.detail) for s in result.steps if not s.ok]
    assert len(result.steps) == len(log) and {s.state for s in result.steps} == {"same"}
    assert result.report_same is True
    assert result.replay_report["total"] == c.grade()["total"] > 0
    # the copy is gone, every row of it, and the original is untouched
    with rt.db.read() as s:
        assert s.scalars(select(Sandbox.name).where(Sandbox.name.contains("~replay"))).all() == []
        for table in Base.metadata.sorted_tables:
            if "sandbox_id" in table.c:
                assert s.execute(select(table.c.sandbox_id).where(
                    table.c.sandbox_id == result.replay_sandbox_id)).first() is None, table.name
        assert [e.hash for e in s.scalars(select(Action).where(Action.sandbox_id == c.sid)
                                          .order_by(Action.seq))] == [e.hash for e in log]
        assert actions.verify_chain(s, c.sid) == (True, None)
    assert kept_replays(rt) == []
    assert len(checked_digests) >= len(log) * 2  # recorded and replayed steps were both checked


def test_the_examiner_pages_leave_nothing_behind(sqlite_runtime):
    """"Xem tại bước này" replays into a copy removed once the page is shown; "Mở các trang
    của thí sinh" keeps one read-only copy per step, reused, at most two per sandbox."""
    from sandbox.contest.api import add_admin
    from sandbox.web import create_app
    from sandbox.replay.web import BROWSING_COPIES

    rt = sqlite_runtime
    c = Candidate(rt, load(EXAM), 7, "ts007")
    docflow_api.record_view(rt, c.sid, c.me, "incoming_doc", "in", c.incoming_id("kh98"))
    c.sign("cv_cu_thi")
    add_admin(rt, "giamkhao1", "Nguyễn Thị Giám Khảo", "examiner", ADMIN_PASSWORD)
    client = AdminClient(create_app(rt), rt).login("giamkhao1")
    with rt.db.read() as s:
        steps = [a.seq for a in s.scalars(select(Action).where(Action.sandbox_id == c.sid, Action.actor == c.me)
                                          .order_by(Action.seq))]
    for seq in steps:
        page = client.get(f"/quan-tri/phat-lai/ts007/buoc/{seq}")
        assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert kept_replays(rt) == []  # each page's copy was removed once rendered
    for seq in (steps[-1], steps[-1], steps[0], steps[1]):
        resp = client.post(f"/quan-tri/phat-lai/ts007/buoc/{seq}/xem")
        assert resp.status_code == 302
    kept = kept_replays(rt, "ts007")
    assert len(kept) == BROWSING_COPIES and all(k.read_only for k in kept)
    assert sorted(k.steps for k in kept) == sorted([steps[0], steps[1]])
    # a step page reuses a kept browsing copy instead of replaying again
    before = [k.name for k in kept_replays(rt)]
    assert client.get(f"/quan-tri/phat-lai/ts007/buoc/{steps[0]}").status_code == 200
    assert [k.name for k in kept_replays(rt)] == before

