"""A private Dovecot (Debian's ``dovecot-imapd``) on a free loopback port: the reference
server of the IMAP differential tests and of ``bench/imap_vs_dovecot.py``.

Never the system service: ``Dovecot(users).start()`` writes a config into a fresh temp dir
(base_dir, state_dir, log, passwd-file, maildirs all inside it) and runs
``dovecot -F -c <that config>`` in the foreground as a child process; ``stop()`` ends that
process (and so its children) and removes the dir.

The namespace is made to look like ours: one personal namespace, prefix "", hierarchy
separator "/", INBOX plus Drafts, Sent, Junk, Trash created and subscribed at first login
with the SPECIAL-USE attributes \\Drafts \\Sent \\Junk \\Trash. Maildir with ``LAYOUT=fs``
so that "/" maps to directories and a "." in a folder name is allowed (Maildir++ would
forbid it). Mail files belong to ``nobody`` when run as root (Dovecot refuses uid 0 for
mail), else to the current user.
"""
from __future__ import annotations

import os
import pwd
import grp
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import imap_utf7

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
SPECIAL_FOLDERS = [("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Junk", "\\Junk"), ("Trash", "\\Trash")]


def available() -> bool:
    return os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """``with Dovecot({"user@dom": "pw"}) as dv: imaplib.IMAP4("127.0.0.1", dv.port)``."""

    def __init__(self, users: dict[str, str], port: int | None = None, *, max_connections: int = 1000,
                 extra_config: str = ""):
        self.users = dict(users)
        self.port = port or _free_port()
        self.max_connections = max_connections
        self.extra_config = extra_config
        self.dir: Path | None = None
        self.process: subprocess.Popen | None = None

    # --- configuration ---------------------------------------------------------------------

    def _identity(self) -> tuple[str, str, int, int]:
        """(mail user, mail group, uid, gid) owning the maildirs; (login, internal) users."""
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name, pw.pw_uid, pw.pw_gid
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name, pw.pw_uid, pw.pw_gid

    def config_text(self) -> str:
        d = self.dir
        user, group, uid, gid = self._identity()
        if os.geteuid() == 0:
            service_users = ""  # defaults: imap-login as dovenull, auth as dovecot/root
        else:  # unprivileged: every process runs as us
            me = pwd.getpwuid(os.geteuid()).pw_name
            service_users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
        mailboxes = "\n".join(
            f"  mailbox {name} {{\n    special_use = {use}\n    auto = subscribe\n  }}" for name, use in SPECIAL_FOLDERS)
        n = self.max_connections
        return f"""# private Dovecot for tests/benchmarks (generated; see tests/mailserver/imap/dovecot.py)
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 1M
{service_users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
first_valid_uid = {min(uid, 500)}
first_valid_gid = 0
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = optimized

namespace inbox {{
  type = private
  inbox = yes
  prefix =
  separator = /
  list = yes
  subscriptions = yes
  mailbox INBOX {{
    auto = subscribe
  }}
{mailboxes}
}}

default_process_limit = {n}
default_client_limit = {n * 2}
default_vsz_limit = 1G
protocol imap {{
  mail_max_userip_connections = {n}
  imap_idle_notify_interval = 2 mins
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = 2
  client_limit = {n}
}}
service imap {{
  process_limit = {n}
}}
service anvil {{
  client_limit = {n * 4}
}}
service auth {{
  client_limit = {n * 4}
}}
{self.extra_config}
"""

    # --- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> "Dovecot":
        if not available():
            raise RuntimeError("dovecot-imapd is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        os.chmod(self.dir, 0o755)  # login/auth/imap processes run as other users
        for sub in ("run", "state", "home"):
            (self.dir / sub).mkdir()
        user, group, uid, gid = self._identity()
        home = self.dir / "home"
        for address in self.users:
            (home / address).mkdir()
        if os.geteuid() == 0:
            for p in [home, *home.iterdir()]:
                os.chown(p, uid, gid)
        (self.dir / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        os.chmod(self.dir / "passwd", 0o644)
        (self.dir / "dovecot.conf").write_text(self.config_text())
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.dir / "dovecot.conf")],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"dovecot exited ({self.process.returncode}): {out}\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    if s.recv(200).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("dovecot did not answer on port %d" % self.port)

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the master stops its children
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(5)
        self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "Dovecot":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- IMAP wire helpers shared by the differential suite, the client tests and the bench ----
