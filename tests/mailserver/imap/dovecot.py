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
