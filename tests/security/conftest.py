"""The attacked world, shared by the security tests of one module: the production app (built
as ``sandbox serve`` builds it), a provisioned contest of two candidates each with a practical
sandbox (A = TS001, B = TS002), organiser/examiner/trainer logins, a drill class with one
trainee, and objects made in sandbox B through the real pages (mail, a draft document, an
uploaded PDF, an appeal) for the IDOR probes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from sandbox.kernel.clock import FixedClock
from tests.conftest import open_runtime
from tests.contest.conftest import ADMIN_PASSWORD
from tests.contest.portal_factory import AT, make_portal_world

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = "atk2024"


class Browser:
    """One browser (its own cookies and CSRF token) on one seat."""

    def __init__(self, app, address: str = "10.0.0.1"):
        self.client = app.test_client()
        self.address = address
        self.token: str | None = None

    def _env(self, kw):
        kw.setdefault("environ_base", {"REMOTE_ADDR": self.address})
        return kw

    def get(self, url, **kw):
        resp = self.client.get(url, **self._env(kw))
        if resp.mimetype == "text/html":
            m = CSRF_FIELD.search(resp.get_data(as_text=True))
            if m:
                self.token = m.group(1)
        return resp

    def request(self, method, url, **kw):
        return self.client.open(url, method=method, **self._env(kw))

    def post(self, url, data=None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **self._env(kw))

    def form_login(self, page: str, fields: dict) -> None:
        self.get(page)
        resp = self.post(page, fields)
        assert resp.status_code == 302, (page, resp.status_code, resp.get_data(as_text=True)[:500])
        self.token = None


@dataclass
class Attacked:
    app: object
    rt: object
    world: object
    sandbox_a: str
    sandbox_b: str
    trainee_login: object
    browsers: dict = field(default_factory=dict)
    b_objects: dict = field(default_factory=dict)   # argument name -> values that belong to sandbox B
    a_objects: dict = field(default_factory=dict)   # the same for sandbox A (the attacker's own)
    class_id: int = 0

    def browser(self, who: str) -> Browser:
        return self.browsers[who]


def candidate_browser(app, world, number: str, address: str) -> Browser:
    """A candidate logged in at the portal, the exam started, the mail tool opened (so the
    browser also carries the tools session of the candidate's person)."""
    b = Browser(app, address)
    b.form_login("/thi", {"number": number, "password": world.passwords[number]})
    b.get("/thi/bat-dau")
    b.post("/thi/bat-dau")
    assert b.get("/thi/thuc-hanh/mo/mail").status_code == 302
    b.get("/mail/compose")
    return b


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    from sandbox.contest.api import add_admin
    from sandbox.training import api as training
    from sandbox.web import create_app

    rt = open_runtime(tmp_path_factory.mktemp("security"))
    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    world = make_portal_world(rt, code=CODE, n=2, questions=5, scenario="thi-2024-de-1")
    for login, name, role in [("btc", "Nguyễn Văn Tổ Chức", "organiser"), ("gk", "Trần Thị Giám Khảo", "examiner"),
                              ("gv", "Lê Văn Giảng", "trainer")]:
        add_admin(rt, login, name, role, ADMIN_PASSWORD)
    info, _ = training.create_class(rt, "Lớp kiểm thử an ninh", ["luyen-gui-thu-cc-bcc"], code="ANNINH")
    joined = training.join(rt, "ANNINH", "Học Viên Một")
    app = create_app(rt)
    at = Attacked(app, rt, world, world.builds["TS001"].name, world.builds["TS002"].name, joined.logins[0])
    at.browsers["A"] = candidate_browser(app, world, "TS001", "10.0.0.1")
    at.browsers["B"] = candidate_browser(app, world, "TS002", "10.0.0.2")
    trainee = Browser(app, "10.0.1.1")
    trainee.form_login("/login", {"login": joined.logins[0].login, "password": joined.logins[0].password})
    trainee.get("/mail/compose")
    at.browsers["trainee"] = trainee
    for who, login in [("organiser", "btc"), ("examiner", "gk"), ("trainer", "gv")]:
        staff = Browser(app, "10.0.9.1")
        staff.form_login("/quan-tri/dang-nhap", {"login": login, "password": ADMIN_PASSWORD})
        staff.get("/quan-tri/luyen-tap" if login == "gv" else "/quan-tri/phuc-khao/")
        at.browsers[who] = staff
    at.browsers["anonymous"] = Browser(app, "10.0.2.1")
    at.browsers["anonymous"].get("/thi")
    for who, b in at.browsers.items():
        assert b.token, f"{who} has no CSRF token"
    make_objects(at, "A", "TS001")
    make_objects(at, "B", "TS002")
    at.class_id = info.id
    at.b_objects = objects_of(rt, at.sandbox_b, world.builds["TS002"].candidate.address)
    at.a_objects = objects_of(rt, at.sandbox_a, world.builds["TS001"].candidate.address)
    yield at
    rt.close()


def sandbox_id(rt, name: str) -> int:
    from sqlalchemy import select

    from sandbox.kernel.models import Sandbox

    with rt.db.read() as s:
        return s.scalar(select(Sandbox.id).where(Sandbox.name == name))


def objects_of(rt, name: str, address: str) -> dict[str, list]:
    """Values for the URL map's converters that belong to sandbox ``name`` (by argument name);
    the mail ones are those of the person ``address`` (the candidate)."""
    from sqlalchemy import select

    from docflow.models import IncomingDoc, OutgoingDoc
    from mailserver.models import MailItem, Mailbox
    from signing.models import SigningFile

    from mailserver.models import MailAccount

    sid = sandbox_id(rt, name)
    with rt.db.read() as s:
        account = s.scalar(select(MailAccount.id).where(MailAccount.sandbox_id == sid, MailAccount.address == address))
        def ids(col, where):  # the first rows (the scenario's) and the last (made by the test)
            first = list(s.scalars(select(col).where(where).order_by(col).limit(2)))
            last = list(s.scalars(select(col).where(where).order_by(col.desc()).limit(2)))
            return list(dict.fromkeys(first + last))
        return {
            "folder_id": ids(Mailbox.id, Mailbox.account_id == account),
            "item_id": ids(MailItem.id, MailItem.mailbox_id.in_(select(Mailbox.id).where(Mailbox.account_id == account))),
            "doc_id:den": ids(IncomingDoc.id, IncomingDoc.sandbox_id == sid),
            "doc_id:di": ids(OutgoingDoc.id, OutgoingDoc.sandbox_id == sid),
            "blob": ids(SigningFile.blob, SigningFile.sandbox_id == sid),
        }


def fingerprint(rt) -> dict[str, int]:
    """Row count of every table and the length of every sandbox's log: a refused request
    leaves it as it was."""
    from sqlalchemy import func, select

    from sandbox.runtime import register_models

    out = {}
    with rt.db.read() as s:
        for table in register_models().sorted_tables:
            out[table.name] = s.scalar(select(func.count()).select_from(table))
        from sandbox.kernel.models import Sandbox
        out["log_seq"] = s.scalar(select(func.coalesce(func.sum(Sandbox.log_seq), 0)))
    return out


def make_objects(at, who: str, number: str) -> None:
    """A candidate makes a folder, sends a mail to themself and takes the sample draft in the
    signing dialog, through the pages."""
    b = at.browser(who)
    me = at.world.builds[number].candidate.address
    b.get("/mail/folders")
    assert b.post("/mail/folders", {"name": f"Hồ sơ riêng {who}"}).status_code in (200, 302)
    b.get("/mail/compose")
    resp = b.post("/mail/compose", {"to": me, "subject": f"Thư riêng của {who}", "body": f"Chỉ {who} được đọc.", "send": "1"})
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:300]
    b.get("/ky-so/")
    assert b.post("/ky-so/du-thao-mau").status_code == 200
