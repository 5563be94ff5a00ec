"""A candidate doing a scenario's tasks through the public APIs, as the web pages and SMTP
would (mail submission, directive, signing, forwarding to the clerk), then grading."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP

from docflow import api as docflow_api
from grader.engine import grade
from grader.state import SandboxState
from mailserver import api as mail_api
from mailserver import mime
from sandbox.kernel import jobs
from sandbox.kernel.clock import FixedClock
from scenarios.build import build, instance_of
from signing import api as signing_api

# The webmail's compose builds messages with this policy. Beware: Python's header folder can
# drop the space between two encoded words of a long Vietnamese subject ("hưởng ứng Ngày"
# comes back as "hưởng ứngNgày"); the library's subjects are chosen to survive it (see
# test_subjects_survive_the_mail_round_trip).
POLICY = SMTP

START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


class Candidate:
    def __init__(self, runtime, loaded, seed: int, name: str):
        if not isinstance(runtime.clock, FixedClock):  # the exam happens at START, in-world
            runtime.clock = runtime.dispatcher.clock = FixedClock(START)
        self.rt, self.loaded = runtime, loaded
        self.res = build(runtime, loaded, seed, name, start=START)
        self.sid = self.res.sandbox_id
        self.v = self.res.values
        self.me = self.res.candidate.address
        with runtime.db.read() as s:
            self.inst_anchors = instance_of(s, self.sid).anchors
            self.account = mail_api.account_by_address(s, self.sid, self.me)

    def person(self, pid: str):
        return next(p for p in self.loaded.scenario.world.people if p.id == pid)

    def email(self, pid: str) -> str:
        return self.person(pid).email.lower()

    # -- mail --
    def seed(self, seed_mail: str) -> dict:
        return self.inst_anchors["mail"][seed_mail]

    def _inbox_item(self, seed_mail: str):
        mid = self.seed(seed_mail)["message_id"]
        with mail_api.open_view(self.rt.db, self.account) as view:
            items, _ = view.items(view.special(None), limit=100)
            for item, data in items:
                if data.message_id == mid:
                    return item.id, view.raw(data, self.rt.blobs), data.structure
        raise AssertionError(f"{seed_mail} not in the inbox")

    def inbox_attachment(self, seed_mail: str, name: str) -> bytes:
        _id, raw, structure = self._inbox_item(seed_mail)
        for att in mime.body_parts(raw, structure)["attachments"]:
            if att["filename"] == name:
                return mime.part_payload(raw, structure, att["part"])
        raise AssertionError(f"{name} not in {seed_mail}")

    def click_link(self, seed_mail: str, url: str = "http://example.invalid/") -> None:
        """What the webmail records when the candidate clicks a link of a message."""
        item_id, _raw, _s = self._inbox_item(seed_mail)
        self.rt.dispatcher.dispatch(self.sid, self.me, "mail.opened", {
            "account_id": self.account.id, "item_id": item_id, "kind": "link", "target": url})

    def send(self, to, subject, body, cc=(), bcc=(), attachments=(), extra_rcpts=(), reply_to_seed=None):
        msg = EmailMessage(policy=POLICY)
        msg["From"] = self.me
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        if reply_to_seed:
            mid = self.seed(reply_to_seed)["message_id"]
            msg["In-Reply-To"] = mid
            msg["References"] = mid
        msg.set_content(body)
        for name, data in attachments:
            msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        return mail_api.submit(self.rt.dispatcher, self.rt.blobs, self.account, msg.as_bytes(),
                               list(to) + list(cc) + list(bcc) + list(extra_rcpts), via="webmail")

    def attachment_of(self, seed_mail: str, name: str) -> tuple[str, bytes]:
        return name, self.inbox_attachment(seed_mail, name)

    # -- documents --
    def incoming_id(self, seed_id: str) -> int:
        return self.inst_anchors["incoming"][seed_id]["incoming_id"]

    def outgoing_id(self, seed_id: str) -> int:
        return self.inst_anchors["drafts"][seed_id]["outgoing_id"]

    def unit_id(self, seed_id: str) -> int:
        return self.inst_anchors["units"][seed_id]

    def token(self, owner_pid: str) -> int:
        owner = self.email(owner_pid)
        with self.rt.db.read() as s:
            return next(t.id for t in signing_api.certificates_for(s, self.sid, self.me) if t.owner == owner)

    def direct(self, doc: str, directive: str, rows: list[tuple[str, str, dt.date | None]]):
        """rows: (unit id of the world, role, deadline or None)."""
        assignments = [{"unit_id": self.unit_id(u), "role": r, **({"deadline": d} if d else {})}
                       for u, r, d in rows]
        return docflow_api.direct(self.rt, self.sid, self.me, self.incoming_id(doc), directive, assignments)

    def sign(self, draft: str, cert: str | None = None, forward: bool = True):
        oid = self.outgoing_id(draft)
        cert = cert or self.loaded.scenario.world.candidate
        docflow_api.sign_as_leader(self.rt, self.sid, self.me, oid, self.token(cert), self.person(cert).pin)
        if forward:
            docflow_api.forward_to_clerk(self.rt, self.sid, self.me, oid)
            jobs.drain(self.rt, sandbox_id=self.sid)  # the automatic clerk's release (the worker's job in serve)

    def grade(self) -> dict:
        return grade(SandboxState(self.rt, self.sid), self.loaded.scenario)


def lost(report: dict) -> list[tuple]:
    return [(r["id"], r["message"], r.get("detail")) for r in report["criteria"] if r["verdict"] != "pass"]
