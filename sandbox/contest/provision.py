"""Provisioning a shift: one sandbox per candidate, built from the candidate's exam set
(the shift's, or its backup after a switch) with a seed derived from the contest and the
candidate number, named ``<contest>-<number>``.

Idempotent: a candidate whose sandbox already holds their exam set is skipped; a candidate
switched to the backup set gets a new sandbox and the old one is archived (kept, renamed
``<name>~1``). Absent candidates are skipped. Progress goes to a callback (the CLI's
progress bar) and, for the admin page, to a ``ProvisionJob`` row that the page polls."""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field

from sqlalchemy import select

from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Sandbox
from sandbox.kernel.sandboxes import archive_sandbox, find_sandbox

from .admin_models import ProvisionJob
from .build_workers import sqlite_path
from .models import Candidate, Shift

log = logging.getLogger(__name__)


def candidate_seed(contest_code: str, number: str) -> int:
    """The candidate's seed: the same contest and number always draw the same task values."""
    return int.from_bytes(hashlib.sha256(f"seed:{contest_code}:{number}".encode()).digest()[:4], "big") % 2_000_000_000


def sandbox_name_for(contest_code: str, number: str) -> str:
    return f"{contest_code}-{number}"


@dataclass
class ProvisionResult:
    total: int = 0
    built: list[str] = field(default_factory=list)       # candidate numbers
    skipped: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)    # the old sandboxes' new names
    errors: list[str] = field(default_factory=list)      # "CT23-0001: message"

    def lines(self) -> list[str]:
        out = [f"Đã tạo {len(self.built)} sandbox, bỏ qua {len(self.skipped)} đã có"
               + (f", {len(self.absent)} thí sinh vắng" if self.absent else "")
               + (f"; lưu trữ {len(self.archived)} sandbox cũ (chuyển đề dự phòng)" if self.archived else "") + "."]
        out += [f"  Lỗi: {e}" for e in self.errors]
        return out


def _loader():
    from scenarios.library import load
    try:
        from grader.checks import validate_check
    except ImportError:  # pragma: no cover
        validate_check = None
    cache: dict = {}

    def get(ref: str):
        if ref not in cache:
            cache[ref] = load(ref, validate_check)
        return cache[ref]

    return get


def shift_candidates(runtime, code: str, shift: str) -> tuple[int, int, list[int]]:
    """(contest id, shift id, candidate ids of the shift in number order)."""
    from .contests import get_contest
    from .shifts import find_shift
    with runtime.db.read() as s:
        c = get_contest(s, code)
        sh = find_shift(s, c.id, shift)
        ids = s.scalars(select(Candidate.id).where(Candidate.shift_id == sh.id).order_by(Candidate.number)).all()
        return c.id, sh.id, list(ids)


#: with ``workers`` left to the default, a shift is built on every core from this many
#: sandboxes up (below it, starting the worker processes costs more than it saves)
PARALLEL_FROM = 48


def provision_shift(runtime, code: str, shift: str, *, progress=None, actor: str = "cli",
                    workers: int | None = None) -> ProvisionResult:
    """Build the sandboxes of every candidate of ``shift``. ``progress(done, total, number)``
    is called after each candidate. One candidate's failure is recorded and the others go on.

    ``workers``: processes building at once (default: every core, for a shift of at least
    ``PARALLEL_FROM`` sandboxes to build; 1: in this process). Whatever the number, every
    sandbox is built by the same ``scenarios.build.build`` with the same seed, name and
    in-world start (one for the whole run), so it is the same sandbox. The theory papers of
    the shift are drawn at the end (``theory.prepare_papers``), so starting the exam is one
    small write."""
    contest_id, shift_id, ids = shift_candidates(runtime, code, shift)
    start = runtime.clock.now()
    if workers is None:
        workers = os.cpu_count() or 1
        with runtime.db.read() as s:
            built_names = set(s.scalars(select(Sandbox.name)))
            pending = sum(1 for n in s.scalars(select(Candidate.number).where(Candidate.id.in_(ids)))
                          if sandbox_name_for(code, n) not in built_names) if ids else 0
        if pending < PARALLEL_FROM:
            workers = 1
    if workers > 1 and (not runtime.db.is_sqlite or sqlite_path(runtime.settings.database_url)):
        res = _provision_parallel(runtime, code, contest_id, shift_id, ids, start, progress, actor, workers)
    else:
        res = _provision_serial(runtime, code, contest_id, shift_id, ids, start, progress, actor)
    from .theory import prepare_papers
    try:
        prepare_papers(runtime, _present(runtime, ids))
    except SandboxError as e:   # an empty bank: the start will say so
        log.warning("theory papers of %s/%s not drawn: %s", code, shift, e.detail)
    return res


