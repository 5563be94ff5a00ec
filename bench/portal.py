"""Candidate portal under a shift of 600 candidates, against `sandbox serve web` (waitress, a
separate process, like the exam day):

* login storm: every candidate opens /thi, logs in with number and password and lands on
  the start page; first the exam-day shape, 600 arrivals spread evenly over one minute (the
  plan: all served, p95 <= 1 s), then a burst, all at once from 50 concurrent browsers;
* baseline: a do-nothing request (a static file) from 50 browsers, the floor of the stack;
* synchronised starts: each candidate on a new seat logs in, starts and opens the theory page
  (30 questions; the papers were drawn beforehand, as provisioning does), 50 at a time
  (target of issue 14: p95 ≤ 500 ms);
* theory autosave: the 600 candidates, started, each click posting one answer
  (/thi/ly-thuyet/tra-loi with the CSRF header), 5 clicks each, 50 at a time (target p95 ≤ 100 ms).

Each figure gives the server's CPU per request and the load average (other work on the
machine changes every figure).

``BENCH_PORTAL_CANDIDATES`` changes the 600."""
from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import free_port, median, percentile

N = int(os.environ.get("BENCH_PORTAL_CANDIDATES", "600"))
CLIENTS = 50
CLICKS = 5
PACE_SECONDS = float(os.environ.get("BENCH_PORTAL_MINUTE", "60"))   # the "same minute" of the storm
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _prepare(data: Path) -> dict[str, str]:
    """A contest with N candidates in the data folder; their passwords."""
    from sqlalchemy import select

    from sandbox.contest import theory
    from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit
    from sandbox.contest.passwords import candidate_password
    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings

    rt = Runtime.open(Settings(data_dir=data))
    theory.ensure_sample_bank(rt)
    with rt.db.write() as s:
        c = Contest(code="bench", name="Cuộc thi thử tải", year=2024, duration_minutes=60, rules={},
                    created_at=dt.datetime.now(dt.timezone.utc))
        s.add(c)
        s.flush()
        s.add(ContestPart(contest_id=c.id, name="Lý thuyết", kind="theory", points=60, position=0,
                          settings={"bank": "mau", "questions": 30}))
        s.add(ContestPart(contest_id=c.id, name="Thực hành", kind="practical", points=40, position=1, settings={}))
        u = ContestUnit(contest_id=c.id, name="Sở Thông tin và Truyền thông", tier="so")
        s.add(u)
        s.flush()
        for i in range(N):
            s.add(Candidate(contest_id=c.id, number=f"TS{i:04d}", full_name=f"Thí sinh {i}", unit_id=u.id))
        s.flush()
        ids = list(s.scalars(select(Candidate.id).where(Candidate.contest_id == c.id)))
    if hasattr(theory, "prepare_papers"):   # what provisioning does: the papers are drawn before the exam
        theory.prepare_papers(rt, ids)
    passwords = {f"TS{i:04d}": candidate_password(rt.secret, "bench", f"TS{i:04d}") for i in range(N)}
    rt.close()
    return passwords


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as r:
            body = r.read().decode()
        m = CSRF.search(body)
        if m:
            self.token = m.group(1)
        return body

    def post(self, path: str, form: dict) -> str:
        data = urllib.parse.urlencode({**form, "csrf_token": self.token}, doseq=True).encode()
        with self.opener.open(self.base + path, data=data, timeout=60) as r:
            body = r.read().decode()
        m = CSRF.search(body)
        if m:
            self.token = m.group(1)
        return body

    def post_json(self, path: str, payload: dict) -> dict:
        req = urllib.request.Request(self.base + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-CSRFToken": self.token})
        with self.opener.open(req, timeout=60) as r:
            return json.loads(r.read())


def _run(fn, items, pace: float = 0.0, clients: int = CLIENTS) -> tuple[float, list[float], int]:
    lat: list[float] = []
    errors = 0

    def one(x):
        nonlocal errors
        t = time.perf_counter()
        try:
            fn(x)
        except Exception:  # noqa: BLE001  (counted, reported)
            errors += 1
            return
        lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    items = list(items)

    def paced(i_x):
        i, x = i_x
        wait = t0 + pace * i / max(1, len(items)) - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        one(x)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(paced, enumerate(items)))
    return time.perf_counter() - t0, lat, errors


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> list[str]:
    from .provision import load_average

    data = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    t0 = time.perf_counter()
    passwords = _prepare(data)
    prep = time.perf_counter() - t0
    port = free_port()
    env = {**os.environ, "SANDBOX_DATA_DIR": str(data)}
    env.pop("SANDBOX_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "web", "--http-port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/thi", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        browsers = {n: Browser(base) for n in passwords}

        def login(number: str) -> None:
            b = browsers[number]
            b.get("/thi")
            page = b.post("/thi", {"number": number, "password": passwords[number]})
            assert "Bắt đầu làm bài" in page, page[:300]

        numbers = list(passwords)
        half = len(numbers) // 2
        wall, lat, err = _run(login, numbers, pace=PACE_SECONDS, clients=200)
        lines = [f"Candidate portal: {N} candidates against `sandbox serve web` (waitress, 8 threads, SQLite;"
                 f" contest prepared in {prep:.1f} s; {load_average()})",
                 f"  login storm, {N} arrivals over {PACE_SECONDS:.0f} s (form, login, start page): {len(lat)}/{N} served,"
                 f" {err} errors; p50 {median(lat) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms,"
                 f" max {max(lat or [0]) * 1000:.0f} ms"]
        browsers.update({n: Browser(base) for n in numbers[:half]})     # half of them again, on new seats, at once
        wall, lat, err = _run(login, numbers[:half])
        lines.append(f"  login burst, {half} at once from {CLIENTS} browsers: {len(lat)}/{half} served, {err} errors,"
                     f" all in {wall:.1f} s ({half / wall:.0f}/s); p50 {median(lat) * 1000:.0f} ms,"
                     f" p95 {percentile(lat, 95) * 1000:.0f} ms, max {max(lat or [0]) * 1000:.0f} ms")

        def floor(_i) -> None:       # the baseline: a do-nothing request (a static file) through the same stack
            urllib.request.urlopen(base + "/static/portal.css", timeout=60).read()

        wall, lat, err = _run(floor, range(N))
        floor_p50, floor_p95 = median(lat) * 1000, percentile(lat, 95) * 1000
        lines.append(f"  baseline, a static file, {N} requests from {CLIENTS} browsers: {err} errors, {N / wall:.0f}/s;"
                     f" p50 {floor_p50:.0f} ms, p95 {floor_p95:.0f} ms ({load_average()})")

        questions: dict[str, list[int]] = {}
        fresh = {n: Browser(base) for n in numbers}

        def start(number: str) -> None:
            """A candidate arriving on a new seat: login, start, the theory page."""
            b = fresh[number]
            b.get("/thi")
            page = b.post("/thi", {"number": number, "password": passwords[number]})
            assert "Bắt đầu làm bài" in page or "Bài thi" in page, page[:300]
            page = b.post("/thi/bat-dau", {})
            assert "Phần thi" in page, page[:300]
            page = b.get("/thi/ly-thuyet")
            questions[number] = [int(q) for q in re.findall(r'data-question="(\d+)"', page)][:CLICKS]
            assert len(questions[number]) == CLICKS, page[:300]

        cpu0 = _cpu_seconds(proc.pid)
        wall, lat, err = _run(start, numbers)
        cpu = (_cpu_seconds(proc.pid) - cpu0) / N * 1000
        lines.append(f"  {N} synchronised starts (login + start + theory page, 30 questions, papers drawn at"
                     f" provisioning), {CLIENTS} browsers at once: {len(lat)}/{N}, {err} errors, all in {wall:.1f} s;"
                     f" p50 {median(lat) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms (target ≤ 500 ms);"
                     f" server CPU {cpu:.1f} ms per start ({load_average()})")

        clicks = [(n, q) for k in range(CLICKS) for n in numbers for q in questions.get(n, [])[k:k + 1]]

        def click(item) -> None:
            number, qid = item
            res = fresh[number].post_json("/thi/ly-thuyet/tra-loi", {"question": qid, "chosen": [1]})
            assert res.get("ok"), res

        cpu0 = _cpu_seconds(proc.pid)
        wall, lat, err = _run(click, clicks)
        cpu = (_cpu_seconds(proc.pid) - cpu0) / max(1, len(clicks)) * 1000
        lines.append(f"  theory autosave: {len(lat)}/{len(clicks)} clicks saved from {CLIENTS} browsers, {err} errors,"
                     f" all in {wall:.1f} s ({len(clicks) / wall:.0f}/s); p50 {median(lat) * 1000:.0f} ms,"
                     f" p95 {percentile(lat, 95) * 1000:.0f} ms (target ≤ 100 ms), max {max(lat or [0]) * 1000:.0f} ms;"
                     f" server CPU {cpu:.2f} ms per click (baseline p95 {floor_p95:.0f} ms) ({load_average()})")
        return lines
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
