"""Independent IMAP clients against ``sandbox serve`` (web + SMTP + IMAP) started as a
subprocess, the way a trainer starts it: imaplib (with STARTTLS), imapclient with IDLE,
``curl imap://``, mutt driven through tmux; webmail <-> IMAP both ways; two sandboxes with
the same address; bad input on one connection while another works."""
from __future__ import annotations

import html
import http.cookiejar
import imaplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from tests.factories import make_message

from .conftest import OTHER_PASSWORD, PASSWORD
from .dovecot import Literal, command, fetch_items, mutf7_decode, mutf7_encode, quote

AN = "lanhdao@cantho.gov.vn"
THU = "vanthu@cantho.gov.vn"
KHOA = "truongphong@cantho.gov.vn"


def smtp_send(served, sender, password, rcpts, subject, body="Nội dung thư.\n", attachments=None) -> bytes:
    raw = make_message(sender, rcpts, subject=subject, body=body, attachments=attachments)
    with smtplib.SMTP("127.0.0.1", served.smtp, timeout=10) as s:
        s.login(sender, password)
        s.sendmail(sender, rcpts, raw)
    return raw


def imap_login(served, user=AN, password=PASSWORD) -> imaplib.IMAP4:
    c = imaplib.IMAP4("127.0.0.1", served.imap, timeout=15)
    c.login(user, password)
    return c


def subjects_of(c: imaplib.IMAP4, box="INBOX") -> list[str]:
    from email.header import decode_header, make_header
    typ, _ = c.select(quote(mutf7_encode(box)), readonly=True)
    assert typ == "OK"
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = []
    for item in data:
        if isinstance(item, tuple):
            value = item[1].decode("utf-8", "replace").split(":", 1)[1].strip()
            out.append(str(make_header(decode_header(value))))
    return out


# --- imaplib -----------------------------------------------------------------------------

def test_imaplib_realistic_session(served):
    smtp_send(served, THU, PASSWORD, [AN], "Công văn số 45 về lịch họp",
              attachments=[("Lịch họp.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")])
    smtp_send(served, KHOA, PASSWORD, [AN], "Báo cáo tuần")
    c = imap_login(served)
    try:
        typ, folders = c.list()
        assert typ == "OK"
        names = {mutf7_decode(re.search(rb'"/" "?([^"]*)"?$', f).group(1)): f for f in folders}
        assert {"INBOX", "Drafts", "Sent", "Junk", "Trash"} <= set(names)
        assert b"\\Sent" in names["Sent"] and b"\\Trash" in names["Trash"]
        typ, data = c.select("INBOX")
        assert typ == "OK" and data == [b"2"]
        c.literal = "Công văn".encode()    # imaplib's way to send a UTF-8 string (a literal)
        typ, data = c.search("UTF-8", "SUBJECT")
        assert typ == "OK" and data == [b"1"]
        typ, data = c.search("UTF-8", "SUBJECT", '"Công văn"'.encode())   # 8-bit quoted (Dovecot accepts)
        assert typ == "OK" and data == [b"1"]
        typ, data = c.uid("SEARCH", None, "UNSEEN")
        assert data == [b"1 2"]
        typ, data = c.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (FROM)] BODYSTRUCTURE)")
        assert typ == "OK" and THU.encode() in data[0][1]
        assert b'"application" "pdf"' in data[1].lower()
        typ, data = c.fetch("1", "(BODY[1])")
        assert "Nội dung thư.".encode() in data[0][1]
        assert c.fetch("1", "(FLAGS)")[1][0].find(b"\\Seen") > 0  # BODY[] sets \Seen
        typ, data = c.store("2", "+FLAGS", "(\\Flagged)")
        assert typ == "OK" and b"\\Flagged" in data[0]
        raw = make_message(AN, [THU], subject="Trả lời: Công văn số 45")
        typ, data = c.append("Sent", "(\\Seen)", imaplib.Time2Internaldate(time.time()), raw)
        assert typ == "OK" and b"APPENDUID" in data[0]
        typ, data = c.copy("1", "Trash")
        assert typ == "OK"
        c.store("1", "+FLAGS", "(\\Deleted)")
        typ, data = c.expunge()
        assert typ == "OK" and data == [b"1"]
        typ, data = c.status("Trash", "(MESSAGES UNSEEN)")
        assert b"MESSAGES 1" in data[0]
        assert subjects_of(c, "Sent") == ["Trả lời: Công văn số 45"]
        typ, _ = c.logout()
        assert typ == "BYE"
    finally:
        try:
            c.shutdown()
        except Exception:
            pass


