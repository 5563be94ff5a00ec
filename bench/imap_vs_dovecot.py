"""IMAP read path: our server against Dovecot 2.3 (Debian's dovecot-imapd, started here from a
private config on a loopback port), same ~20 KB messages in INBOX on both, same client.

The clients run in a separate process (``python -m bench.imap_vs_dovecot client PORT``),
so they never share our server's GIL: per-message ``UID FETCH n BODY.PEEK[]`` p50/p99,
``FETCH 1:* (ENVELOPE BODYSTRUCTURE)``, 20 clients x 50 fetches (threads), 20 concurrent
logins, N idling clients told of a new message (APPENDed by another connection). Each
figure is also given as a ratio ours/Dovecot (for times: >1 means we are slower).

Shrink with BENCH_IMAP_MESSAGES, BENCH_IMAP_FETCHES, BENCH_IMAP_CLIENTS, BENCH_IMAP_PER_CLIENT,
BENCH_IMAP_LOGINS, BENCH_IMAP_IDLERS. Prints figures, asserts nothing.
"""
from __future__ import annotations

import json
import os
import random
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import free_port, median, percentile, temp_runtime

N = int(os.environ.get("BENCH_IMAP_MESSAGES", "1100"))
FETCHES = int(os.environ.get("BENCH_IMAP_FETCHES", "1000"))
CLIENTS = int(os.environ.get("BENCH_IMAP_CLIENTS", "20"))
PER_CLIENT = int(os.environ.get("BENCH_IMAP_PER_CLIENT", "50"))
LOGINS = int(os.environ.get("BENCH_IMAP_LOGINS", "20"))
IDLERS = int(os.environ.get("BENCH_IMAP_IDLERS", "200"))
USER, PASSWORD = "lanhdao@cantho.gov.vn", "MatKhau@123"
ROOT = Path(__file__).resolve().parent.parent


# --- client side (runs in its own process) --------------------------------------------------

class Conn:
    """A raw IMAP connection (``send``/``readline``/``read`` for ``dovecot.command``)."""

    def __init__(self, port: int, login: bool = True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.file.readline()
        if login:
            self.cmd(f'LOGIN {USER} "{PASSWORD}"')

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readline(self) -> bytes:
        return self.file.readline()

    def read(self, n: int) -> bytes:
        return self.file.read(n)

    def cmd(self, *parts, **kw):
        from tests.mailserver.imap.dovecot import command
        r = command(self, *parts, **kw)
        if r.status != "OK":
            raise RuntimeError(f"{parts[0]!r}: {r.status} {r.text}")
        return r

    def timed(self, line: str) -> tuple[float, int]:
        """Send one command and read up to its tagged OK without parsing (literals skipped
        by length): (seconds, bytes received). The client's cost stays out of the figure."""
        self.n = getattr(self, "n", 0) + 1
        tag = b"b%d" % self.n
        t = time.perf_counter()
        self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        got = 0
        while True:
            ln = self.file.readline()
            if not ln:
                raise EOFError("connection closed")
            got += len(ln)
            if ln.endswith(b"}\r\n"):
                n = int(ln[ln.rindex(b"{") + 1:-3])
                got += len(self.file.read(n))
                continue
            if ln.startswith(tag + b" "):
                if not ln.startswith(tag + b" OK"):
                    raise RuntimeError(ln)
                return time.perf_counter() - t, got

    def close(self) -> None:
        try:
            self.sock.sendall(b"z LOGOUT\r\n")
        except OSError:
            pass
        self.file.close()
        self.sock.close()


def _fetch_one(c: Conn, uid: int) -> float:
    dt, got = c.timed(f"UID FETCH {uid} BODY.PEEK[]")
    assert got > 10000, "no message data"
    return dt


def client_main(port: int) -> dict:
    out: dict = {}
    rnd = random.Random(1)
    t = time.perf_counter()
    c = Conn(port)
    out["login_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    r = c.cmd("SELECT INBOX")
    out["select_ms"] = (time.perf_counter() - t) * 1000
    exists = next(u.number for u in r.untagged if u.kind == "EXISTS")
    out["exists"] = exists
    uids = [int(x) for u in c.cmd("UID SEARCH ALL").data("SEARCH") for x in u.tokens]
    for uid in uids[:20]:          # warm-up
        _fetch_one(c, uid)
    lat = [_fetch_one(c, rnd.choice(uids)) for _ in range(FETCHES)]
    out["fetch_p50_ms"], out["fetch_p99_ms"] = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
    out["env_bs_all_ms"] = min(c.timed("FETCH 1:* (ENVELOPE BODYSTRUCTURE)")[0] for _ in range(3)) * 1000
    out["flags_all_ms"] = min(c.timed("UID FETCH 1:* (FLAGS)")[0] for _ in range(3)) * 1000
    c.close()

    # CLIENTS x PER_CLIENT fetches, each client its own connection and thread
    conns = [Conn(port) for _ in range(CLIENTS)]
    for cc in conns:
        cc.cmd("EXAMINE INBOX")
    all_lat: list[float] = []
    barrier = threading.Barrier(CLIENTS + 1)

    def worker(cc: Conn, seed: int):
        rr = random.Random(seed)
        barrier.wait()
        mine = [_fetch_one(cc, rr.choice(uids)) for _ in range(PER_CLIENT)]
        all_lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(cc, i)) for i, cc in enumerate(conns)]
    for th in threads:
        th.start()
    barrier.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    for cc in conns:
        cc.close()
    out["multi_per_s"] = CLIENTS * PER_CLIENT / wall
    out["multi_p50_ms"], out["multi_p99_ms"] = percentile(all_lat, 50) * 1000, percentile(all_lat, 99) * 1000

    # LOGINS concurrent logins (connect + LOGIN), all released at once
    lat_login: list[float] = []
    barrier = threading.Barrier(LOGINS + 1)

    def login_one():
        barrier.wait()
        t0 = time.perf_counter()
        cc = Conn(port)
        lat_login.append(time.perf_counter() - t0)
        cc.close()

    threads = [threading.Thread(target=login_one) for _ in range(LOGINS)]
    for th in threads:
        th.start()
    barrier.wait()
    t = time.perf_counter()
    for th in threads:
        th.join()
    out["logins_wall_ms"] = (time.perf_counter() - t) * 1000
    out["login_p50_ms"] = median(lat_login) * 1000

    # IDLERS idling on INBOX; another connection APPENDs; delay until each sees EXISTS
    out.update(idle_run(port))
    return out


