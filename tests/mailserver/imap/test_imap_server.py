"""Our IMAP server in-process: syntax, bad input, IDLE (same process and across processes),
the action log, and isolation between sandboxes."""
from __future__ import annotations

import imaplib
import socket
import threading
import time

import pytest
from sqlalchemy import select

from mailserver import api as mail_api
from mailserver.imap import utf7
from mailserver.imap.parser import ParseError, parse_command, parse_sequence_set
from mailserver.imap.server import IMAPController
from sandbox.kernel.models import Action
from tests.conftest import free_port, open_runtime
from tests.factories import PASSWORD, make_message, make_world


@pytest.fixture
def imap(runtime):
    ctl = IMAPController(runtime, "127.0.0.1", free_port())
    ctl.start()
    yield ctl
    ctl.stop()


def deliver(rt, world, subject, to="lanhdao"):
    raw = make_message(f"Lê Thị Thư <{world['vanthu'].address}>", [world[to].address], subject=subject)
    return mail_api.submit(rt.dispatcher, rt.blobs, world["vanthu"], raw, [world[to].address], via="smtp")


def login(imap, user="lanhdao@cantho.gov.vn", password=PASSWORD) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", imap.port)
    c.login(user, password)
    return c


def idle_through(c: imaplib.IMAP4, trigger, delay: float = 0.0) -> tuple[bytes, float]:
    """IDLE on INBOX, run ``trigger`` (after ``delay`` s, from another thread), and return the
    first line the server pushes and how long it took after the trigger; then DONE, LOGOUT."""
    c.select("INBOX")
    tag = c._new_tag()
    c.send(tag + b" IDLE\r\n")
    assert c.readline().startswith(b"+")
    t0 = time.monotonic()
    threading.Timer(delay, trigger).start()
    line = c.readline()
    waited = time.monotonic() - t0 - delay
    c.send(b"DONE\r\n")
    while not c.readline().startswith(tag):
        pass
    c.logout()
    return line, waited


