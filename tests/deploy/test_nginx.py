"""Issue 15, nginx on loopback in front of ``sandbox serve web --workers 2`` (gunicorn), with
``serve smtp imap`` and ``serve worker`` beside it, as ``docs/deployment.md`` sets it up:

1. a candidate logs in through nginx and the seat recorded is the client's own address
   (nginx's X-Forwarded-For, one hop believed), a spoofed X-Forwarded-For not believed;
2. (acceptance 3) one gunicorn worker SIGKILLed while candidates keep sending mail: every
   request that was answered 2xx/3xx has its action in the log, and the requests after the
   kill succeed (nginx's next requests reach the other worker, or the one gunicorn starts).

On SQLite (several processes on one file: ``BEGIN IMMEDIATE``, ``busy_timeout``) and on the
throwaway PostgreSQL when the suite started one."""
from __future__ import annotations

import email
import http.client
import email.policy
import os
import signal
import threading
import time

from sqlalchemy import select

from sandbox.contest.models import Attempt
from sandbox.kernel.models import Action
from sandbox.kernel.settings import Settings
from sandbox.runtime import Runtime

from ..contest.portal_factory import make_portal_world
from ..factories import PASSWORD, make_world
from .conftest import Browser


def _runtime(data, url) -> Runtime:
    return Runtime.open(Settings(data_dir=data, database_url=url))


def _login_candidate(b: Browser, number: str, password: str) -> None:
    assert b.get("/thi")[0] == 200
    status, text, headers = b.post("/thi", {"number": number, "password": password})
    assert status == 302, text[-500:]
    assert b.get("/thi/bat-dau")[0] == 200
    assert b.post("/thi/bat-dau", {})[0] == 302


def test_a_candidate_through_nginx_is_recorded_at_their_own_address(tmp_path, database_url, deployment_factory):
    data = tmp_path / "data"
    rt = _runtime(data, database_url)
    try:
        world = make_portal_world(rt, n=2, questions=4)
    finally:
        rt.close()
    d = deployment_factory(data, workers=2, env={"SANDBOX_DATABASE_URL": database_url})
    assert len(d.worker_pids()) == 2

    honest = Browser(d.base_url)
    _login_candidate(honest, "TS001", world.passwords["TS001"])
    # a client that sends its own X-Forwarded-For: nginx appends what it saw; one hop is believed
    spoofer = Browser(d.base_url, headers={"X-Forwarded-For": "6.6.6.6"})
    _login_candidate(spoofer, "TS002", world.passwords["TS002"])

    rt = _runtime(data, database_url)
    try:
        with rt.db.read() as s:
            seats = dict(s.execute(select(Attempt.candidate_id, Attempt.last_seat)).all())
    finally:
        rt.close()
    assert seats == {world.candidates["TS001"]: "127.0.0.1", world.candidates["TS002"]: "127.0.0.1"}
    access = (d.nginx.folder / "access.log").read_text()
    assert "POST /thi/bat-dau" in access         # the requests did go through nginx


def _subjects_in_log(data, url, sandbox_id) -> set[str]:
    rt = _runtime(data, url)
    try:
        with rt.db.read() as s:
            rows = s.scalars(select(Action).where(Action.sandbox_id == sandbox_id, Action.name == "mail.submit")).all()
            raws = [r.args["raw"] for r in rows]
        return {email.message_from_bytes(rt.blobs.get(h), policy=email.policy.default)["Subject"] for h in raws}
    finally:
        rt.close()


def test_killing_one_worker_loses_no_acknowledged_action(tmp_path, database_url, deployment_factory):
    data = tmp_path / "data"
    rt = _runtime(data, database_url)
    try:
        world = make_world(rt)
        people = [(k, ref.address) for k, ref in world.items()]
    finally:
        rt.close()
    d = deployment_factory(data, workers=2, env={"SANDBOX_DATABASE_URL": database_url})
    workers = d.worker_pids()
    assert len(workers) == 2, d.logs()

    lock = threading.Lock()
    answers: list[tuple[float, float, str, int]] = []      # (sent, answered, subject, status)
    killed_at: list[float] = []
    stop = threading.Event()
    after_kill_ok: dict[str, int] = {}

    def candidate(key: str, address: str) -> None:
        b = Browser(d.base_url)
        b.get("/login")
        status, text, _ = b.post("/login", {"login": address, "password": PASSWORD})
        assert status == 302, text[-300:]
        to = next(a for k, a in people if k != key)
        i = 0
        while not stop.is_set():
            i += 1
            subject = f"Thư {key} số {i}"
            t0 = time.monotonic()
            try:
                b.get("/mail/compose")
                status, _text, _h = b.post("/mail/compose", {"to": to, "cc": "", "bcc": "", "subject": subject,
                                                            "body": f"Nội dung {i}.", "send": "1"})
            except (OSError, http.client.HTTPException):   # cut off by the dying worker: not acknowledged
                status = 0
            t1 = time.monotonic()
            with lock:
                answers.append((t0, t1, subject, status))
                if killed_at and t0 > killed_at[0] and 200 <= status < 400:
                    after_kill_ok[key] = after_kill_ok.get(key, 0) + 1

    threads = [threading.Thread(target=candidate, args=p, daemon=True) for p in people]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:        # a run going on: some mails acknowledged on each side
        with lock:
            if sum(1 for a in answers if 200 <= a[3] < 400) >= 12:
                break
        time.sleep(0.05)
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    with lock:
        killed_at.append(time.monotonic())
    while time.monotonic() < deadline:        # every candidate goes on: several answered sends each
        with lock:
            if len(after_kill_ok) == len(people) and min(after_kill_ok.values()) >= 4:
                break
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(60)

    assert victim not in d.worker_pids()
    assert len(after_kill_ok) == len(people) and min(after_kill_ok.values()) >= 4, (after_kill_ok, d.logs())
    kill = killed_at[0]
    acknowledged = {s for _t0, _t1, s, st in answers if 200 <= st < 400}
    in_flight = [(s, st) for t0, t1, s, st in answers if t0 <= kill <= t1]
    after = [(s, st) for t0, _t1, s, st in answers if t0 > kill]
    assert all(200 <= st < 400 for _s, st in after), [a for a in after if not 200 <= a[1] < 400]
    assert all(200 <= st < 400 or st in (0, 502) for _s, st in in_flight), in_flight
    logged = _subjects_in_log(data, database_url, world.sandbox_id)
    assert acknowledged <= logged, sorted(acknowledged - logged)
    assert len(acknowledged) >= 12 + 4 * len(people)