def _present(runtime, ids: list[int]) -> list[int]:
    with runtime.db.read() as s:
        return list(s.scalars(select(Candidate.id).where(Candidate.id.in_(ids), Candidate.attendance != "absent"))) \
            if ids else []


def _start_for(loaded, start):
    """The in-world start to build with: the run's, unless the exam set fixes its own."""
    return None if loaded.scenario.world.start else start


@dataclass
class _Plan:
    cid: int
    number: str
    name: str = ""
    seed: int = 0
    wanted: str = ""
    build: bool = False


def _plan_one(runtime, code: str, shift_id: int, cid: int, res: ProvisionResult) -> _Plan:
    """What to do for one candidate: absent, skipped (recorded if needed), or build (an old
    sandbox of another exam set archived first)."""
    from scenarios.build import instance_of

    with runtime.db.read() as s:
        cand = s.get(Candidate, cid)
        sh = s.get(Shift, shift_id)
        number, attendance = cand.number, cand.attendance
        wanted = cand.scenario_id or sh.scenario_id
        current_name = cand.sandbox_name
    plan = _Plan(cid, number)
    if attendance == "absent":
        res.absent.append(number)
        return plan
    name = sandbox_name_for(code, number)
    with runtime.db.read() as s:
        sb = find_sandbox(s, current_name or name)
        inst = instance_of(s, sb.id) if sb is not None else None
    if inst is not None and inst.scenario_id == wanted:
        if current_name != sb.name:   # built before it was recorded: record it now
            _record(runtime, cid, sb.name, wanted, inst.seed)
        res.skipped.append(number)
        return plan
    if sb is not None:   # another exam set (switched to the backup set), or a failed start
        res.archived.append(archive_sandbox(runtime.db, runtime.clock, sb.id))
    elif current_name:   # recorded name gone; make sure the fresh name is free
        with runtime.db.read() as s:
            other = find_sandbox(s, name)
        if other is not None:
            res.archived.append(archive_sandbox(runtime.db, runtime.clock, other.id))
    return _Plan(cid, number, name, candidate_seed(code, number), wanted, True)


def _provision_serial(runtime, code, contest_id, shift_id, ids, start, progress, actor) -> ProvisionResult:
    from scenarios.build import build

    from .contests import record_event
    load = _loader()
    res = ProvisionResult(total=len(ids))
    for i, cid in enumerate(ids, 1):
        number = str(cid)
        try:
            plan = _plan_one(runtime, code, shift_id, cid, res)
            number = plan.number
            if not plan.build:
                continue
            loaded = load(plan.wanted)
            built = build(runtime, loaded, plan.seed, plan.name, start=_start_for(loaded, start))  # built by "system"
            _record(runtime, cid, built.name, built.scenario_id, built.seed)
            with runtime.db.write() as s:
                record_event(s, runtime, contest_id, "provision", actor, candidate_id=cid,
                             detail={"sandbox": built.name, "scenario": built.scenario_id, "seed": built.seed})
            res.built.append(number)
        except SandboxError as e:
            log.warning("provisioning %s failed: %s", number, e.detail)
            res.errors.append(f"{number}: {e.message_vi}")
        finally:
            if progress is not None:
                progress(i, len(ids), number)
    return res


def _provision_parallel(runtime, code, contest_id, shift_id, ids, start, progress, actor, workers) -> ProvisionResult:
    """Plan every candidate here (skips, archives), build the rest in worker processes
    (``build_workers.build_many``), then record the candidates' sandboxes in one write."""
    from .build_workers import BuildOrder, build_many
    from .contests import record_event

    load = _loader()
    res = ProvisionResult(total=len(ids))
    done = 0

    def tick(number: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(ids), number)

    plans: list[_Plan] = []
    for cid in ids:
        number = str(cid)
        try:
            plan = _plan_one(runtime, code, shift_id, cid, res)
            number = plan.number
            if plan.build:
                load(plan.wanted)          # an unreadable exam set fails here, for each of its candidates
                plans.append(plan)
                continue
        except SandboxError as e:
            log.warning("provisioning %s failed: %s", number, e.detail)
            res.errors.append(f"{number}: {e.message_vi}")
        tick(number)
    if not plans:
        return res
    orders = [BuildOrder(p.cid, p.number, p.wanted, p.seed, p.name, _start_for(load(p.wanted), start)) for p in plans]
    outcomes = build_many(runtime, orders, workers=workers, on_built=lambda b, label: tick(label))
    by_key = {b.key: b for b in outcomes}
    numbers = {p.cid: p.number for p in plans}
    with runtime.db.write() as s:
        for p in plans:                     # candidates in number order, as the serial run records them
            b = by_key[p.cid]
            if b.error:
                res.errors.append(f"{p.number}: {b.error}")
                continue
            cand = s.get(Candidate, p.cid)
            cand.sandbox_name, cand.scenario_id, cand.seed = b.name, b.scenario_id, b.seed
            record_event(s, runtime, contest_id, "provision", actor, candidate_id=p.cid,
                         detail={"sandbox": b.name, "scenario": b.scenario_id, "seed": b.seed})
            res.built.append(numbers[p.cid])
    return res


