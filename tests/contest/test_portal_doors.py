"""Issue 7, acceptance 4: after the deadline every door refuses changes with a clear
message: the portal (theory answer), the webmail (send), SMTP (an error code and the
Vietnamese text, without diacritics as SMTP lines are ASCII) and IMAP (APPEND and STORE
answer NO with the message). Reading stays possible. An examiner's extension reopens them."""
from __future__ import annotations

import imaplib
import smtplib
from email.message import EmailMessage

import pytest

from mailserver.imap.server import IMAPController
from mailserver.smtp import SubmissionController
from sandbox.kernel.clock import FixedClock
from sandbox.contest import examiner
from sandbox.contest import session as exam
from tests.conftest import free_port

from .portal_factory import AT, make_portal_world
from .test_portal import Seat, text

CLOSED = "Đã hết thời gian làm bài: bài làm đã được khoá, không thể thay đổi nữa."
CLOSED_ASCII = "Da het thoi gian lam bai: bai lam da duoc khoa, khong the thay doi nua."


@pytest.fixture
def doors(sqlite_runtime):
    from sandbox.web import create_app
    rt = sqlite_runtime
    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    w = make_portal_world(rt, n=1, questions=5, scenario="thi-2024-de-1")
    smtp = SubmissionController(rt, "127.0.0.1", free_port())
    smtp.start()
    imap = IMAPController(rt, "127.0.0.1", free_port())
    imap.start()
    yield rt, w, create_app(rt), smtp, imap
    imap.stop()
    smtp.stop()


def _message(sender: str, to: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content("Nội dung thư.\n")
    return msg.as_bytes()


def test_after_the_deadline_every_door_refuses_changes(doors):
    rt, w, app, smtp_ctl, imap_ctl = doors
    me = w.builds["TS001"].candidate
    login = f"{w.builds['TS001'].name}/{me.address}"
    seat = Seat(app)
    seat.login("TS001", w.passwords["TS001"])
    seat.post("/thi/bat-dau")
    seat.get("/thi/ly-thuyet")
    # opening the practical part signs the browser in as the candidate's person
    resp = seat.get("/thi/thuc-hanh/mo/mail")
    assert resp.headers["Location"].endswith("/mail/")
    assert me.address in text(seat.get("/mail/"))

    # before the deadline the doors work
    with smtplib.SMTP("127.0.0.1", smtp_ctl.port) as c:
        c.login(login, me.password)
        c.sendmail(me.address, [me.address], _message(me.address, me.address, "Trước giờ"))

    rt.clock.advance(minutes=60)        # the deadline

    # portal: the autosave and the no-JavaScript save
    q = exam.state(rt, w.candidates["TS001"])
    assert not q.open
    from sandbox.contest import theory
    qid = theory.review(rt, w.candidates["TS001"]).questions[0].question_id
    resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": qid, "chosen": [0]},
                            headers={"X-CSRFToken": seat.token})
    assert resp.status_code == 403 and resp.get_json()["error"] == CLOSED
    # webmail: sending is refused with the message shown on the page it came from
    page = text(seat.get("/mail/compose"))
    resp = seat.post("/mail/compose", {"to": me.address, "subject": "Sau giờ", "body": "x", "send": "1"},
                     headers={"Referer": "/mail/compose"})
    assert resp.status_code == 302
    assert CLOSED in text(seat.get(resp.headers["Location"]))
    assert "Đã gửi thư." not in page
    # SMTP: a permanent error code with the message
    with smtplib.SMTP("127.0.0.1", smtp_ctl.port) as c:
        c.login(login, me.password)
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail(me.address, [me.address], _message(me.address, me.address, "Sau giờ"))
        assert e.value.smtp_code == 550
        assert CLOSED_ASCII in e.value.smtp_error.decode()
        c.noop()                         # the session survives the refusal
    # IMAP: reading works, changes answer NO with the message
    im = imaplib.IMAP4("127.0.0.1", imap_ctl.port)
    try:
        assert im.login(login, me.password)[0] == "OK"
        typ, data = im.select("INBOX")
        assert typ == "OK" and int(data[0]) >= 1
        assert im.fetch("1", "(FLAGS)")[0] == "OK"
        typ, data = im.store("1", "+FLAGS", "(\\Flagged)")
        assert typ == "NO" and CLOSED_ASCII in data[0].decode()
        typ, data = im.append("INBOX", None, None, _message(me.address, me.address, "Sau giờ"))
        assert typ == "NO" and CLOSED_ASCII in data[0].decode()
        assert im.noop()[0] == "OK"
    finally:
        im.logout()

    # an examiner's extension (with a reason) reopens every door until the new deadline
    examiner.extend(rt, w.candidates["TS001"], 10, "Mất điện phòng thi 10 phút", actor="giamkhao:gk")
    with smtplib.SMTP("127.0.0.1", smtp_ctl.port) as c:
        c.login(login, me.password)
        c.sendmail(me.address, [me.address], _message(me.address, me.address, "Sau khi gia hạn"))
    resp = seat.client.post("/thi/ly-thuyet/tra-loi", json={"question": qid, "chosen": [0]},
                            headers={"X-CSRFToken": seat.token})
    assert resp.status_code == 200
