"""SMTP ingest: N messages of ~20 KB over 1 and 10 concurrent authenticated clients into
SQLite, against aiosmtpd with a do-nothing handler measured in the same run (the target of
issue 14: ours ≥ 0.8× the do-nothing server at 10 clients).

Each client is one candidate's mail program: it logs in to its own sandbox
(``bench<k>/address``), as on exam day; ``BENCH_SMTP_ONE_SANDBOX=1`` sends everything into one
sandbox instead (the shape of the figures before issue 14). Our server stores with group
commit: the line says how many messages shared a transaction."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller

from .common import free_port, percentile, temp_runtime

N = int(os.environ.get("BENCH_SMTP_MESSAGES", "2000"))
SENDER, RCPT, PASSWORD = "lanhdao@cantho.gov.vn", "vanthu@cantho.gov.vn", "bench-pass"


def message(i: int) -> bytes:
    line = ("Nội dung công văn số %d, dòng thử tải. " % i) * 2
    body = "\r\n".join([line] * 400)
    return (f"From: {SENDER}\r\nTo: {RCPT}\r\nSubject: Thư đo tải {i}\r\nMessage-ID: <b{i}@cantho.gov.vn>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + body[:20000] + "\r\n").encode()


class NullHandler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


async def _client(port, jobs, lat, login):
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
    await smtp.connect()
    if login:
        await smtp.login(login, PASSWORD)
    while jobs:
        i = jobs.pop()
        t = time.perf_counter()
        await smtp.sendmail(SENDER, [RCPT], message(i))
        lat.append(time.perf_counter() - t)
    await smtp.quit()


def run(port: int, clients: int, logins: list[str] | None) -> dict:
    """Drive the load from another process, so the client does not share the server's GIL."""
    out = subprocess.run([sys.executable, "-m", "bench.smtp_ingest", str(port), str(clients),
                          ",".join(logins) if logins else "-"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load(port: int, clients: int, logins: list[str] | None) -> dict:
    jobs = list(range(N))
    lat: list[float] = []

    async def main():
        await asyncio.gather(*[_client(port, jobs, lat, logins[i % len(logins)] if logins else None)
                               for i in range(clients)])

    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    return {"msg_s": N / wall, "p50": percentile(lat, 50) * 1000, "p99": percentile(lat, 99) * 1000}


def main() -> list[str]:
    from mailserver import api as mail_api
    from mailserver.smtp import SubmissionController
    from sandbox.kernel.sandboxes import get_or_create_sandbox

    from .provision import load_average

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    one_sandbox = bool(os.environ.get("BENCH_SMTP_ONE_SANDBOX"))
    null = Controller(NullHandler(), hostname="127.0.0.1", port=free_port())
    null.start()
    shape = "one sandbox" if one_sandbox else "one sandbox per client"
    lines = [f"SMTP ingest: {N} messages of {len(message(0)) // 1024} KB, SQLite (WAL), {shape} ({load_average()})"]
    try:
        for clients in (1, 10):
            rt = temp_runtime("bench-smtp-")
            logins = []
            for k in range(1 if one_sandbox else clients):
                sid = get_or_create_sandbox(rt.db, rt.clock, f"bench{k}")
                for addr in (SENDER, RCPT):
                    mail_api.add_account(rt.dispatcher, rt.secret, sid, addr, PASSWORD)
                logins.append(f"bench{k}/{SENDER}")
            ctl = SubmissionController(rt, "127.0.0.1", free_port())
            ctl.start()
            try:
                ours = run(ctl.port, clients, logins)
                batches = getattr(getattr(ctl.handler_obj, "committer", None), "batches", [])  # [] before group commit
            finally:
                ctl.stop()
                rt.close()
            base = run(null.port, clients, None)
            per_tx = sum(batches) / len(batches) if batches else 0
            lines.append(
                f"  {clients:>2} client(s): ours {ours['msg_s']:7.1f} msg/s (p50 {ours['p50']:.1f} ms, p99 {ours['p99']:.1f} ms;"
                f" {per_tx:.1f} messages per transaction, at most {max(batches or [0])})"
                f" | do-nothing aiosmtpd {base['msg_s']:7.1f} msg/s (p50 {base['p50']:.1f}, p99 {base['p99']:.1f})"
                f" | ratio {ours['msg_s'] / base['msg_s']:.2f} (target ≥ 0.8 at 10 clients) ({load_average()})")
    finally:
        null.stop()
    return lines


if __name__ == "__main__":
    port, clients, logins = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print(json.dumps(_load(port, clients, None if logins == "-" else logins.split(","))))
