"""SMTP submission against our server on 127.0.0.1 with smtplib: auth, relay, bounces,
isolation between sandboxes, and bad input that must not disturb anything."""
from __future__ import annotations

import smtplib
import ssl
import threading

import pytest

from tests.factories import PASSWORD, make_message, make_world, minimal_pdf

from .helpers import chain_ok, counts, inbox


def connect(server, login=None, password=PASSWORD, tls=False) -> smtplib.SMTP:
    c = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    c.ehlo("test.local")
    if tls:
        c.starttls(context=ssl._create_unverified_context())
        c.ehlo("test.local")
    if login:
        c.login(login, password)
    return c


def test_authenticated_submission_with_attachment_reaches_inbox(world, smtp_server, runtime):
    raw = make_message("Nguyễn Văn An <lanhdao@cantho.gov.vn>", ["truongphong@cantho.gov.vn"],
                       subject="Công văn số 12 về chuyển đổi số", cc=["vanthu@cantho.gov.vn"],
                       attachments=[("Công văn số 12.pdf", "application/pdf", minimal_pdf())])
    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        refused = c.sendmail("lanhdao@cantho.gov.vn", ["truongphong@cantho.gov.vn", "vanthu@cantho.gov.vn"], raw)
    assert refused == {}
    for who in ("truongphong", "vanthu"):
        [(subject, sender, flags, stored)] = inbox(runtime, world[who])
        assert subject == "Công văn số 12 về chuyển đổi số" and sender == "lanhdao@cantho.gov.vn"
        assert stored.endswith(raw)
        assert b"Received: from" in stored
    assert counts(runtime, world["lanhdao"])["Sent"] == 0  # SMTP clients file their own copy
    assert chain_ok(runtime, world.sandbox_id)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_mechanisms_and_starttls(world, smtp_server, runtime, mechanism):
    c = connect(smtp_server, tls=True)
    assert c.has_extn("auth")
    c.user, c.password = "lanhdao@cantho.gov.vn", PASSWORD
    code, _ = c.auth(mechanism, getattr(c, f"auth_{mechanism.lower()}"), initial_response_ok=True)
    assert code == 235
    c.sendmail("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"]))
    c.quit()
    assert len(inbox(runtime, world["vanthu"])) == 1


def test_unauthenticated_submission_is_refused(world, smtp_server, runtime):
    with connect(smtp_server) as c:
        code, msg = c.mail("lanhdao@cantho.gov.vn")
        assert code == 530
    with pytest.raises(smtplib.SMTPAuthenticationError):
        connect(smtp_server, "lanhdao@cantho.gov.vn", password="sai-mat-khau")
    assert counts(runtime, world["vanthu"])["INBOX"] == 0


def test_relay_and_sender_spoofing_are_refused(world, smtp_server, runtime):
    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        c.mail("lanhdao@cantho.gov.vn")
        code, msg = c.rcpt("someone@gmail.com")
        assert code == 554 and b"Relay access denied" in msg
        c.rset()
        code, msg = c.mail("vanthu@cantho.gov.vn")
        assert code == 553 and b"not owned" in msg


def test_unknown_recipient_in_world_domain_bounces_to_sender(world, smtp_server, runtime):
    raw = make_message("lanhdao@cantho.gov.vn", ["truongphng@cantho.gov.vn", "vanthu@cantho.gov.vn"], subject="Mời họp")
    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        assert c.sendmail("lanhdao@cantho.gov.vn", ["truongphng@cantho.gov.vn", "vanthu@cantho.gov.vn"], raw) == {}
    assert len(inbox(runtime, world["vanthu"])) == 1
    [(subject, sender, _, dsn)] = inbox(runtime, world["lanhdao"])
    assert subject == "Không gửi được thư: Mời họp"
    assert sender.startswith("mailer-daemon@")
    assert b"multipart/report" in dsn and b"Final-Recipient: rfc822; truongphng@cantho.gov.vn" in dsn
    assert b"Status: 5.1.1" in dsn


