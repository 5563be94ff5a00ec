"""Background jobs: work an action leaves for later, kept in the database (docs/architecture.md,
"Jobs").

An action's handler (or a reaction) calls :func:`enqueue` inside its transaction: the job
exists exactly when the action committed. A worker claims due jobs one at a time and runs the
function registered for the job's kind (:func:`job_kind`, by a package above the kernel; the
kernel knows none of them). Such a function does its slow work first, outside any
transaction (signing, verifying, rendering), and then records the outcome with **one** action
through :meth:`JobRun.dispatch`; that action's transaction also marks the job done, so the
outcome and the job's completion commit together or not at all.

Claiming: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` (two workers never take the same
row; each takes the next free one without waiting); on SQLite the claim runs inside the one
write transaction of the database (``BEGIN IMMEDIATE``), so claims are serialised anyway, and
one worker is run (the thread of ``sandbox serve``).

A claim is a lease (:data:`LEASE`, on the injected clock): a job whose worker died while
holding it is claimed again once the lease has run out, with the reason kept. A worker that
comes back after its lease was taken over cannot record its outcome any more: the completion
checks that the job is still its own (same worker, same attempt), and if not, its action is
rolled back. A function that raises is retried later (backing off) with the reason kept, up
to the job's ``max_attempts``; then the job is ``failed``, its reasons still there.

Jobs of an archived sandbox (a replay's copy, a practice attempt set aside) are not queued
and not run: a replay re-applies the logged outcome of the job instead.

Without a worker (tests, scripts, the CLI) :func:`run_pending` runs every due job in this
thread, in queue order: a deterministic way to drain the queue (:func:`drain` also waits for a
job another worker of the process is running).
"""
from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from sandbox.kernel.clock import as_utc
from sandbox.kernel.db import Base
from sandbox.kernel.errors import SandboxError

log = logging.getLogger(__name__)

#: how long a claim holds before another worker may take the job over
LEASE = timedelta(seconds=60)
#: tries before a job is given up (``failed``)
DEFAULT_ATTEMPTS = 5
#: how long a worker sleeps when nothing is due (a job queued in its own process wakes it at once)
POLL_SECONDS = 0.5
#: where a runtime's in-process worker listens for "a job was queued" (``dispatcher.services``)
WAKE_SERVICE = "jobs_wake"

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"


class Job(Base):
    """One piece of work left by an action."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_after"), Index("ix_jobs_key", "sandbox_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    #: what it is about, for lookups (``"outgoing:12"``)
    key: Mapped[str] = mapped_column(String(200), default="")
    args: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    #: the in-world time and log position of the action that queued it
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    queued_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: not before (a retry backs off)
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=DEFAULT_ATTEMPTS)
    #: the worker holding it (or that held it last) and until when
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True, default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)
    #: every failed try: ``[{"attempt", "at", "worker", "reason"}]``
    errors: Mapped[list] = mapped_column(JSON, default=list)
    #: what the job's function (or the action it recorded) returned
    outcome: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=None)


# --- kinds ------------------------------------------------------------------------------------
JobFn = Callable[["JobRun"], dict | None]
#: kind → its function (registered by the packages above; never imported here)
KINDS: dict[str, JobFn] = {}


def job_kind(name: str) -> Callable[[JobFn], JobFn]:
    """Register ``fn(run: JobRun) -> dict | None`` for jobs of kind ``name``. It does its slow
    work outside any transaction and records the outcome with one ``run.dispatch(...)``; it
    may also return without an action (nothing left to do): the job is then done with what
    it returned. It must be safe to run again after a crash (check the state first)."""
    def register(fn: JobFn) -> JobFn:
        if KINDS.get(name, fn) is not fn and KINDS[name].__qualname__ != fn.__qualname__:
            raise RuntimeError(f"job kind {name!r} registered twice")
        KINDS[name] = fn
        return fn

    return register


class JobLost(SandboxError):
    """The job is no longer this worker's (its lease ran out and another took it over)."""


# --- queueing (inside an action) ----------------------------------------------------------------
def enqueue(ctx, kind: str, args: dict, *, key: str = "", max_attempts: int = DEFAULT_ATTEMPTS) -> bool:
    """Queue a job from inside an action (``ctx``: its ``ActionContext``): it exists once the
    action commits. Not queued in an archived sandbox (a replay's copy: the log holds the
    job's outcome, which the replay re-applies). Returns whether it was queued."""
    if ctx.sandbox.archived_at is not None:
        return False
    ctx.session.add(Job(sandbox_id=ctx.sandbox.id, kind=kind, key=key, args=dict(args), status=PENDING,
                        queued_at=ctx.now, queued_seq=ctx.sandbox.log_seq + 1, run_after=ctx.now,
                        attempts=0, max_attempts=max_attempts, errors=[]))
    wake = ctx.services.get(WAKE_SERVICE)
    if wake is not None:
        ctx.after_commit(wake.set)
    return True


