"""Login storm: a room of candidates logs in at once. N sandboxes hold the same address with
different passwords (every candidate gets the same world); 20 threads log all of them in
through ``Runtime.mail_login`` (password tag lookup + Argon2 check), the path every door uses.
Baseline in the same run: the same storm if each check cost OWASP's Argon2id (19 MiB, t=2)."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher

from .common import median, percentile, temp_runtime

N = int(os.environ.get("BENCH_LOGINS", "500"))
THREADS = 20


def storm(fn, n: int) -> tuple[float, list[float]]:
    lat: list[float] = []

    def one(i):
        t = time.perf_counter()
        assert fn(i)
        lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - t0, lat


def main() -> list[str]:
    from mailserver import api as mail_api
    from sandbox.kernel.sandboxes import get_or_create_sandbox

    rt = temp_runtime("bench-login-")
    t0 = time.perf_counter()
    for i in range(N):
        sid = get_or_create_sandbox(rt.db, rt.clock, f"ts{i:04d}")
        mail_api.add_account(rt.dispatcher, rt.secret, sid, "lanhdao@cantho.gov.vn", f"mk-{i:04d}-Ab", "Nguyễn Văn An")
    provision = time.perf_counter() - t0
    wall, lat = storm(lambda i: rt.mail_login("lanhdao@cantho.gov.vn", f"mk-{i:04d}-Ab", f"10.0.{i // 250}.{i % 250}"), N)
    owasp = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    h = owasp.hash("x")
    base_wall, base_lat = storm(lambda i: owasp.verify(h, "x"), N)
    rt.close()
    return [
        f"Login storm: {N} candidates, same address in {N} sandboxes, {THREADS} threads (provisioned in {provision:.1f} s)",
        f"  ours: {N / wall:6.1f} logins/s, all in {wall:.2f} s, p50 {median(lat) * 1000:.1f} ms, p99 {percentile(lat, 99) * 1000:.1f} ms",
        f"  OWASP Argon2id check alone: {N / base_wall:6.1f} /s, all in {base_wall:.2f} s, p50 {median(base_lat) * 1000:.1f} ms"
        f" | ratio ours/OWASP throughput {base_wall / wall:.2f}",
    ]