#
# A thin layer over any connection object with ``send(bytes)``, ``readline()`` and
# ``read(n)`` (``imaplib.IMAP4`` has them): send one command (with synchronising or
# LITERAL+ literals), read every line up to the tagged answer, and parse each response into
# Python values: atoms -> str, quoted strings and literals -> bytes, NIL -> None,
# parenthesised lists -> list. ``BODY[HEADER.FIELDS (A B)]<0>`` stays one atom.

import itertools as _itertools
import re as _re
from dataclasses import dataclass as _dataclass, field as _field

_LITERAL_END = _re.compile(rb"\{(\d+)\}\r\n$")
_tags = _itertools.count(1)
STATUS_WORDS = {"OK", "NO", "BAD", "BYE", "PREAUTH"}


class Literal:
    """A command argument sent as a literal ``{n}`` (or ``{n+}`` with LITERAL+)."""

    def __init__(self, data: bytes | str):
        self.data = data.encode() if isinstance(data, str) else bytes(data)


class _Lit(bytes):
    """A literal received from the server (a segment of a response line)."""


def parse_tokens(segments: list[bytes]) -> list:
    out: list = []
    stack = [out]
    for seg in segments:
        if isinstance(seg, _Lit):
            stack[-1].append(bytes(seg))
            continue
        s, i, n = seg, 0, len(seg)
        while i < n:
            c = s[i]
            if c == 0x20:
                i += 1
            elif c == 0x28:  # (
                new: list = []
                stack[-1].append(new)
                stack.append(new)
                i += 1
            elif c == 0x29:  # )
                if len(stack) > 1:
                    stack.pop()
                i += 1
            elif c == 0x22:  # "
                j, buf = i + 1, bytearray()
                while j < n and s[j] != 0x22:
                    if s[j] == 0x5C and j + 1 < n:
                        j += 1
                    buf.append(s[j])
                    j += 1
                stack[-1].append(bytes(buf))
                i = j + 1
            else:
                j, depth = i, 0
                while j < n:
                    ch = s[j]
                    if ch == 0x5B:
                        depth += 1
                    elif ch == 0x5D and depth:
                        depth -= 1
                    elif depth == 0 and ch in (0x20, 0x28, 0x29):
                        break
                    j += 1
                atom = s[i:j].decode("latin-1")
                stack[-1].append(None if atom.upper() == "NIL" else atom)
                i = j
    return out


@_dataclass
class Untagged:
    """One ``*`` response: ``kind`` is the status word, the keyword (``LIST``, ``SEARCH``...)
    or, for ``* 3 FETCH``/``* 3 EXPUNGE``/``* 4 EXISTS``, the word after the number."""
    kind: str
    number: int | None = None
    tokens: list = _field(default_factory=list)   # what follows kind
    code: list | None = None                        # [CODE args...] of a status response
    text: str = ""
    raw: bytes = b""


@_dataclass
class Reply:
    tag: str
    status: str
    code: list | None
    text: str
    untagged: list[Untagged]
    raw: bytes = b""

    def data(self, kind: str) -> list[Untagged]:
        return [u for u in self.untagged if u.kind == kind.upper()]

    @property
    def code_name(self) -> str | None:
        return self.code[0].upper() if self.code and isinstance(self.code[0], str) else None


def _status_parts(rest: bytes) -> tuple[list | None, str]:
    rest = rest.lstrip(b" ")
    if rest.startswith(b"["):
        end = rest.find(b"]")
        if end > 0:
            return parse_tokens([rest[1:end]]), rest[end + 1:].strip().decode("utf-8", "replace")
    return None, rest.decode("utf-8", "replace")