def idle_run(port: int) -> dict:
    from tests.mailserver.imap.dovecot import Literal
    idlers = []
    for i in range(IDLERS):
        cc = Conn(port)
        cc.cmd("SELECT INBOX")
        cc.send(b"i IDLE\r\n")
        line = cc.readline()
        assert line.startswith(b"+"), line
        cc.sock.setblocking(False)
        idlers.append(cc)
    time.sleep(0.5)
    sel = selectors.DefaultSelector()
    for cc in idlers:
        sel.register(cc.sock, selectors.EVENT_READ, cc)
    bufs = {id(cc): b"" for cc in idlers}
    got: dict[int, float] = {}
    sender = Conn(port)
    raw = b"Subject: idle test\r\nFrom: vanthu@cantho.gov.vn\r\n\r\nhello\r\n"
    t0 = time.perf_counter()
    sender.cmd("APPEND INBOX ", Literal(raw), literal_plus=True)
    deadline = t0 + 30
    while len(got) < len(idlers) and time.perf_counter() < deadline:
        for key, _ in sel.select(timeout=0.5):
            cc = key.data
            try:
                data = cc.sock.recv(65536)
            except BlockingIOError:
                continue
            bufs[id(cc)] += data
            if b"EXISTS" in bufs[id(cc)] and id(cc) not in got:
                got[id(cc)] = time.perf_counter() - t0
                sel.unregister(cc.sock)
    sender.close()
    for cc in idlers:
        try:
            cc.sock.setblocking(True)
            cc.sock.sendall(b"DONE\r\nz LOGOUT\r\n")
        except OSError:
            pass
        cc.sock.close()
    delays = sorted(got.values())
    return {"idle_told": len(delays), "idle_median_ms": median(delays) * 1000 if delays else float("nan"),
            "idle_max_ms": max(delays) * 1000 if delays else float("nan")}