def test_same_address_in_two_sandboxes_are_two_worlds(runtime, smtp_server):
    a = make_world(runtime, "ts001", password="mk-cua-A")
    b = make_world(runtime, "ts002", password="mk-cua-B")
    with connect(smtp_server, "lanhdao@cantho.gov.vn", password="mk-cua-B") as c:
        c.sendmail("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject="Thế giới B"))
    with connect(smtp_server, "ts001/lanhdao@cantho.gov.vn", password="mk-cua-A") as c:
        c.sendmail("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject="Thế giới A"))
    assert [m[0] for m in inbox(runtime, b["vanthu"])] == ["Thế giới B"]
    assert [m[0] for m in inbox(runtime, a["vanthu"])] == ["Thế giới A"]
    with pytest.raises(smtplib.SMTPAuthenticationError):  # A's password does not open B's world by name
        connect(smtp_server, "ts002/lanhdao@cantho.gov.vn", password="mk-cua-A")


def test_address_existing_only_in_another_sandbox_bounces(runtime, smtp_server):
    a = make_world(runtime, "ts001")
    b = make_world(runtime, "ts002", people=[("khac", "nguoikhac@cantho.gov.vn", "Người khác")], password="khac")
    with connect(smtp_server, "ts001/lanhdao@cantho.gov.vn") as c:
        c.sendmail("lanhdao@cantho.gov.vn", ["nguoikhac@cantho.gov.vn"],
                   make_message("lanhdao@cantho.gov.vn", ["nguoikhac@cantho.gov.vn"]))
    assert inbox(runtime, b["khac"]) == []
    assert inbox(runtime, a["lanhdao"])[0][0].startswith("Không gửi được thư")


def test_bad_input_gets_clear_answers_and_changes_nothing(world, smtp_server, runtime):
    good = make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject="Trước")
    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        c.sendmail("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], good)
    before = counts(runtime, world["vanthu"]), inbox(runtime, world["vanthu"])

    # A second client keeps a session open through all of it and must still be served.
    other = connect(smtp_server, "truongphong@cantho.gov.vn")

    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        # 0-byte message
        c.mail("lanhdao@cantho.gov.vn"); c.rcpt("vanthu@cantho.gov.vn")
        code, msg = c.data(b"")
        assert code == 554 and b"Empty message" in msg
        # oversized message
        c.rset(); c.mail("lanhdao@cantho.gov.vn"); c.rcpt("vanthu@cantho.gov.vn")
        big = b"Subject: lon\r\n\r\n" + (b"x" * 998 + b"\r\n") * (runtime.settings.max_message_size // 1000 + 10)
        code, msg = c.data(big)
        assert code == 552
    assert (counts(runtime, world["vanthu"]), inbox(runtime, world["vanthu"])) == before

    # A truncated MIME message and a header with invalid bytes are accepted as a real server
    # would (stored as they came), and show up readable.
    truncated = (b"From: lanhdao@cantho.gov.vn\r\nTo: vanthu@cantho.gov.vn\r\nSubject: Cat cut\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
                 b"Content-Type: text/plain\r\n\r\nphan dau\r\n--B\r\nContent-Type: application/pdf\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0x")
    bad_header = b"From: lanhdao@cantho.gov.vn\r\nTo: vanthu@cantho.gov.vn\r\nSubject: Ti\xeau \xff\xfe\r\n\r\nthan\r\n"
    with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
        for raw in (truncated, bad_header):
            c.mail("lanhdao@cantho.gov.vn"); c.rcpt("vanthu@cantho.gov.vn")
            code, _ = c.data(raw)
            assert code == 250
    subjects = [m[0] for m in inbox(runtime, world["vanthu"])]
    assert subjects[:1] == ["Trước"] and subjects[1] == "Cat cut" and len(subjects) == 3

    other.sendmail("truongphong@cantho.gov.vn", ["vanthu@cantho.gov.vn"], make_message("truongphong@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject="Vẫn chạy"))
    other.quit()
    assert inbox(runtime, world["vanthu"])[-1][0] == "Vẫn chạy"
    assert chain_ok(runtime, world.sandbox_id)


def test_garbage_commands_do_not_break_the_server(world, smtp_server, runtime):
    import socket
    s = socket.create_connection(("127.0.0.1", smtp_server.port), timeout=5)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"\xff\xfe\x00garbage\r\nAUTH PLAIN !!!notbase64\r\n" + b"A" * 5000 + b"\r\nQUIT\r\n")
    lines = f.read()
    s.close()
    assert b"221" in lines and b"Traceback" not in lines
    results = []

    def send(i):
        with connect(smtp_server, "lanhdao@cantho.gov.vn") as c:
            c.sendmail("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject=f"Song song {i}"))
            results.append(i)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == list(range(8))
    assert len(inbox(runtime, world["vanthu"])) == 8


def test_login_is_rate_limited(world, smtp_server):
    for _ in range(10):
        with pytest.raises(smtplib.SMTPAuthenticationError):
            connect(smtp_server, "lanhdao@cantho.gov.vn", password="sai")
    with pytest.raises(smtplib.SMTPException) as e:  # the eleventh wrong password is told to wait
        connect(smtp_server, "lanhdao@cantho.gov.vn", password="sai")
    assert b"Too many failed logins" in str(e.value).encode() or "454" in str(e.value)
    # the right password is never refused for failures (issue 16: a neighbour cannot lock anyone out)
    connect(smtp_server, "lanhdao@cantho.gov.vn").quit()