def read_segments(conn) -> list[bytes]:
    """One logical response line (literals included) as segments; raises EOFError."""
    segs: list[bytes] = []
    while True:
        line = conn.readline()
        if not line:
            raise EOFError("connection closed by server")
        m = _LITERAL_END.search(line)
        if m:
            segs.append(line[:m.start()])
            n = int(m.group(1))
            data = conn.read(n)
            while len(data) < n:
                more = conn.read(n - len(data))
                if not more:
                    raise EOFError("connection closed inside a literal")
                data += more
            segs.append(_Lit(data))
            continue
        segs.append(line.rstrip(b"\r\n"))
        return segs


def _raw(segs) -> bytes:
    return b"".join(b"{%d}\r\n" % len(s) + s if isinstance(s, _Lit) else s for s in segs)


def parse_untagged(segs: list[bytes]) -> Untagged:
    first = segs[0][2:]  # after "* "
    word, _, rest = first.partition(b" ")
    w = word.decode("latin-1").upper()
    if w in STATUS_WORDS:
        code, text = _status_parts(_raw([rest] + segs[1:]) if len(segs) > 1 else rest)
        return Untagged(w, code=code, text=text, raw=_raw(segs))
    if w.isdigit():
        kw, _, rest2 = rest.partition(b" ")
        return Untagged(kw.decode("latin-1").upper(), int(w), parse_tokens([rest2] + segs[1:]), raw=_raw(segs))
    return Untagged(w, tokens=parse_tokens([rest] + segs[1:]), raw=_raw(segs))


def read_reply(conn, tag: str, untagged: list | None = None) -> Reply:
    untagged = [] if untagged is None else untagged
    raws = []
    while True:
        segs = read_segments(conn)
        raws.append(_raw(segs))
        head = segs[0]
        if head.startswith(b"* "):
            untagged.append(parse_untagged(segs))
        elif head.startswith(b"+"):
            continue  # a stray continuation (IDLE handled by the caller)
        else:
            t, _, rest = _raw(segs).partition(b" ")
            if t.decode("latin-1") != tag:
                untagged.append(Untagged("?", raw=_raw(segs)))
                continue
            st, _, rest = rest.partition(b" ")
            code, text = _status_parts(rest)
            return Reply(tag, st.decode("latin-1").upper(), code, text, untagged, b"\r\n".join(raws))


def new_tag() -> str:
    return "t%04d" % next(_tags)


def command(conn, *parts, literal_plus: bool = False, tag: str | None = None) -> Reply:
    """Send ``tag parts...`` (str/bytes joined as given, ``Literal`` as literals) and read
    the reply. If the server refuses a synchronising literal, its tagged answer is returned."""
    tag = tag or new_tag()
    buf = tag.encode() + b" "
    untagged: list = []
    for p in parts:
        if isinstance(p, Literal):
            if literal_plus:
                buf += b"{%d+}\r\n" % len(p.data) + p.data
                continue
            conn.send(buf + b"{%d}\r\n" % len(p.data))
            while True:
                segs = read_segments(conn)
                if segs[0].startswith(b"+"):
                    break
                if segs[0].startswith(b"* "):
                    untagged.append(parse_untagged(segs))
                    continue
                t, _, rest = _raw(segs).partition(b" ")
                st, _, rest = rest.partition(b" ")
                code, text = _status_parts(rest)
                return Reply(t.decode("latin-1"), st.decode("latin-1").upper(), code, text, untagged, _raw(segs))
            buf = p.data
        else:
            buf += p.encode("utf-8") if isinstance(p, str) else p
    conn.send(buf + b"\r\n")
    return read_reply(conn, tag, untagged)


def fetch_items(reply: Reply) -> dict[int, dict]:
    """``{seq: {ITEM: value}}`` of the FETCH responses (several responses for one seq merge)."""
    out: dict[int, dict] = {}
    for u in reply.data("FETCH"):
        lst = u.tokens[0] if u.tokens and isinstance(u.tokens[0], list) else []
        d = out.setdefault(u.number, {})
        for k, v in zip(lst[::2], lst[1::2]):
            d[k.upper() if isinstance(k, str) else k] = v
    return out


def mutf7_encode(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3), by imapclient's codec: an
    implementation independent of the server under test."""
    return imap_utf7.encode(name).decode("ascii")


def mutf7_decode(name: str | bytes) -> str:
    return imap_utf7.decode(name.encode("latin-1") if isinstance(name, str) else name)


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
