"""Test factories: worlds built through the real actions, as the product builds them."""
from __future__ import annotations

import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from mailserver import api as mail_api
from sandbox.demo.world import minimal_pdf  # noqa: F401  (re-exported for tests)
from sandbox.runtime import Runtime
from sandbox.kernel.sandboxes import get_or_create_sandbox

PASSWORD = "MatKhau@123"
PEOPLE = [
    ("lanhdao", "lanhdao@cantho.gov.vn", "Nguyễn Văn An"),
    ("vanthu", "vanthu@cantho.gov.vn", "Lê Thị Thư"),
    ("truongphong", "truongphong@cantho.gov.vn", "Trần Minh Khoa"),
    ("chanhvp", "chanhvanphong@cantho.gov.vn", "Phạm Thị Hoa"),
]


class World(dict):
    """Keys are short names ("lanhdao"...) → AccountRef; ``sandbox_id`` and ``name`` attributes."""

    sandbox_id: int
    name: str


def make_world(rt: Runtime, name: str = "ts001", password: str = PASSWORD, people=PEOPLE) -> World:
    sandbox_id = get_or_create_sandbox(rt.db, rt.clock, name)
    world = World()
    world.sandbox_id, world.name = sandbox_id, name
    for key, address, display in people:
        account_id = mail_api.add_account(rt.dispatcher, rt.secret, sandbox_id, address, password, display)
        with rt.db.read() as s:
            world[key] = mail_api.account_ref(s, account_id)
    return world


def make_message(sender: str, to: list[str], subject: str = "Thư thử nghiệm", body: str = "Nội dung thư.\n",
                 cc: list[str] | None = None, attachments: list[tuple[str, str, bytes]] | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.datetime(2024, 6, 3, 8, 30, tzinfo=datetime.timezone.utc))
    msg["Message-ID"] = make_msgid(domain="cantho.gov.vn")
    msg.set_content(body)
    for filename, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()