class Raw:
    """A bare socket client, for what imaplib will not send."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        assert self.file.readline().startswith(b"* OK")

    def cmd(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        tag = data.split(b" ", 1)[0]
        lines = []
        while True:
            line = self.file.readline()
            assert line, "connection closed"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self):
        self.sock.close()


def test_parser_tokens_and_sets():
    tag, name, args = parse_command(b'a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)')
    assert (tag, name, args[0], args[1]) == ("a1", "UID", "FETCH", "1:*")
    assert args[2] == ["FLAGS", "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>"]
    assert parse_command(b'a2 LOGIN {5}\r\nhello "p\\"w"')[2] == [b"hello", b'p"w']
    assert parse_sequence_set("1:3,5,*:7", 10) == [(1, 3), (5, 5), (7, 10)]
    for bad in (b'a3 LOGIN "unterminated', b"a4 FETCH (1", b"a5 LOGIN {99}\r\nshort"):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_modified_utf7_round_trip():
    for name in ["Công việc/Năm 2024", "A&B", "Thư đã gửi", "INBOX", "Lưu trữ ~ 100%"]:
        assert utf7.decode(utf7.encode(name)) == name
    assert utf7.encode("Công việc") == "C&APQ-ng vi&Hsc-c"


def test_bad_input_gets_answers_and_the_connection_survives(world, imap, runtime):
    deliver(runtime, world, "Một thư")
    other = login(imap)
    other.select("INBOX")
    r = Raw(imap.port)
    assert r.cmd(b"a0 SELECT INBOX\r\n")[-1].startswith(b"a0 BAD")  # before login
    assert r.cmd(b"a1 FROBNICATE\r\n")[-1].startswith(b"a1 BAD")
    assert r.cmd(b"a2 LOGIN lanhdao@cantho.gov.vn " + PASSWORD.encode() + b"\r\n")[-1].startswith(b"a2 OK")
    assert r.cmd(b"a3 SELECT INBOX\r\n")[-1].startswith(b"a3 OK")
    assert r.cmd(b"a4 FETCH 1 (BODY[7.3.MIME])\r\n")[-1].startswith(b"a4 OK")  # no such section: empty
    assert r.cmd(b"a5 FETCH 1 (BODY[HEADER.FIELDS ()])\r\n")[-1].startswith(b"a5 BAD")
    assert r.cmd(b'a6 LOGIN "x\r\n')[-1].startswith(b"a6 BAD")  # malformed string
    assert r.cmd(b"a7 APPEND INBOX {999999999999}\r\n")[-1].startswith(b"a7 BAD")
    assert r.cmd(b"a8 NOOP " + b"x" * (1024 * 1024) + b"\r\n")[-1].startswith(b"a8 BAD Line too long")
    assert r.cmd(b"a9 NOOP\r\n")[-1].startswith(b"a9 OK")
    assert r.cmd(b"b2 FETCH 99 FLAGS\r\n")[-1].startswith(b"b2 BAD")
    assert r.cmd(b"b3 UID FETCH 99 FLAGS\r\n")[-1].startswith(b"b3 OK")
    assert r.cmd(b"b4 NOOP\r\n")[-1].startswith(b"b4 OK")
    r.close()
    assert other.fetch("1", "(FLAGS)")[0] == "OK"  # the other client never noticed
    other.logout()


def test_oversized_literal_is_refused_without_dropping(world, imap):
    r = Raw(imap.port)
    r.cmd(b"a1 LOGIN lanhdao@cantho.gov.vn " + PASSWORD.encode() + b"\r\n")
    assert r.cmd(b"a2 APPEND INBOX {999999999}\r\n")[-1].startswith(b"a2 NO [TOOBIG]")
    assert r.cmd(b"a3 NOOP\r\n")[-1].startswith(b"a3 OK")
    r.close()


def test_idle_is_told_of_new_mail_at_once(world, imap, runtime):
    line, waited = idle_through(login(imap), lambda: deliver(runtime, world, "Thư mới đến"), delay=0.2)
    assert line == b"* 1 EXISTS\r\n"
    assert waited < 1.0


def test_idle_across_processes_within_a_second(tmp_path):
    """Two runtimes on one PostgreSQL database stand for two server processes."""
    a = open_runtime(tmp_path / "a", "postgresql")  # skips (fails in CI) without PostgreSQL
    b = open_runtime(tmp_path / "b", "postgresql")
    b.settings.secret_key = a.settings.secret_key
    b.blobs = a.blobs  # one shared data dir for blobs, as processes on one host have
    b.dispatcher.blobs = a.blobs
    try:
        world = make_world(a)
        ctl = IMAPController(b, "127.0.0.1", free_port())
        ctl.start()
        try:
            line, waited = idle_through(login(ctl), lambda: deliver(a, world, "Từ tiến trình khác"))
            assert line == b"* 1 EXISTS\r\n" and waited < 1.0  # the issue: within a second
        finally:
            ctl.stop()
    finally:
        a.close()
        b.close()


def test_imap_changes_are_logged_actions(world, imap, runtime):
    deliver(runtime, world, "Thư cần xử lý")
    c = login(imap)
    c.select("INBOX")
    c.store("1", "+FLAGS", "(\\Flagged)")
    c.create("Luu")
    c.copy("1", "Luu")
    c.append("Sent", "(\\Seen)", None, make_message("lanhdao@cantho.gov.vn", ["vanthu@cantho.gov.vn"], subject="Đã gửi"))
    c.uid("MOVE", "1", "Trash")
    c.logout()
    with runtime.db.read() as s:
        names = [a.name for a in s.scalars(select(Action).where(Action.sandbox_id == world.sandbox_id,
                                                                 Action.actor == "lanhdao@cantho.gov.vn"))]
    assert names == ["mail.set_flags", "mail.create_folder", "mail.copy", "mail.append", "mail.move"]


def test_same_address_in_two_sandboxes_sees_two_worlds(runtime, imap):
    a = make_world(runtime, "ts001", password="mk-A")
    b = make_world(runtime, "ts002", password="mk-B")
    deliver(runtime, a, "Chỉ của A")
    deliver(runtime, b, "Chỉ của B")
    deliver(runtime, b, "Cũng của B")
    ca = login(imap, password="mk-A")
    cb = login(imap, "ts002/lanhdao@cantho.gov.vn", "mk-B")
    assert ca.select("INBOX")[1] == [b"1"] and cb.select("INBOX")[1] == [b"2"]
    assert ca.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].count(b"Subject") == 1
    assert ca.create("RiengA")[0] == "OK"
    assert b"RiengA" not in b" ".join(cb.list()[1])
    assert cb.uid("FETCH", "2", "(FLAGS)")[1] != [None] and ca.uid("FETCH", "2", "(FLAGS)")[1] == [None]
    with pytest.raises(imaplib.IMAP4.error):
        login(imap, "ts001/lanhdao@cantho.gov.vn", "mk-B")
    ca.logout()
    cb.logout()