def run_clients(port: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.imap_vs_dovecot", "client", str(port)],
                         capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- server side ------------------------------------------------------------------------------

def fill_dovecot(port: int, messages: list[bytes]) -> None:
    from tests.mailserver.imap.dovecot import Literal
    c = Conn(port)
    for raw in messages:
        c.cmd('APPEND INBOX (\\Seen) "03-Jun-2024 12:00:00 +0000" ', Literal(raw), literal_plus=True)
    c.close()


def fill_ours(rt, messages: list[bytes]):
    from mailserver import api as mail_api
    from sandbox.kernel.sandboxes import get_or_create_sandbox
    sid = get_or_create_sandbox(rt.db, rt.clock, "ts001")
    account_id = mail_api.add_account(rt.dispatcher, rt.secret, sid, USER, PASSWORD, "Nguyễn Văn An")
    with rt.db.read() as s:
        ref = mail_api.account_ref(s, account_id)
        inbox = mail_api.MailView(s, sid, account_id).special(None).id
    for raw in messages:
        rt.dispatcher.dispatch(sid, ref.address, "mail.append",
                               {"account_id": account_id, "mailbox_id": inbox, "raw": rt.blobs.put(raw),
                                "flags": ["\\Seen"], "internal_date": "2024-06-03T12:00:00+00:00"})


def main() -> list[str]:
    import logging

    from tests.mailserver.imap.corpus import bench_message
    from tests.mailserver.imap.dovecot import Dovecot, available

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    messages = [bench_message(i) for i in range(N)]
    size_kb = sum(map(len, messages)) / len(messages) / 1024
    lines = [f"IMAP read path: {N} messages of {size_kb:.0f} KB in INBOX, clients in another process"]
    if not available():
        return lines + ["  dovecot-imapd not installed: skipped"]
    # Dovecot learns of new mail through inotify, one instance per imap process: past
    # fs.inotify.max_user_instances (128 by default) the idlers fall back to polling every
    # mailbox_idle_check_interval (30 s by default, so a 30 s max). 1 s is its best setting here.
    dv = Dovecot({USER: PASSWORD}, max_connections=max(1000, IDLERS * 2),
                 extra_config="mailbox_idle_check_interval = 1 secs\n").start()
    try:
        t = time.perf_counter()
        fill_dovecot(dv.port, messages)
        fill_dv = time.perf_counter() - t
        theirs = run_clients(dv.port)
    finally:
        dv.stop()
    try:
        from mailserver.imap.server import IMAPController
    except ImportError as e:
        return lines + [f"  our IMAP server not importable ({e}); Dovecot alone: {json.dumps(theirs)}"]
    rt = temp_runtime("bench-imap-")
    try:
        t = time.perf_counter()
        fill_ours(rt, messages)
        fill_us = time.perf_counter() - t
        ctl = IMAPController(rt, host="127.0.0.1", port=free_port())
        ctl.start()
        try:
            ours = run_clients(ctl.port)
        finally:
            ctl.stop()
    finally:
        rt.close()

    def row(label, key, unit="ms", lower_is_better=True, fmt="{:8.1f}"):
        a, b = ours[key], theirs[key]
        ratio = a / b if b else float("nan")
        return (f"  {label:<44} ours {fmt.format(a)} {unit:<5} Dovecot {fmt.format(b)} {unit:<5} "
                f"ratio {ratio:5.2f}" + ("" if lower_is_better else " (higher is better)"))

    lines += [
        f"  filled: Dovecot by APPEND in {fill_dv:.1f} s; ours through mail.append actions in {fill_us:.1f} s;"
        f" EXISTS ours {ours['exists']} / Dovecot {theirs['exists']}",
        row("first login", "login_ms"),
        row("SELECT INBOX", "select_ms"),
        row(f"UID FETCH n BODY.PEEK[] p50 ({FETCHES} fetches)", "fetch_p50_ms", fmt="{:8.2f}"),
        row("UID FETCH n BODY.PEEK[] p99", "fetch_p99_ms", fmt="{:8.2f}"),
        row("FETCH 1:* (ENVELOPE BODYSTRUCTURE)", "env_bs_all_ms"),
        row("UID FETCH 1:* (FLAGS)", "flags_all_ms"),
        row(f"{CLIENTS} clients x {PER_CLIENT} fetches: throughput", "multi_per_s", "/s", False),
        row(f"{CLIENTS} clients x {PER_CLIENT} fetches: p50", "multi_p50_ms", fmt="{:8.2f}"),
        row(f"{CLIENTS} clients x {PER_CLIENT} fetches: p99", "multi_p99_ms", fmt="{:8.2f}"),
        row(f"{LOGINS} concurrent logins: all done", "logins_wall_ms"),
        row(f"{LOGINS} concurrent logins: p50", "login_p50_ms"),
        row(f"{IDLERS} idlers told of new mail: median", "idle_median_ms"),
        row(f"{IDLERS} idlers told of new mail: max", "idle_max_ms"),
        f"  idlers told: ours {ours['idle_told']}/{IDLERS}, Dovecot {theirs['idle_told']}/{IDLERS}",
    ]
    return lines


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "client":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(client_main(int(sys.argv[2]))))
    else:
        for line in main():
            print(line, flush=True)