def test_imaplib_starttls(served):
    c = imaplib.IMAP4("127.0.0.1", served.imap, timeout=15)
    assert "STARTTLS" in c.capabilities
    typ, _ = c.starttls(ssl_context=ssl._create_unverified_context())
    assert typ == "OK"
    assert isinstance(c.sock, ssl.SSLSocket)
    assert "STARTTLS" not in c.capabilities  # not offered twice (RFC 3501 6.2.1)
    c.login(AN, PASSWORD)
    typ, data = c.select("INBOX")
    assert typ == "OK"
    c.logout()


# --- imapclient + IDLE ---------------------------------------------------------------------

def test_imapclient_session_and_idle_under_a_second(served):
    imapclient = pytest.importorskip("imapclient")
    c = imapclient.IMAPClient("127.0.0.1", port=served.imap, ssl=False, timeout=15)
    c.login(AN, PASSWORD)
    try:
        assert b"IDLE" in c.capabilities() and b"MOVE" in c.capabilities()
        folders = {name: flags for flags, _, name in c.list_folders()}
        assert b"\\Drafts" in folders["Drafts"]
        c.create_folder("Công văn đến")
        assert "Công văn đến" in {name for _, _, name in c.list_folders()}
        info = c.select_folder("INBOX")
        assert info[b"EXISTS"] == 0
        smtp_send(served, THU, PASSWORD, [AN], "Thư trước IDLE")
        c.noop()
        c.idle()
        try:
            delays = []
            for subject in ["Thư mới 1", "Thư mới 2"]:
                t0 = None

                def send(subject=subject):
                    nonlocal t0
                    smtp_send(served, KHOA, PASSWORD, [AN], subject)
                    t0 = time.monotonic()   # SMTP accepted the message (250 after DATA)

                th = threading.Thread(target=send)
                th.start()
                got = []
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not any(r[1] == b"EXISTS" for r in got):
                    got += c.idle_check(timeout=0.2)
                th.join()
                assert any(r[1] == b"EXISTS" for r in got), got
                delays.append(time.monotonic() - t0)
        finally:
            c.idle_done()
        assert max(delays) < 1.0, delays
        uids = c.search(["SUBJECT", "Thư mới"], charset="UTF-8")
        assert len(uids) == 2
        msgs = c.fetch(uids, ["ENVELOPE", "FLAGS", "RFC822.SIZE"])
        assert {m[b"ENVELOPE"].subject for m in msgs.values()} != set()
        c.add_flags(uids[:1], [imapclient.SEEN])
        assert imapclient.SEEN in c.get_flags(uids[:1])[uids[0]]
        c.move(uids[:1], "Công văn đến")
        assert c.folder_status("Công văn đến", ["MESSAGES"])[b"MESSAGES"] == 1
        c.unselect_folder()
    finally:
        c.logout()


