"""The health report behind ``GET /healthz``: is this process able to serve?

* ``database``: a ``SELECT 1`` on the installation's engine (kind and time taken);
* ``blobs``: the blob folder takes a tiny probe file (written, read back, removed);
* ``jobs``: the queue's depth (pending or running, failed), read only when the database is up;
* ``schema``: the Alembic revision when the database has one (nothing before migrations);
* ``version``: the installed distribution's.

Healthy (HTTP 200) when the database and the blob store are; 503 otherwise. Failed jobs do not
make the process unhealthy (they wait for an operator: ``sandbox jobs list``) but are counted.
The report names no URL, path, secret or person: a failure gives the exception's class only
(the full error goes to the log).
"""
from __future__ import annotations

import logging
import os
import tempfile
import time

log = logging.getLogger(__name__)

DISTRIBUTION = "cantho-sandbox"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def check_database(runtime) -> dict:
    from sqlalchemy import text

    kind = "sqlite" if runtime.db.is_sqlite else "postgresql"
    start = time.perf_counter()
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar()
    except Exception as e:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health: database unreachable", exc_info=True)
        return {"ok": False, "kind": kind, "error": type(e).__name__, "ms": _ms(start)}
    return {"ok": True, "kind": kind, "ms": _ms(start)}


PROBE = b"sandbox health probe\n"


def check_blobs(runtime) -> dict:
    """Write a probe file beside the blobs (a temporary name the store never reads), read it
    back and remove it. A store in the database (PostgreSQL) is checked with the database;
    its folder, a read-through cache, must still take files."""
    store = runtime.blobs
    kind = getattr(store, "kind", "files")
    root = getattr(store, "root", None) or getattr(getattr(store, "cache", None), "root", None)
    start = time.perf_counter()
    if root is None:
        return {"ok": True, "kind": kind, "ms": _ms(start)}
    path = None
    try:
        fd, path = tempfile.mkstemp(dir=root, prefix=".health-")
        with os.fdopen(fd, "wb") as f:
            f.write(PROBE)
        with open(path, "rb") as f:
            if f.read() != PROBE:
                raise OSError("probe read back differs")
    except Exception as e:  # noqa: BLE001
        log.warning("health: blob store not writable", exc_info=True)
        return {"ok": False, "kind": kind, "error": type(e).__name__, "ms": _ms(start)}
    finally:
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass
    return {"ok": True, "kind": kind, "ms": _ms(start)}


def check_jobs(runtime) -> dict:
    from sqlalchemy import func, select

    from sandbox.kernel import jobs

    try:
        with runtime.db.read() as s:
            waiting = jobs.waiting(s)
            failed = s.scalar(select(func.count(jobs.Job.id)).where(jobs.Job.status == jobs.FAILED)) or 0
    except Exception as e:  # noqa: BLE001
        log.warning("health: job queue unreadable", exc_info=True)
        return {"ok": False, "error": type(e).__name__}
    return {"ok": True, "waiting": waiting, "failed": failed}


def schema_revision(runtime) -> str | None:
    """The Alembic revision of the database (``alembic_version``), None when there is none."""
    from sqlalchemy import inspect, text

    try:
        with runtime.db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # noqa: BLE001 - the revision is information, not a check
        return None
    return ",".join(sorted(rows)) or None


def report(runtime) -> dict:
    """The health report (JSON-ready); ``report["ok"]`` says healthy."""
    checks = {"database": check_database(runtime), "blobs": check_blobs(runtime)}
    if checks["database"]["ok"]:
        checks["jobs"] = check_jobs(runtime)
    ok = checks["database"]["ok"] and checks["blobs"]["ok"]
    out = {"status": "ok" if ok else "fail", "ok": ok, "version": version(), "checks": checks}
    if checks["database"]["ok"]:
        revision = schema_revision(runtime)
        if revision is not None:
            out["schema"] = revision
    return out
