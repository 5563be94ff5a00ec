"""Building many sandboxes on every core (``provision_shift``'s parallel path).

Worker processes (fresh interpreters, ``python -m sandbox.contest.build_workers``: safe from a
thread of the web server, where forking is not) each open their own
Runtime on the installation's data folder, as ``grader.batch`` does, and build a share of
the sandboxes with ``scenarios.build.build``: the same function as a build in this process,
so every sandbox gets the same values, documents and log as it would here.

PostgreSQL takes concurrent writers: each worker builds straight into the database (each
build is one transaction that locks only its own sandbox).

SQLite has one writer at a time, and a build's CPU work happens inside its write
transaction, so two processes building into the same file would take turns. Each worker
therefore builds into a scratch SQLite file of its own and, when its share is built, copies
the rows into the installation's database in one short transaction. The copy keeps every id
(so the ids in the log's arguments and results, in the anchors of the scenario instance and
everywhere else stay right): before building, each worker is given its own range of ids in
every table of a sandbox (``_id_ranges``: above the database's highest id, with room left for
what other sandboxes write meanwhile), and the scratch file's tables start there. The copy
checks, inside its transaction, that nobody has used the range meanwhile.
"""
from __future__ import annotations

import logging
import os
import pickle
import queue as queue_mod
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

#: ids left free above the database's highest id, for what other sandboxes write during a run
GAP = 1_000_000
#: ids of each table reserved for one worker's share
BLOCK = 10_000_000


@dataclass(frozen=True)
class BuildOrder:
    key: int              # the caller's (a candidate id)
    label: str            # for progress and messages (a candidate number)
    scenario: str         # what ``scenarios.library.load`` takes
    seed: int
    name: str             # sandbox name
    start: datetime | None = None    # the in-world start (None: the exam set's own)


@dataclass(frozen=True)
class Built:
    key: int
    name: str = ""
    scenario_id: str = ""
    seed: int = 0
    error: str = ""       # Vietnamese, when the build failed


def sandbox_tables():
    """The tables whose rows belong to a sandbox (``sandboxes`` and every table with a
    ``sandbox_id``), parents first."""
    from sandbox.kernel.db import Base

    return [t for t in Base.metadata.sorted_tables if t.name == "sandboxes" or "sandbox_id" in t.c]


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path if path and path != ":memory:" else None


def _id_ranges(runtime, workers: int) -> list[dict[str, int]]:
    """For each worker, the first id it may use in each sandbox table."""
    from sqlalchemy import func, select

    with runtime.db.read() as s:
        top = {t.name: s.scalar(select(func.max(t.c.id))) or 0 for t in sandbox_tables()}
    return [{name: m + GAP + w * BLOCK + 1 for name, m in top.items()} for w in range(workers)]


