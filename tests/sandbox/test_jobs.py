"""The kernel's job queue (``sandbox.kernel.jobs``), on SQLite and PostgreSQL: a job exists
exactly when the action that queued it committed; a try that raises is retried later with its
reason kept, then given up; the action a job records and the job's completion commit
together; a claim is a lease, taken over once it runs out, and the worker that lost it cannot
record anything any more; a job queued before the sandbox's closing time still acts after it.
The automatic clerk's job, built on this, is tested in ``tests/docflow/test_background_clerk.py``."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sandbox.kernel import jobs
from sandbox.kernel.actions import action
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Action
from sandbox.kernel.sandboxes import archive_sandbox, get_or_create_sandbox, set_closing_time

#: what the test job kinds are told to do, by the ``note`` of their job
BEHAVIOUR: dict[str, list] = {}


@action("test.queue_job", ids={}, result_ids={})
def _queue(ctx, *, note: str, fail: bool = False) -> dict:
    queued = jobs.enqueue(ctx, "test.job", {"note": note}, key=f"note:{note}", max_attempts=3)
    if fail:
        raise SandboxError("Thao tác thử bị từ chối.", "test failure")
    return {"queued": queued}


@action("test.job_done", ids={}, result_ids={})
def _done(ctx, *, note: str) -> dict:
    return {"note": note, "by": ctx.actor}


@jobs.job_kind("test.job")
def _job(run: jobs.JobRun) -> dict | None:
    plan = BEHAVIOUR.get(run.args["note"], [])
    step = plan.pop(0) if plan else "record"
    if step == "fail":
        raise SandboxError("Việc thử thất bại.", f"try {run.attempt}")
    if step == "crash":
        raise RuntimeError("boom")
    if step == "nothing":
        return {"nothing": True}
    return run.dispatch("nguoi.lam@cantho.gov.vn", "test.job_done", {"note": run.args["note"]})


@pytest.fixture
def rt(runtime):
    runtime.clock = runtime.dispatcher.clock = FixedClock()
    BEHAVIOUR.clear()
    return runtime


def _sandbox(rt, name="ts101") -> int:
    return get_or_create_sandbox(rt.db, rt.clock, name)


def _job_row(rt, note: str) -> jobs.Job:
    with rt.db.read() as s:
        return s.scalar(select(jobs.Job).where(jobs.Job.key == f"note:{note}"))


def _logged(rt, sid: int, name: str = "test.job_done") -> list[Action]:
    with rt.db.read() as s:
        return list(s.scalars(select(Action).where(Action.sandbox_id == sid, Action.name == name)
                              .order_by(Action.seq)))


def test_a_job_exists_exactly_when_its_action_committed(rt):
    sid = _sandbox(rt)
    with pytest.raises(SandboxError):
        rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "a", "fail": True})
    assert _job_row(rt, "a") is None and jobs.run_pending(rt) == []
    assert rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "a"}) == {"queued": True}
    job = _job_row(rt, "a")
    assert (job.status, job.attempts, job.queued_seq, job.kind) == ("pending", 0, 1, "test.job")
    with rt.db.read() as s:
        assert jobs.waiting(s, sid) == 1 and jobs.find(s, sid, "note:a").id == job.id


def test_the_jobs_action_and_its_completion_commit_together(rt):
    sid = _sandbox(rt)
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "b"})
    [ran] = jobs.run_pending(rt)
    assert (ran.status, ran.outcome) == ("done", {"note": "b", "by": "nguoi.lam@cantho.gov.vn"})
    [entry] = _logged(rt, sid)
    assert entry.actor == "nguoi.lam@cantho.gov.vn" and entry.door is None  # no door: the system acts for her
    job = _job_row(rt, "b")
    assert (job.status, job.attempts, job.outcome, job.errors) == ("done", 1, ran.outcome, [])
    assert jobs.run_pending(rt) == []  # done once


def test_a_failing_job_is_retried_later_with_its_reasons_then_given_up(rt):
    sid = _sandbox(rt)
    BEHAVIOUR["c"] = ["fail", "crash", "fail"]
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "c"})
    [first] = jobs.run_pending(rt)
    assert first.status == "pending" and "Việc thử thất bại" in first.reason
    assert jobs.run_pending(rt) == []  # not due yet: it backs off (on the injected clock)
    rt.clock.advance(seconds=2)
    [second] = jobs.run_pending(rt)
    assert second.status == "pending" and second.reason == "RuntimeError: boom"
    rt.clock.advance(seconds=4)
    [third] = jobs.run_pending(rt)
    assert third.status == "failed"  # max_attempts=3
    job = _job_row(rt, "c")
    assert job.status == "failed" and job.attempts == 3 and job.finished_at is not None
    assert [e["attempt"] for e in job.errors] == [1, 2, 3]
    assert [e["reason"].split(" (")[0] for e in job.errors] == ["Việc thử thất bại.", "RuntimeError: boom",
                                                              "Việc thử thất bại."]
    assert _logged(rt, sid) == []
    rt.clock.advance(hours=1)
    assert jobs.run_pending(rt) == []


def test_a_job_with_nothing_to_do_is_done_without_an_action(rt):
    sid = _sandbox(rt)
    BEHAVIOUR["d"] = ["nothing"]
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "d"})
    [ran] = jobs.run_pending(rt)
    assert (ran.status, ran.outcome) == ("done", {"nothing": True}) and _logged(rt, sid) == []


def test_a_dead_workers_job_is_claimed_again_after_its_lease_and_the_late_worker_records_nothing(rt):
    sid = _sandbox(rt)
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "e"})
    dead = jobs.claim(rt, "worker-A")   # ... and worker A stops (killed) before running it
    assert dead is not None and _job_row(rt, "e").status == "running"
    assert jobs.run_one(rt, "worker-B") is None  # held: not taken while the lease lasts
    rt.clock.advance(seconds=jobs.LEASE.total_seconds() + 1)
    again = jobs.claim(rt, "worker-B")
    assert again is not None and again.id == dead.id and again.attempt == 2
    assert "lease expired" in _job_row(rt, "e").errors[0]["reason"]
    # worker A comes back and runs its stale claim: its action is rolled back with the job lost
    late = jobs.execute(dead)
    assert late.status == "lost" and _logged(rt, sid) == []
    ran = jobs.execute(again)
    assert ran.status == "done" and len(_logged(rt, sid)) == 1
    job = _job_row(rt, "e")
    assert (job.status, job.worker, job.attempts) == ("done", "worker-B", 2)


def test_a_job_queued_before_closing_still_acts_after_it(rt):
    sid = _sandbox(rt)
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "f"})
    set_closing_time(rt.db, sid, rt.clock.now() + timedelta(minutes=1))
    rt.clock.advance(minutes=5)
    with pytest.raises(SandboxError) as refused:  # the person herself is refused now
        rt.dispatcher.dispatch(sid, "nguoi.lam@cantho.gov.vn", "test.job_done", {"note": "f"})
    assert "hết thời gian" in refused.value.message_vi
    [ran] = jobs.run_pending(rt)
    assert ran.status == "done" and len(_logged(rt, sid)) == 1
    # a job queued after the closing time (by the system or an examiner) is refused like its actor
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "f2"})
    [late] = jobs.run_pending(rt)
    assert late.status == "pending" and "hết thời gian" in late.reason.lower()


def test_an_archived_sandbox_queues_and_runs_nothing(rt):
    sid = _sandbox(rt)
    rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "g"})
    archive_sandbox(rt.db, rt.clock, sid)
    assert jobs.run_pending(rt) == []  # skipped at the claim
    assert _job_row(rt, "g").status == "skipped" and _logged(rt, sid) == []
    assert rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "h"}) == {"queued": False}
    assert _job_row(rt, "h") is None


def test_the_worker_thread_runs_what_an_action_queues(rt):
    sid = _sandbox(rt)
    worker = jobs.Worker(rt, poll=0.05).start()
    try:
        rt.dispatcher.dispatch(sid, "system", "test.queue_job", {"note": "i"})
        assert jobs.wait_idle(rt, timeout=60)
    finally:
        worker.stop()
    assert _job_row(rt, "i").status == "done" and len(_logged(rt, sid)) == 1
    with rt.db.read() as s:
        assert s.scalar(select(func.count(jobs.Job.id)).where(jobs.Job.status != "done")) == 0
