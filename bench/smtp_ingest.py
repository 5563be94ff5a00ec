"""SMTP ingest: N messages of ~20 KB over 1 and 10 concurrent authenticated clients into
SQLite, against aiosmtpd with a do-nothing handler measured in the same run."""
from __future__ import annotations

import asyncio
import os
import time

import aiosmtplib
from aiosmtpd.controller import Controller

from .common import free_port, percentile, temp_runtime

N = int(os.environ.get("BENCH_SMTP_MESSAGES", "2000"))
SENDER, RCPT, PASSWORD = "lanhdao@cantho.gov.vn", "vanthu@cantho.gov.vn", "bench-pass"


def message(i: int) -> bytes:
    body = ("Nội dung công văn số %d. " % i) * 800
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
        await smtp.login(SENDER, PASSWORD)
    while jobs:
        i = jobs.pop()
        t = time.perf_counter()
        await smtp.sendmail(SENDER, [RCPT], message(i))
        lat.append(time.perf_counter() - t)
    await smtp.quit()


def run(port: int, clients: int, login: bool) -> dict:
    jobs = list(range(N))
    lat: list[float] = []

    async def main():
        await asyncio.gather(*[_client(port, jobs, lat, login) for _ in range(clients)])

    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    return {"msg_s": N / wall, "p50": percentile(lat, 50) * 1000, "p99": percentile(lat, 99) * 1000}


def main() -> list[str]:
    from mailserver import api as mail_api
    from mailserver.smtp import SubmissionController
    from sandbox.sandboxes import get_or_create_sandbox

    null = Controller(NullHandler(), hostname="127.0.0.1", port=free_port())
    null.start()
    lines = [f"SMTP ingest: {N} messages of {len(message(0)) // 1024} KB, SQLite (WAL)"]
    try:
        for clients in (1, 10):
            rt = temp_runtime("bench-smtp-")
            sid = get_or_create_sandbox(rt.db, rt.clock, "bench")
            for addr in (SENDER, RCPT):
                mail_api.add_account(rt.dispatcher, rt.secret, sid, addr, PASSWORD)
            ctl = SubmissionController(rt, "127.0.0.1", free_port())
            ctl.start()
            try:
                ours = run(ctl.port, clients, login=True)
            finally:
                ctl.stop()
                rt.close()
            base = run(null.port, clients, login=False)
            lines.append(
                f"  {clients:>2} client(s): ours {ours['msg_s']:7.1f} msg/s (p50 {ours['p50']:.1f} ms, p99 {ours['p99']:.1f} ms)"
                f" | do-nothing aiosmtpd {base['msg_s']:7.1f} msg/s (p50 {base['p50']:.1f}, p99 {base['p99']:.1f})"
                f" | ratio {ours['msg_s'] / base['msg_s']:.2f}")
    finally:
        null.stop()
    return lines
