"""A small docflow world built through the real actions, with real test PKI and tokens:

* ``UBND``: Ủy ban nhân dân quận Ninh Kiều (Cần Thơ), units VX and VP; the chairman (leader,
  signer), a vice-chairman, the head of VX (unit leader), a VX specialist and the clerk;
* ``STTTT``: Sở Thông tin và Truyền thông, another in-world organisation with its clerk;
* an outside mailbox ``phongtiepnhan@soxaydung.cantho.gov.vn`` (e-mail recipient).

The leader's and the specialist's personal certificates sit on tokens with PINs; each
organisation certificate sits on its clerk's token (automatic clerk: the PIN is hers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from docflow import api
from mailserver import api as mail_api
from sandbox.kernel.sandboxes import get_or_create_sandbox
from signing.api import TestPKI, pki_for, provision

LEADER_PIN = "123456"
SPECIALIST_PIN = "246810"
CLERK_PIN = "135790"
PASSWORD = "MatKhau@123"
OUTSIDE = "phongtiepnhan@soxaydung.cantho.gov.vn"

@dataclass
class DocWorld:
    rt: object
    sandbox_id: int
    pki: TestPKI
    org: int
    other_org: int
    units: dict[str, int]
    people: dict[str, str]            # short name -> address
    person_ids: dict[str, int]
    tokens: dict[str, int]
    bundles: dict[str, object] = field(default_factory=dict)

    def a(self, key: str) -> str:
        return self.people[key]


PEOPLE = [
    # key, address, name, title, role, unit, leads
    ("leader", "chutich@ninhkieu.cantho.gov.vn", "Nguyễn Văn An", "Chủ tịch", "lanh_dao", None, "org"),
    ("vice", "phochutich@ninhkieu.cantho.gov.vn", "Trần Thị Bình", "Phó Chủ tịch", "lanh_dao", None, "org"),
    ("head", "truongphong.vx@ninhkieu.cantho.gov.vn", "Trần Minh Khoa", "Trưởng phòng Văn hóa - Xã hội",
     "lanh_dao", "VX", "unit"),
    ("specialist", "chuyenvien.vx@ninhkieu.cantho.gov.vn", "Phạm Thị Hoa", "Chuyên viên", "chuyen_vien", "VX",
     "none"),
    ("staff_vp", "chuyenvien.vp@ninhkieu.cantho.gov.vn", "Võ Văn Tài", "Chuyên viên", "chuyen_vien", "VP", "none"),
    ("clerk", "vanthu@ninhkieu.cantho.gov.vn", "Lê Thị Thư", "Văn thư", "van_thu", None, "none"),
]
ORG_NAME = "Ủy ban nhân dân quận Ninh Kiều"
ORG_MAIL = "ubnd@ninhkieu.cantho.gov.vn"
OTHER_NAME = "Sở Thông tin và Truyền thông"
OTHER_MAIL = "stttt@cantho.gov.vn"
OTHER_CLERK = "vanthu@stttt.cantho.gov.vn"


def make_docworld(rt, name: str = "ts001", *, clerk_mode: str = "npc") -> DocWorld:
    """The world in sandbox ``name``; certificates from the installation's PKI."""
    sb = get_or_create_sandbox(rt.db, rt.clock, name)
    pki = pki_for(rt)
    for address, display in [(p[1], p[2]) for p in PEOPLE] + [(ORG_MAIL, ORG_NAME), (OTHER_MAIL, OTHER_NAME),
                                                            (OTHER_CLERK, "Văn thư Sở"), (OUTSIDE, "Phòng tiếp nhận")]:
        mail_api.add_account(rt.dispatcher, rt.secret, sb, address, PASSWORD, display)
    org = api.create_org(rt, sb, code="UBND", name=ORG_NAME, parent_name="", place="Cần Thơ", email=ORG_MAIL,
                         clerk_mode=clerk_mode)
    units = {"VX": api.create_unit(rt, sb, org, "VX", "Phòng Văn hóa - Xã hội"),
             "VP": api.create_unit(rt, sb, org, "VP", "Văn phòng HĐND và UBND")}
    people, ids = {}, {}
    for key, address, full, title, role, unit, leads in PEOPLE:
        ids[key] = api.create_person(rt, sb, org, address, full, role, title=title,
                                     unit_id=units[unit] if unit else None, leads=leads)
        people[key] = address
    other = api.create_org(rt, sb, code="STTTT", name=OTHER_NAME, place="Cần Thơ", email=OTHER_MAIL)
    ids["other_clerk"] = api.create_person(rt, sb, other, OTHER_CLERK, "Đỗ Thị Lan", "van_thu", title="Văn thư")
    people["other_clerk"] = OTHER_CLERK

    leader = pki.issue_personal("Nguyễn Văn An", title="Chủ tịch", organisation=ORG_NAME, email=people["leader"])
    spec = pki.issue_personal("Phạm Thị Hoa", title="Chuyên viên", organisation=ORG_NAME,
                              email=people["specialist"])
    org_cert = pki.issue_organisation(ORG_NAME, locality="Cần Thơ")
    other_cert = pki.issue_organisation(OTHER_NAME, locality="Cần Thơ")
    tokens = {
        "leader": provision(rt.dispatcher, sb, people["leader"], leader, LEADER_PIN, label="Token Nguyễn Văn An"),
        "specialist": provision(rt.dispatcher, sb, people["specialist"], spec, SPECIALIST_PIN,
                                label="Token Phạm Thị Hoa"),
        "org": api.setup_org_token(rt, sb, org, org_cert, CLERK_PIN, clerk_address=people["clerk"]),
        "other_org": api.setup_org_token(rt, sb, other, other_cert, CLERK_PIN, clerk_address=OTHER_CLERK),
    }
    return DocWorld(rt, sb, pki, org, other, units, people, ids, tokens,
                    {"leader": leader, "specialist": spec, "org": org_cert})