# --- claiming ---------------------------------------------------------------------------------
_NAMES = itertools.count(1)


def worker_name(label: str = "worker") -> str:
    """A name no other worker has (host, process, a number of this process)."""
    return f"{label}@{socket.gethostname()}:{os.getpid()}:{next(_NAMES)}"


def _due(now: datetime, sandbox_id: int | None = None, kinds: tuple[str, ...] | None = None):
    cond = or_(and_(Job.status == PENDING, Job.run_after <= now),
               and_(Job.status == RUNNING, Job.lease_until < now))
    if sandbox_id is not None:
        cond = and_(cond, Job.sandbox_id == sandbox_id)
    if kinds:
        cond = and_(cond, Job.kind.in_(kinds))
    return cond


#: test hook: called with the claimed row inside the claiming transaction (before it commits)
_CLAIM_HOOK: Callable[[Job], None] | None = None


@dataclass
class JobRun:
    """A claimed job, as its function sees it."""

    runtime: Any
    id: int
    sandbox_id: int
    kind: str
    args: dict
    attempt: int
    worker: str
    queued_at: datetime
    queued_seq: int
    _outcome: dict | None = field(default=None, repr=False)
    _recorded: bool = field(default=False, repr=False)

    def dispatch(self, actor: str, name: str, args: dict) -> dict:
        """Record the job's outcome as one action by ``actor``; the same transaction marks the
        job done (or, if the job is no longer this worker's, the action is rolled back:
        :class:`JobLost`). No door (the system acts for ``actor``); a job queued before the
        sandbox's closing time may still act after it. Returns the action's result."""
        from sandbox.kernel.actions import DOOR

        if self._recorded:
            raise RuntimeError(f"job {self.id}: one action per job")
        token = DOOR.set("")
        try:
            result = self.runtime.dispatcher.apply(
                self.sandbox_id, actor, name, args, queued_at=self.queued_at,
                in_transaction=lambda session, result: _finish(session, self, DONE, result)).result
        finally:
            DOOR.reset(token)
        self._recorded, self._outcome = True, result
        return result