def _record(runtime, candidate_id: int, name: str, scenario_id: str, seed: int) -> None:
    with runtime.db.write() as s:
        cand = s.get(Candidate, candidate_id)
        cand.sandbox_name, cand.scenario_id, cand.seed = name, scenario_id, seed


# --- jobs (the admin page's progress bar) -------------------------------------------------

_running: set[int] = set()      # jobs whose thread runs in this process
_running_lock = threading.Lock()

def start_provision_job(runtime, code: str, shift: str, actor: str, *, background: bool = True) -> int:
    """Record a job and run ``provision_shift`` in a background thread of this process,
    writing its progress to the job row. A shift with a running job gets that job back."""
    contest_id, shift_id, ids = shift_candidates(runtime, code, shift)
    with runtime.db.write() as s:
        running = s.scalar(select(ProvisionJob).where(ProvisionJob.shift_id == shift_id,
                                                      ProvisionJob.status.in_(("queued", "running"))))
        if running is not None:
            with _running_lock:
                alive = running.id in _running
            if alive:
                return running.id
            # its process stopped (restart, crash): say so, and start afresh (builds are idempotent)
            running.status, running.finished_at = "failed", runtime.clock.now()
            running.message = "Bị gián đoạn (máy chủ đã khởi động lại); đã chạy lại."
        job = ProvisionJob(contest_id=contest_id, shift_id=shift_id, status="queued", total=len(ids), done=0,
                           errors=[], actor=actor, started_at=runtime.clock.now())
        s.add(job)
        s.flush()
        job_id = job.id
    with _running_lock:
        _running.add(job_id)
    if background:
        threading.Thread(target=run_job, args=(runtime, job_id, code, shift, actor), daemon=True,
                         name=f"provision-{job_id}").start()
    else:
        run_job(runtime, job_id, code, shift, actor)
    return job_id


def run_job(runtime, job_id: int, code: str, shift: str, actor: str) -> None:
    try:
        _run_job(runtime, job_id, code, shift, actor)
    finally:
        with _running_lock:
            _running.discard(job_id)


def _run_job(runtime, job_id: int, code: str, shift: str, actor: str) -> None:
    def progress(done, total, number):
        with runtime.db.write() as s:
            job = s.get(ProvisionJob, job_id)
            job.done, job.total, job.current = done, total, number

    with runtime.db.write() as s:
        s.get(ProvisionJob, job_id).status = "running"
    try:
        res = provision_shift(runtime, code, shift, progress=progress, actor=actor)
    except Exception as e:  # noqa: BLE001 - the page must learn that the job stopped
        log.exception("provisioning job %s failed", job_id)
        msg = e.message_vi if isinstance(e, SandboxError) else "Lỗi hệ thống khi tạo sandbox; xem nhật ký máy chủ."
        with runtime.db.write() as s:
            job = s.get(ProvisionJob, job_id)
            job.status, job.message, job.finished_at = "failed", msg, runtime.clock.now()
        return
    with runtime.db.write() as s:
        job = s.get(ProvisionJob, job_id)
        job.status = "failed" if res.errors and not res.built and not res.skipped else "done"
        job.built, job.skipped, job.errors = len(res.built), len(res.skipped), res.errors
        job.message, job.finished_at = " ".join(res.lines()[:1]), runtime.clock.now()


@dataclass(frozen=True)
class JobView:
    id: int
    shift: str
    status: str
    total: int
    done: int
    built: int
    skipped: int
    current: str
    errors: list
    message: str

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 and self.status == "done" else int(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def job_view(runtime, job_id: int) -> JobView | None:
    with runtime.db.read() as s:
        job = s.get(ProvisionJob, job_id)
        if job is None:
            return None
        sh = s.get(Shift, job.shift_id) if job.shift_id else None
        return JobView(job.id, sh.name if sh else "", job.status, job.total, job.done, job.built, job.skipped,
                       job.current, list(job.errors or []), job.message)