def a_draft(w: DocWorld, *, type_code: str = "CV", summary: str = "triển khai chuyển đổi số năm 2026",
            recipients: list | None = None, submit: bool = True, attachments=None) -> int:
    if recipients is None:
        recipients = [{"kind": "unit", "id": w.units["VP"]}, {"kind": "org", "id": w.other_org},
                      {"kind": "email", "address": OUTSIDE, "label": "Sở Xây dựng"}]
    doc = api.create_draft(w.rt, w.sandbox_id, w.a("specialist"), type_code=type_code, summary=summary,
                           signer_id=w.person_ids["leader"], signer_title="CHỦ TỊCH",
                           body=["Thực hiện Kế hoạch chuyển đổi số của thành phố năm 2026.",
                                 "Ủy ban nhân dân quận đề nghị các cơ quan phối hợp triển khai."],
                           addressees=["Sở Thông tin và Truyền thông"], recipients=recipients,
                           attachments=attachments)
    if submit:
        api.submit(w.rt, w.sandbox_id, w.a("specialist"), doc)
    return doc


def an_incoming(w: DocWorld, summary: str = "V/v báo cáo kết quả cải cách hành chính quý IV") -> int:
    from sandbox.demo.world import minimal_pdf
    return api.register_incoming(w.rt, w.sandbox_id, w.org, sender_name="Sở Nội vụ thành phố Cần Thơ",
                                 summary=summary, original_symbol="125/SNV-CCHC", original_date="2024-05-30",
                                 type_code="CV", urgency="khan", pdf=minimal_pdf("Cong van 125"))["incoming_id"]


def snapshot(rt, sandbox_id: int) -> dict:
    """Every docflow row of a sandbox, the signing tokens' counters and the log position:
    equal before and after a refused step means the refusal changed nothing."""
    from sqlalchemy import select

    from docflow import models as m
    from sandbox.kernel.models import Sandbox

    out = {}
    with rt.db.read() as s:
        for model in (m.Organisation, m.Unit, m.Person, m.Register, m.RegisterEntry, m.IncomingDoc, m.Assignment,
                      m.OutgoingDoc, m.DraftVersion, m.Comment, m.DocEvent):
            rows = s.scalars(select(model).where(model.sandbox_id == sandbox_id).order_by(model.id))
            out[model.__tablename__] = [{c.name: getattr(r, c.name) for c in model.__table__.columns} for r in rows]
        sb = s.get(Sandbox, sandbox_id)
        out["log"] = (sb.log_seq, sb.log_head)
    return out


def forward_to_clerk(rt, sandbox_id: int, actor: str, outgoing_id: int, note: str = "") -> dict:
    """``api.forward_to_clerk``, then the automatic clerk's job run at once (what the worker of
    ``sandbox serve`` does within seconds): the forward's result with her outcome merged in
    (``released`` and ``symbol``, or ``refusal``), as one action gave both before issue 14."""
    from sandbox.kernel import jobs

    res = api.forward_to_clerk(rt, sandbox_id, actor, outgoing_id, note)
    if not res.pop("queued", False):
        return res
    ran = [r for r in jobs.run_pending(rt, sandbox_id=sandbox_id) if r.kind == api.AUTO_CLERK_JOB]
    assert ran and ran[-1].status == "done", ran
    return {**res, **(ran[-1].outcome or {})}