def claim(runtime, worker: str | None = None, *, lease: timedelta = LEASE, sandbox_id: int | None = None,
          kinds: tuple[str, ...] | None = None) -> JobRun | None:
    """Take the oldest due job (pending and due, or running with its lease run out), or None."""
    worker = worker or worker_name()
    now = as_utc(runtime.clock.now())
    with runtime.db.read() as s:  # a cheap look first: an idle worker never takes the write lock
        if s.scalar(select(Job.id).where(_due(now, sandbox_id, kinds)).limit(1)) is None:
            return None
    from sandbox.kernel.models import Sandbox

    while True:
        with runtime.db.write() as s:
            job = s.scalars(select(Job).where(_due(now, sandbox_id, kinds)).order_by(Job.id).limit(1)
                            .with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            if _CLAIM_HOOK is not None:
                _CLAIM_HOOK(job)
            if job.status == RUNNING:  # its worker stopped (or stalled) holding it
                job.errors = [*job.errors, {"attempt": job.attempts, "at": now.isoformat(), "worker": job.worker,
                                            "reason": "hết hạn giữ việc: tiến trình xử lý đã dừng giữa chừng "
                                                      "(lease expired)"}]
                if job.attempts >= job.max_attempts:
                    job.status, job.finished_at, job.lease_until = FAILED, now, None
                    continue
            archived = s.scalar(select(Sandbox.archived_at).where(Sandbox.id == job.sandbox_id))
            if archived is not None:
                job.status, job.finished_at, job.lease_until = SKIPPED, now, None
                job.outcome = {"skipped": "sandbox archived"}
                continue
            job.status, job.worker, job.lease_until = RUNNING, worker, now + lease
            job.attempts += 1
            return JobRun(runtime, job.id, job.sandbox_id, job.kind, dict(job.args), job.attempts, worker,
                          as_utc(job.queued_at), job.queued_seq)


def _finish(session: Session, run: JobRun, status: str, outcome: dict | None, *, reason: str | None = None,
            retry_at: datetime | None = None, now: datetime | None = None) -> None:
    """Record the end of a try, only if the job is still this worker's (else :class:`JobLost`)."""
    now = now or as_utc(run.runtime.clock.now())
    mine = and_(Job.id == run.id, Job.status == RUNNING, Job.worker == run.worker, Job.attempts == run.attempt)
    if status == DONE:
        values = dict(status=DONE, outcome=outcome, finished_at=now, lease_until=None)
    else:
        errors = session.scalar(select(Job.errors).where(mine)) or []
        errors = [*errors, {"attempt": run.attempt, "at": now.isoformat(), "worker": run.worker, "reason": reason}]
        values = dict(status=status, errors=errors, lease_until=None,
                      **({"run_after": retry_at} if retry_at is not None else {"finished_at": now}))
    done = session.execute(update(Job).where(mine).values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise JobLost("Việc nền đã được tiến trình khác nhận xử lý.",
                      f"job {run.id} attempt {run.attempt} is no longer held by {run.worker}")


def backoff(attempt: int) -> timedelta:
    """The wait before try ``attempt + 1``: 2, 4, 8 … seconds, at most 5 minutes."""
    return timedelta(seconds=min(300, 2 ** attempt))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SandboxError):
        return f"{exc.message_vi} ({exc.detail})" if exc.detail else exc.message_vi
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Ran:
    """What one try of a job ended with."""

    id: int
    kind: str
    sandbox_id: int
    status: str            # done | pending (will be retried) | failed | lost
    outcome: dict | None
    reason: str | None = None


def execute(run: JobRun) -> Ran:
    """Run a claimed job's function and record how it ended."""
    fn = KINDS.get(run.kind)
    try:
        if fn is None:
            raise SandboxError("Loại việc nền không được hỗ trợ.", f"no function for job kind {run.kind!r}")
        outcome = fn(run)
        if run._recorded:
            return Ran(run.id, run.kind, run.sandbox_id, DONE, run._outcome)
        with run.runtime.db.write() as s:
            _finish(s, run, DONE, outcome)
        return Ran(run.id, run.kind, run.sandbox_id, DONE, outcome)
    except JobLost as exc:
        log.warning("job %s: %s", run.id, exc.detail)
        return Ran(run.id, run.kind, run.sandbox_id, "lost", None, _reason(exc))
    except Exception as exc:  # noqa: BLE001 - every failure is kept with the job and retried
        if run._recorded:  # its action is recorded (the job with it): what failed after does not undo it
            log.exception("job %s (%s) failed after recording its action", run.id, run.kind)
            return Ran(run.id, run.kind, run.sandbox_id, DONE, run._outcome)
        reason = _reason(exc)
        if not isinstance(exc, SandboxError):
            log.exception("job %s (%s) failed", run.id, run.kind)
        now = as_utc(run.runtime.clock.now())
        with run.runtime.db.read() as s:
            limit = s.scalar(select(Job.max_attempts).where(Job.id == run.id)) or DEFAULT_ATTEMPTS
        last = run.attempt >= limit or fn is None
        try:
            with run.runtime.db.write() as s:
                _finish(s, run, FAILED if last else PENDING, None, reason=reason,
                        retry_at=None if last else now + backoff(run.attempt), now=now)
        except JobLost:
            return Ran(run.id, run.kind, run.sandbox_id, "lost", None, reason)
        return Ran(run.id, run.kind, run.sandbox_id, FAILED if last else PENDING, None, reason)


def run_one(runtime, worker: str | None = None, *, lease: timedelta = LEASE, sandbox_id: int | None = None,
            kinds: tuple[str, ...] | None = None) -> Ran | None:
    """Claim one due job and run it (None: nothing was due)."""
    got = claim(runtime, worker, lease=lease, sandbox_id=sandbox_id, kinds=kinds)
    return execute(got) if got is not None else None


def run_pending(runtime, *, sandbox_id: int | None = None, kinds: tuple[str, ...] | None = None,
                limit: int = 10_000) -> list[Ran]:
    """Run every due job in this thread, oldest first, until none is due (a job retried later
    is not waited for): what tests, scripts and the CLI use instead of a worker."""
    worker = worker_name("run_pending")
    out: list[Ran] = []
    while len(out) < limit:
        ran = run_one(runtime, worker, sandbox_id=sandbox_id, kinds=kinds)
        if ran is None:
            break
        out.append(ran)
    return out


def drain(runtime, *, sandbox_id: int | None = None, timeout: float = 60.0) -> list[Ran]:
    """:func:`run_pending`, then, while a job is still running in another worker (a worker
    thread beside, as in a test's live server), wait for it and run what is due again: for a
    caller that needs the outcome now. A job retried later is not waited for; a job held by a
    worker that does not finish is waited for ``timeout`` seconds at most."""
    import time

    deadline = time.monotonic() + timeout
    out: list[Ran] = []
    while True:
        out += run_pending(runtime, sandbox_id=sandbox_id)
        with runtime.db.read() as s:
            q = select(Job.id).where(Job.status == RUNNING)
            busy = s.scalar(q.where(Job.sandbox_id == sandbox_id) if sandbox_id is not None else q) is not None
        if not busy or time.monotonic() >= deadline:
            return out
        time.sleep(0.02)


def waiting(session: Session, sandbox_id: int | None = None) -> int:
    """How many jobs are pending or running (of a sandbox, or of all)."""
    from sqlalchemy import func

    q = select(func.count(Job.id)).where(Job.status.in_((PENDING, RUNNING)))
    if sandbox_id is not None:
        q = q.where(Job.sandbox_id == sandbox_id)
    return session.scalar(q) or 0


def find(session: Session, sandbox_id: int, key: str, kind: str | None = None) -> Job | None:
    """The newest job of a sandbox about ``key`` (``"outgoing:12"``), or None."""
    q = select(Job).where(Job.sandbox_id == sandbox_id, Job.key == key)
    if kind is not None:
        q = q.where(Job.kind == kind)
    return session.scalars(q.order_by(Job.id.desc()).limit(1)).first()


def wait_idle(runtime, *, sandbox_id: int | None = None, timeout: float = 30.0) -> bool:
    """Wait (polling) until no job is pending or running, e.g. while a worker thread works;
    True when idle, False after ``timeout`` seconds. For tests and scripts."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.read() as s:
            if waiting(s, sandbox_id) == 0:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def listing(session: Session, *, statuses: tuple[str, ...] | None = None, sandbox_id: int | None = None,
            limit: int = 500) -> list[Job]:
    """Jobs, newest first (of some statuses, of a sandbox): what ``sandbox jobs list`` shows."""
    q = select(Job)
    if statuses:
        q = q.where(Job.status.in_(statuses))
    if sandbox_id is not None:
        q = q.where(Job.sandbox_id == sandbox_id)
    return list(session.scalars(q.order_by(Job.id.desc()).limit(limit)))


def failed_of(session: Session, sandbox_ids: list[int]) -> dict[int, list[Job]]:
    """The failed jobs of these sandboxes, by sandbox: work an automatic participant (the
    clerk) could not do, so the sandbox lacks it through no fault of the candidate."""
    out: dict[int, list[Job]] = {}
    if not sandbox_ids:
        return out
    for job in session.scalars(select(Job).where(Job.status == FAILED, Job.sandbox_id.in_(sandbox_ids))
                               .order_by(Job.id)):
        out.setdefault(job.sandbox_id, []).append(job)
    return out


def retry(runtime, job_ids: list[int] | None = None, *, failed: bool = False, by: str = "cli") -> list[int]:
    """Queue failed jobs again (the ones named, or every failed one with ``failed``): due now,
    with as many tries again as they first had; their earlier reasons are kept, with a line
    saying who asked. A job that is not failed is left alone. Returns the ids queued again."""
    if not job_ids and not failed:
        return []
    now = as_utc(runtime.clock.now())
    again: list[int] = []
    with runtime.db.write() as s:
        q = select(Job).where(Job.status == FAILED)
        if job_ids:
            q = q.where(Job.id.in_(job_ids))
        for job in s.scalars(q.order_by(Job.id)):
            job.errors = [*job.errors, {"attempt": job.attempts, "at": now.isoformat(), "worker": by,
                                        "reason": "cho chạy lại theo yêu cầu (retry requested)"}]
            job.status, job.run_after, job.finished_at, job.lease_until = PENDING, now, None, None
            job.max_attempts = job.attempts + max(1, job.max_attempts or DEFAULT_ATTEMPTS)
            again.append(job.id)
    wake = runtime.dispatcher.services.get(WAKE_SERVICE)
    if again and wake is not None:
        wake.set()
    return again


# --- the worker -------------------------------------------------------------------------------
class Worker:
    """Claims and runs jobs until stopped: a thread of ``sandbox serve``, or the whole of
    ``sandbox serve worker``. A job queued by an action of the same process wakes it at once;
    otherwise it looks every :data:`POLL_SECONDS`."""

    def __init__(self, runtime, *, name: str | None = None, poll: float = POLL_SECONDS, lease: timedelta = LEASE):
        self.runtime = runtime
        self.name = name or worker_name()
        self.poll = poll
        self.lease = lease
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        runtime.dispatcher.services[WAKE_SERVICE] = self._wake

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_one(self.runtime, self.name, lease=self.lease)
            except Exception:  # noqa: BLE001 - the database may be away for a moment: try again
                log.exception("job worker %s", self.name)
                ran = None
            if ran is None:
                self._wake.wait(self.poll)
                self._wake.clear()

    def start(self) -> "Worker":
        self._thread = threading.Thread(target=self.run_forever, name="jobs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.runtime.dispatcher.services.get(WAKE_SERVICE) is self._wake:
            del self.runtime.dispatcher.services[WAKE_SERVICE]
