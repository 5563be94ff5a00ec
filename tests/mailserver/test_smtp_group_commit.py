"""SMTP group commit (issue 14): messages arriving together share one write transaction, each
still its own logged ``mail.submit`` action, and each client is answered 250 only after that
transaction committed; when the transaction fails the clients get a failure, and nothing of
it is stored; one refused message does not cost the others theirs."""
from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import threading

import pytest

from sqlalchemy import event, func, select

from bench.common import run_async
from mailserver.smtp import GroupCommitter
from sandbox.kernel.models import Action
from sandbox.kernel.sandboxes import set_closing_time
from tests.factories import PASSWORD, make_message, make_world

from .helpers import chain_ok, inbox

SENDER, RCPT = "lanhdao@cantho.gov.vn", "vanthu@cantho.gov.vn"


def submissions(rt, sandbox_id: int) -> int:
    with rt.db.read() as s:
        return s.scalar(select(func.count()).select_from(Action).where(Action.sandbox_id == sandbox_id,
                                                                       Action.name == "mail.submit"))


def commits_of(rt) -> list:
    """The commits of write transactions (``Database.write``). A blob put on PostgreSQL is a
    small commit of its own, on purpose (``sandbox.kernel.shared``): not counted."""
    seen = []
    event.listen(rt.db.engine, "commit",
                 lambda conn: seen.append(1) if conn.get_execution_options().get("sandbox_write") else None)
    return seen


def run_together(committer: GroupCommitter, items: list[tuple]) -> list:
    """``submit`` each item as a client would, all at the same moment (one event loop)."""
    async def main():
        return await asyncio.gather(*[committer.submit(acc, raw, [RCPT], SENDER, "127.0.0.1") for acc, raw in items],
                                    return_exceptions=True)
    return run_async(main())


def test_messages_arriving_together_share_one_transaction(runtime):
    a, b = make_world(runtime, "ts001"), make_world(runtime, "ts002")
    committer = GroupCommitter(runtime)
    commits = commits_of(runtime)
    items = [(w["lanhdao"], make_message(SENDER, [RCPT], subject=f"Thư {i}")) for i in range(3) for w in (a, b)]
    for _acc, raw in items:
        runtime.blobs.put(raw)
    results = run_together(committer, items)
    assert all(isinstance(r, dict) and r["submission_id"] for r in results)
    assert committer.batches == [6] and len(commits) == 1
    for w in (a, b):   # one logged action per message, in arrival order, chain intact
        assert submissions(runtime, w.sandbox_id) == 3 and chain_ok(runtime, w.sandbox_id)
        assert [m[0] for m in inbox(runtime, w["vanthu"])] == ["Thư 0", "Thư 1", "Thư 2"]


def test_a_refused_message_does_not_cost_the_others(runtime):
    a, closed = make_world(runtime, "ts001"), make_world(runtime, "ts002")
    set_closing_time(runtime.db, closed.sandbox_id, runtime.clock.now() - dt.timedelta(minutes=1))
    committer = GroupCommitter(runtime)
    items = [(a["lanhdao"], make_message(SENDER, [RCPT], subject="Trước")),
             (closed["lanhdao"], make_message(SENDER, [RCPT], subject="Hết giờ")),
             (a["lanhdao"], make_message(SENDER, [RCPT], subject="Sau"))]
    results = run_together(committer, items)
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert type(results[1]).__name__ == "Forbidden"
    assert [m[0] for m in inbox(runtime, a["vanthu"])] == ["Trước", "Sau"] and inbox(runtime, closed["vanthu"]) == []
    assert submissions(runtime, closed.sandbox_id) == 0 and chain_ok(runtime, a.sandbox_id)


def test_a_failed_commit_answers_a_failure_never_250(world, smtp_server, runtime):
    """The transaction dies at its commit: every client of it hears 451 and nothing is kept;
    once the database is back, the same message is stored and answered 250."""
    failing = {"on": True}

    @event.listens_for(runtime.db.engine, "commit")
    def _boom(conn):
        if failing["on"]:
            raise RuntimeError("the disk is full")

    answers: list = []

    def client(i: int):
        with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=20) as c:
            c.login(SENDER, PASSWORD)
            try:
                c.sendmail(SENDER, [RCPT], make_message(SENDER, [RCPT], subject=f"Thư {i}"))
                answers.append(250)
            except smtplib.SMTPDataError as e:
                answers.append(e.smtp_code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [451] * 4
    assert inbox(runtime, world["vanthu"]) == [] and submissions(runtime, world.sandbox_id) == 0
    assert chain_ok(runtime, world.sandbox_id)
    failing["on"] = False
    client(9)
    assert answers[-1] == 250 and [m[0] for m in inbox(runtime, world["vanthu"])] == ["Thư 9"]


def test_many_clients_over_smtp_each_message_logged_once(world, smtp_server, runtime):
    barrier = threading.Barrier(5)
    codes: list = []

    def client(i: int):
        with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=20) as c:
            c.login(SENDER, PASSWORD)
            barrier.wait()
            for k in range(4):
                codes.append(c.sendmail(SENDER, [RCPT], make_message(SENDER, [RCPT], subject=f"Thư {i}-{k}")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [{}] * 20
    assert submissions(runtime, world.sandbox_id) == 20 and chain_ok(runtime, world.sandbox_id)
    assert sum(smtp_server.handler_obj.committer.batches) == 20
    subjects = sorted(m[0] for m in inbox(runtime, world["vanthu"]))
    assert subjects == sorted(f"Thư {i}-{k}" for i in range(5) for k in range(4))


@pytest.fixture
def world(runtime):
    return make_world(runtime)