def build_many(runtime, orders: list[BuildOrder], *, workers: int, on_built=None) -> list[Built]:
    """Build ``orders`` in ``workers`` processes; ``on_built(Built, label)`` as each sandbox is
    built (before it is copied, on SQLite). Returns one ``Built`` per order, in order."""
    from grader.batch import worker_initargs

    from sandbox.kernel.clock import FixedClock
    from signing import api as signing_api

    signing_api.pki_for(runtime)            # the installation's CA keys exist before the workers start
    workers = max(1, min(workers, len(orders)))
    shares = [orders[w::workers] for w in range(workers)]
    scratch_dir = None
    ranges: list[dict[str, int] | None] = [None] * workers
    if runtime.db.is_sqlite:
        base = Path(sqlite_path(runtime.settings.database_url)).parent
        scratch_dir = Path(tempfile.mkdtemp(prefix=".provision-", dir=base))
        ranges = _id_ranges(runtime, workers)
    clock_at = runtime.clock.now() if isinstance(runtime.clock, FixedClock) else None
    messages: queue_mod.Queue = queue_mod.Queue()
    procs = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + [x for x in os.environ.get("PYTHONPATH", "").split(os.pathsep) if x])}
    for w, share in enumerate(shares):
        scratch = str(scratch_dir / f"w{w}.db") if scratch_dir else None
        task = (w, worker_initargs(runtime), clock_at, share, scratch, ranges[w])
        # a fresh interpreter (not fork: this may be a thread of the web server)
        p = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        p.stdin.write(pickle.dumps(task))
        p.stdin.close()
        threading.Thread(target=_read_messages, args=(w, p, messages), daemon=True, name=f"provision-{w}").start()
        procs.append(p)
    results: dict[int, Built] = {}
    finished: set[int] = set()
    try:
        while len(finished) < len(procs):
            kind, w, payload = messages.get()
            if kind == "built":
                built, label = payload
                if on_built is not None:
                    on_built(built, label)
            elif kind == "done":
                for built in payload:
                    results[built.key] = built
            elif kind == "eof":
                finished.add(w)
    finally:
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if scratch_dir is not None:
            shutil.rmtree(scratch_dir, ignore_errors=True)
    lost = "Lỗi hệ thống khi tạo sandbox (tiến trình tạo sandbox dừng đột ngột); chạy lại lệnh tạo sandbox."
    return [results.get(o.key) or Built(o.key, error=lost) for o in orders]


def _read_messages(w: int, proc, messages) -> None:
    """One worker's messages (pickled, length-prefixed, on its standard output) to the queue."""
    out = proc.stdout
    try:
        while True:
            head = out.read(8)
            if len(head) < 8:
                break
            body = out.read(int.from_bytes(head, "big"))
            kind, payload = pickle.loads(body)
            messages.put((kind, w, payload))
    finally:
        messages.put(("eof", w, None))


# --- in the worker process ---------------------------------------------------------------------

class _Pipe:
    """The worker's side: messages to the parent on the real standard output (whatever the
    build prints goes to standard error)."""

    def __init__(self) -> None:
        self.out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)

    def put(self, msg) -> None:
        kind, _w, payload = msg
        body = pickle.dumps((kind, payload))
        self.out.write(len(body).to_bytes(8, "big") + body)
        self.out.flush()


def _worker_main() -> None:
    pipe = _Pipe()
    w, initargs, clock_at, share, scratch, first_ids = pickle.loads(sys.stdin.buffer.read())
    logging.basicConfig(level=logging.WARNING, format=f"provision-{w}: %(message)s")
    try:
        out = _work(w, initargs, clock_at, share, scratch, first_ids, pipe)
    except BaseException:  # noqa: BLE001 - the parent must hear about it
        log.exception("provisioning worker %s failed", w)
        why = traceback.format_exc(limit=3).strip().splitlines()[-1]
        out = [Built(o.key, error=f"Lỗi hệ thống khi tạo sandbox: {why}") for o in share]
    pipe.put(("done", w, out))


def _work(w, initargs, clock_at, share, scratch, first_ids, messages) -> list[Built]:
    from sandbox.kernel.clock import FixedClock
    from sandbox.kernel.errors import SandboxError
    from scenarios.build import build
    from scenarios.library import load

    try:
        from grader.checks import validate_check
    except ImportError:  # pragma: no cover
        validate_check = None
    runtime_class, settings_class, settings = initargs
    clock = FixedClock(clock_at) if clock_at is not None else None
    main = runtime_class.open(settings_class(**settings), clock=clock)
    rt = main
    if scratch is not None:
        rt = runtime_class.open(settings_class(**{**settings, "database_url": f"sqlite:///{scratch}"}), clock=clock)
        _start_ids_at(scratch, first_ids)
    loaded: dict = {}
    out: list[Built] = []
    try:
        for order in share:
            try:
                if order.scenario not in loaded:
                    loaded[order.scenario] = load(order.scenario, validate_check)
                res = build(rt, loaded[order.scenario], order.seed, order.name, start=order.start)
                built = Built(order.key, res.name, res.scenario_id, res.seed)
            except SandboxError as e:
                log.warning("provisioning %s failed: %s", order.label, e.detail)
                built = Built(order.key, error=e.message_vi)
            out.append(built)
            messages.put(("built", w, (built, order.label)))
        if scratch is not None:
            names = [b.name for b in out if not b.error]
            if names:
                try:
                    copy_sandboxes(scratch, main, first_ids)
                except SandboxError as e:
                    out = [b if b.error else Built(b.key, error=e.message_vi) for b in out]
    finally:
        if rt is not main:
            rt.close()
        main.close()
    return out


