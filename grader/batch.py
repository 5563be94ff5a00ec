"""Grade many sandboxes at once on every core: worker processes each open their own Runtime
on the same installation (data folder and database) and grade a share of the sandboxes.

Grading is a pure function of each sandbox's state, so the reports are the same whichever
worker grades which sandbox, and in whatever order."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable

_RUNTIME = None
_SCENARIOS: dict[str, object] = {}


def _init(runtime_class, settings_class, settings: dict) -> None:
    """A worker opens its own runtime of the caller's kind (passed as classes, so the grader
    needs no import of the composition above it)."""
    global _RUNTIME
    _RUNTIME = runtime_class.open(settings_class(**settings))


def worker_initargs(runtime) -> tuple:
    """What a worker process needs to open its own runtime on the same installation."""
    s = runtime.settings
    settings = {"data_dir": str(s.data_dir), "database_url": s.database_url,
                "max_message_size": s.max_message_size, "secret_key": s.get_secret_key()}
    return type(runtime), type(s), settings


def _grade_one(rt, sandbox_id: int) -> dict:
    from sandbox.kernel.errors import SandboxError
    from scenarios.library import load

    from .checks import validate_check
    from .engine import grade
    from .state import SandboxState

    try:
        state = SandboxState(rt, sandbox_id)
        ref = state.scenario_ref
        if ref not in _SCENARIOS:
            _SCENARIOS[ref] = load(ref, validate_check).scenario
        return grade(state, _SCENARIOS[ref])
    except SandboxError as exc:
        return {"error": exc.message_vi, "detail": exc.detail, "sandbox_id": sandbox_id}


def _grade_chunk(sandbox_ids: list[int]) -> list[tuple[int, dict]]:
    return [(sid, _grade_one(_RUNTIME, sid)) for sid in sandbox_ids]


def grade_many(runtime, sandbox_ids: Iterable[int], *, workers: int | None = None,
               chunk: int = 8) -> dict[int, dict]:
    """Reports by sandbox id. ``workers`` defaults to the number of cores; 1 grades in this
    process. A sandbox that cannot be graded gets ``{"error": <Vietnamese message>, ...}``; one
    graded with criteria the grader could not judge gets its report with ``"gradable": False``."""
    ids = list(sandbox_ids)
    # scenarios are loaded afresh for each batch: an exam set fixed after a grader error (see
    # grader.engine) is what the next grading uses, also in a long-running web server
    _SCENARIOS.clear()
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(ids) <= chunk:
        return {sid: _grade_one(runtime, sid) for sid in ids}
    chunks = [ids[i:i + chunk] for i in range(0, len(ids), chunk)]
    out: dict[int, dict] = {}
    with ProcessPoolExecutor(workers, initializer=_init, initargs=worker_initargs(runtime)) as pool:
        for rows in pool.map(_grade_chunk, chunks):
            out.update(rows)
    return {sid: out[sid] for sid in ids}


__all__ = ["grade_many"]