# --- curl ----------------------------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("curl"), reason="curl missing")
def test_curl_lists_folders_and_fetches_by_uid(served):
    smtp_send(served, THU, PASSWORD, [AN], "Thư cho curl", body="Dòng nội dung cho curl.\n")
    user = f"{AN}:{PASSWORD}"
    base = f"imap://127.0.0.1:{served.imap}"
    out = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/", "-u", user],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    listing = out.stdout.decode()
    for name in ("INBOX", "Drafts", "Sent", "Junk", "Trash"):
        assert f' "{name}"' in listing or f" {name}\r" in listing or f" {name}\n" in listing, listing
    out = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/INBOX;UID=1", "-u", user],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert b"Subject:" in out.stdout and "Dòng nội dung cho curl.".encode() in out.stdout
    # a wrong password is refused
    bad = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/INBOX;UID=1", "-u", f"{AN}:sai"],
                         capture_output=True, timeout=30)
    assert bad.returncode != 0


# --- mutt ----------------------------------------------------------------------------------

def _tmux(*args, check=True):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20, check=check)


@pytest.mark.skipif(not (shutil.which("mutt") and shutil.which("tmux")), reason="mutt or tmux missing")
def test_mutt_opens_inbox_reads_a_message_and_quits(served, tmp_path):
    smtp_send(served, THU, PASSWORD, [AN], "Thu cho mutt doc", body="Noi dung danh cho mutt.\n")
    smtp_send(served, KHOA, PASSWORD, [AN], "Thu thu hai")
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(f"""
set imap_user="{AN}"
set imap_pass="{PASSWORD}"
set folder="imap://127.0.0.1:{served.imap}/"
set spoolfile="+INBOX"
set record=""
set postponed="+Drafts"
set ssl_starttls=no
set ssl_force_tls=no
set header_cache=""
set message_cachedir=""
set mail_check=1
set timeout=1
set sort=date-sent
set pager_index_lines=0
set quit=yes
set move=no
set mark_old=no
set imap_check_subscribed=no
set charset="utf-8"
""")
    session = f"mutt{served.imap}"
    log = tmp_path / "mutt.log"
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40",
          f"mutt -n -F {muttrc} -f imap://127.0.0.1:{served.imap}/INBOX 2>{log}; sleep 30")
    screens = []

    def wait_screen(text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = _tmux("capture-pane", "-p", "-t", session).stdout
            if text in screen:
                screens.append(screen)
                return screen
            time.sleep(0.2)
        screens.append(_tmux("capture-pane", "-p", "-t", session).stdout)
        raise AssertionError(f"mutt never showed {text!r}:\n{screens[-1]}")

    try:
        index = wait_screen("Thu thu hai")
        assert "Thu cho mutt doc" in index
        _tmux("send-keys", "-t", session, "/", "mutt doc", "Enter")   # search, moves to that message
        time.sleep(0.5)
        _tmux("send-keys", "-t", session, "Enter")                      # open it in the pager
        pager = wait_screen("Noi dung danh cho mutt.")
        assert "Subject: Thu cho mutt doc" in pager
        _tmux("send-keys", "-t", session, "q")                          # back to the index
        wait_screen("Thu thu hai")
        _tmux("send-keys", "-t", session, "q")                          # quit mutt
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "mutt" in _tmux("list-panes", "-t", session, "-F",
                                                              "#{pane_current_command}", check=False).stdout:
            time.sleep(0.2)
    finally:
        _tmux("kill-session", "-t", session, check=False)
    # server side: the message mutt read is \Seen, the other is not
    c = imap_login(served)
    try:
        c.select("INBOX", readonly=True)
        _, data = c.search("UTF-8", "SEEN")
        _, seen_subjects = c.fetch(data[0].replace(b" ", b",") or b"0", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"Thu cho mutt doc" in b"".join(x[1] for x in seen_subjects if isinstance(x, tuple))
        _, data = c.search(None, "UNSEEN")
        assert len(data[0].split()) == 1
    finally:
        c.logout()


# --- webmail <-> IMAP ---------------------------------------------------------------------

class Browser:
    """The webmail over HTTP with cookies (urllib), as a person's browser would talk to it."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path) -> str:
        with self.opener.open(self.base + path, timeout=15) as r:
            return r.read().decode()

    def post(self, path, fields) -> str:
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=15) as r:
            return r.read().decode()

    def token(self, page) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, login, password):
        page = self.get("/login")
        self.post("/login", {"csrf_token": self.token(page), "login": login, "password": password})
        return self

    def folder_id(self, label) -> str:
        page = self.get("/mail/")
        m = re.search(r'href="/mail/folder/(\d+)"[^>]*>\s*<span>' + re.escape(label), page)
        assert m, page[:3000]
        return m.group(1)


def test_webmail_to_imap_and_imap_append_to_webmail_sent(served):
    web = Browser(served.http_url).login(THU, PASSWORD)
    page = web.get("/mail/compose")
    web.post("/mail/compose", {"csrf_token": web.token(page), "to": AN, "subject": "Gửi từ webmail đến IMAP",
                               "body": "Nội dung gửi qua webmail.", "send": "1"})
    c = imap_login(served)
    try:
        assert subjects_of(c, "INBOX") == ["Gửi từ webmail đến IMAP"]
        c.select("INBOX")
        _, data = c.fetch("1", "(BODY[TEXT])")
        assert "Nội dung gửi qua webmail.".encode() in data[0][1] or b"N=E1=BB=99i" in data[0][1]
        raw = make_message(AN, [THU], subject="Thư gửi bằng Thunderbird (APPEND)")
        typ, data = c.append("Sent", "(\\Seen)", None, raw)
        assert typ == "OK"
    finally:
        c.logout()
    web_an = Browser(served.http_url).login(AN, PASSWORD)
    sent = web_an.get(f"/mail/folder/{web_an.folder_id('Thư đã gửi')}")
    assert "Thư gửi bằng Thunderbird (APPEND)" in html.unescape(sent)
    # and the sender's webmail Sent has the webmail message, seen over IMAP too
    c = imap_login(served, THU)
    try:
        assert subjects_of(c, "Sent") == ["Gửi từ webmail đến IMAP"]
    finally:
        c.logout()


# --- isolation -------------------------------------------------------------------------------

def test_two_sandboxes_same_address_never_meet(served):
    smtp_send(served, THU, PASSWORD, [AN], "Chỉ của ts001")
    smtp_send(served, THU, OTHER_PASSWORD, [AN], "Chỉ của ts002")
    smtp_send(served, THU, OTHER_PASSWORD, [AN], "Thứ hai của ts002")
    one, two = imap_login(served, AN, PASSWORD), imap_login(served, AN, OTHER_PASSWORD)
    try:
        assert one.create(quote(mutf7_encode("Bí mật ts001")))[0] == "OK"
        assert subjects_of(one) == ["Chỉ của ts001"]
        assert subjects_of(two) == ["Chỉ của ts002", "Thứ hai của ts002"]
        listing_two = b"\n".join(two.list()[1])
        assert mutf7_encode("Bí mật ts001").encode() not in listing_two
        assert two.select(quote(mutf7_encode("Bí mật ts001")))[0] == "NO"
        for c, want in [(one, b"1"), (two, b"")]:
            c.select("INBOX")
            typ, data = c.search("UTF-8", "SUBJECT", "ts001")
            assert typ == "OK" and data == [want]
        typ, data = one.uid("FETCH", "2", "(BODY.PEEK[])")   # uid 2 exists only in ts002
        assert typ == "OK" and not any(isinstance(x, tuple) for x in data)
        typ, data = two.uid("FETCH", "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"ts001" not in b"".join(x[1] for x in data if isinstance(x, tuple))
        # the sandbox/address form; a password of the other world does not open this one
        explicit = imap_login(served, f"ts002/{AN}", OTHER_PASSWORD)
        assert subjects_of(explicit) == ["Chỉ của ts002", "Thứ hai của ts002"]
        explicit.logout()
        with pytest.raises(imaplib.IMAP4.error):
            imap_login(served, f"ts002/{AN}", PASSWORD)
        # a copy made in one world stays there
        one.select("INBOX")
        assert one.copy("1", "Trash")[0] == "OK"
        assert subjects_of(two, "Trash") == []
    finally:
        one.logout()
        two.logout()


# --- bad input -------------------------------------------------------------------------------

class Raw:
    """A raw socket client with ``send``/``readline``/``read`` for ``dovecot.command``."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.greeting = self.file.readline()

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        return self.file.readline()

    def read(self, n):
        return self.file.read(n)

    def close(self):
        self.file.close()
        self.sock.close()


def test_bad_input_gets_the_right_answer_and_the_connection_lives(served):
    smtp_send(served, THU, PASSWORD, [AN], "Thư để đọc")
    bystander = imap_login(served)
    bystander.select("INBOX")
    c = Raw(served.imap)
    try:
        assert c.greeting.startswith(b"* OK")
        # commands before login
        for cmdline in ["SELECT INBOX", "FETCH 1 FLAGS", "LIST \"\" *", "APPEND INBOX {3+}\r\nabc"]:
            r = command(c, cmdline)
            assert r.status in ("BAD", "NO"), (cmdline, r)
        assert command(c, "XYZZY").status == "BAD"            # unknown command
        assert command(c, f"LOGIN {AN} {quote(PASSWORD)}").status == "OK"
        assert command(c, "SELECT INBOX").status == "OK"
        assert command(c, "XYZZY plugh").status == "BAD"
        # a malformed literal
        c.send(b"m1 APPEND INBOX {12x}\r\n")
        r = _read_tagged(c, b"m1")
        assert r.startswith(b"m1 BAD"), r
        c.send(b"m2 LOGIN {-1}\r\n")
        assert _read_tagged(c, b"m2").startswith(b"m2 BAD")
        # a literal over the size limit: NO without a continuation request
        c.send(b"m3 APPEND INBOX {999999999}\r\n")
        line = c.readline()
        assert line.startswith(b"m3 NO"), line
        # a 1 MB line
        c.send(b"m4 NOOP " + b"x" * (1024 * 1024) + b"\r\n")
        assert _read_tagged(c, b"m4").startswith(b"m4 BAD")
        # a FETCH of a non-existent section: empty/NIL (Dovecot answers ""), and of a bad one: BAD
        r = command(c, "FETCH 1 (BODY.PEEK[9.9])")
        assert r.status == "OK"
        assert fetch_items(r)[1]["BODY[9.9]"] in (b"", None)
        assert command(c, "FETCH 1 (BODY.PEEK[NOSUCH])").status == "BAD"
        assert command(c, "FETCH 99 (FLAGS)").status in ("BAD", "NO")
        assert command(c, "STORE 1 +FLAGS").status == "BAD"   # no flag list: syntax error
        # still usable: a normal command works and the message is intact
        r = command(c, "UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert r.status == "OK" and b"Subject:" in list(fetch_items(r).values())[0]["BODY[HEADER.FIELDS (SUBJECT)]"]
        assert command(c, "APPEND INBOX ", Literal(b"Subject: sau loi\r\n\r\nok\r\n")).status == "OK"
        # the bystander was not disturbed
        t = time.monotonic()
        assert bystander.noop()[0] == "OK"
        typ, data = bystander.fetch("1", "(FLAGS)")
        assert typ == "OK" and time.monotonic() - t < 2
        assert command(c, "LOGOUT").status == "OK"
    finally:
        c.close()
        bystander.logout()
    assert served.process.poll() is None
    assert "Traceback" not in served.log.read_text(errors="replace")


def _read_tagged(c, tag: bytes, limit=50) -> bytes:
    for _ in range(limit):
        line = c.readline()
        if not line:
            raise EOFError("connection closed")
        if line.startswith(tag + b" "):
            return line
    raise AssertionError("no tagged answer")