def _dummy_value(col):
    """A value for a NOT NULL column of a placeholder row (never read)."""
    from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Numeric

    t = col.type
    if isinstance(t, (Integer, Boolean, Float, Numeric)):
        return 0
    if isinstance(t, DateTime):
        return "2000-01-01 00:00:00.000000"
    if isinstance(t, JSON):
        return "{}"
    return ""


def _start_ids_at(scratch: str, first_ids: dict[str, int]) -> None:
    """Make the scratch file's tables give out ids from ``first_ids``: SQLite gives a new row
    the highest id + 1, so each table gets a placeholder row (sandbox 0, never read, never
    copied) just below its first id."""
    conn = sqlite3.connect(scratch)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        for t in sandbox_tables():
            cols, values = [], []
            for col in t.columns:
                if col.primary_key:
                    cols.append(col.name)
                    values.append(first_ids[t.name] - 1)
                elif not col.nullable:
                    cols.append(col.name)
                    values.append(_dummy_value(col))
            conn.execute(f'INSERT INTO "{t.name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                         f'VALUES ({", ".join("?" for _ in cols)})', values)
        conn.commit()
    finally:
        conn.close()


def copy_sandboxes(scratch: str, runtime, first_ids: dict[str, int]) -> int:
    """Copy every sandbox built in the scratch file into ``runtime``'s database, with the same
    ids, in one transaction. Refused (nothing copied) if the database already has a row in
    the reserved ranges (another run used them) or a sandbox of the same name. The number of
    rows copied."""
    from sandbox.kernel.errors import SandboxError

    src = sqlite3.connect(scratch)
    t0 = time.perf_counter()
    copied = 0
    try:
        with runtime.db.write() as s:
            conn = s.connection()
            for t in sandbox_tables():
                cols = [c.name for c in t.columns]
                first = first_ids[t.name]
                rows = src.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t.name}" '
                                   f'WHERE id >= ? ORDER BY id', (first,)).fetchall()
                if not rows:
                    continue
                if rows[-1][0] >= first + BLOCK:
                    raise SandboxError("Quá nhiều dữ liệu khi tạo sandbox song song; hãy chạy lại với --workers 1.",
                                       f"{t.name}: ids beyond the reserved block")
                taken = conn.exec_driver_sql(f'SELECT count(*) FROM "{t.name}" WHERE id >= ? AND id < ?',
                                             (first, first + BLOCK)).scalar()
                if taken:
                    raise SandboxError("Một lần tạo sandbox khác đang chạy cùng lúc; hãy chạy lại lệnh tạo sandbox.",
                                       f"{t.name}: {taken} rows already in the reserved ids {first}..")
                conn.exec_driver_sql(f'INSERT INTO "{t.name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                                     f'VALUES ({", ".join("?" for _ in cols)})', rows)
                copied += len(rows)
    except SandboxError:
        raise
    except Exception as e:  # an integrity error: a sandbox of the same name appeared meanwhile
        raise SandboxError("Không chép được sandbox vào cơ sở dữ liệu (trùng tên hoặc trùng mã); "
                           "hãy chạy lại lệnh tạo sandbox.", f"copy failed: {e}") from e
    finally:
        src.close()
    log.info("copied %d rows of %s in %.2f s", copied, os.path.basename(scratch), time.perf_counter() - t0)
    return copied


if __name__ == "__main__":      # ``python -m``: run from the module itself, so what is pickled names it
    from sandbox.contest.build_workers import _worker_main as main

    main()
