"""Replay a sandbox's session (issue 8): re-apply its action log, step by step, to a fresh
copy with the clock pinned to each entry's recorded time, and check at every step that the
action gives the same result and leaves the same state (the digests the dispatcher records);
at the end, that the score report is the same. The first step that differs is reported.

The log holds database ids (a message, a document, a token); the copy gets other ids. Each
action declares where its arguments and results hold ids and of which kind
(``@action(..., ids=..., result_ids=...)``, see ``sandbox.kernel.actions``), and each entry records
the ids of the rows its action created, by kind (``Action.created``): pairing those with the
ones the replayed step created (and, for older entries, the recorded result's ids with the
replayed one's) maps each old id to its new one; later arguments are rewritten through that
map at exactly the declared places, and results are compared with their new ids mapped back.
An id an argument declares but the map does not know stops the replay at that step (nothing
is guessed).

The copy ``NAME~replayN`` is removed when the replay is done, unless kept (``keep=True``,
``sandbox replay NAME --keep``); :func:`kept_replays` lists the kept ones, :func:`discard`
removes one. :func:`replayed` gives the copy to a block (a page, a packet) and removes it
afterwards."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sandbox.kernel.actions import DOOR, SPECS, Dispatcher, IdPath, IdShapeError, canonical, describe_part, map_ids, paired_ids
from sandbox.kernel.clock import FixedClock, as_utc
from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.models import Action, Sandbox
from sandbox.kernel.sandboxes import delete_sandbox, find_sandbox

_COPY_RE = re.compile(r"^(?P<original>.+)~replay(?P<n>\d+)$")


class UnknownId(SandboxError):
    """An argument names a row the replay has not seen created."""


class IdMap:
    """Old id → new id, per kind, learnt from the results of the actions that create rows."""

    def __init__(self) -> None:
        self.forward: dict[str, dict[int, int]] = {}
        self.backward: dict[str, dict[int, int]] = {}

    def _pair(self, kind: str, old: int, new: int) -> None:
        fwd, back = self.forward.setdefault(kind, {}), self.backward.setdefault(kind, {})
        if old not in fwd and new not in back:  # fresh pairs only: a known id keeps its partner
            fwd[old], back[new] = new, old

    def learn_created(self, recorded: dict | None, replayed: dict | None) -> str | None:
        """Pair the rows a step created (the log entry's ``created``: ids by kind, in creation
        order) with those its replay created. Returns what differs when the counts do not."""
        recorded, replayed = recorded or {}, replayed or {}
        differ = [f"{kind}: {len(recorded.get(kind, []))} → {len(replayed.get(kind, []))}"
                  for kind in sorted(set(recorded) | set(replayed))
                  if len(recorded.get(kind, [])) != len(replayed.get(kind, []))]
        if differ:
            return "số bản ghi tạo ra khác (" + "; ".join(differ) + ")"
        for kind, olds in recorded.items():
            for old, new in zip(sorted(olds), sorted(replayed[kind])):
                self._pair(kind, old, new)
        return None

    def learn(self, paths: tuple[IdPath, ...], recorded: dict, replayed: dict) -> None:
        """Pair the ids of a recorded result with the replayed one's at the declared paths
        (what entries recorded without ``created`` teach). Only fresh pairs are learnt: a
        result that names an existing row with another id is a difference the comparison shows."""
        for kind, old, new in paired_ids(recorded, replayed, paths):
            self._pair(kind, old, new)

    def to_new(self, paths: tuple[IdPath, ...], args: dict) -> dict:
        """Recorded arguments with their ids rewritten for the copy; raises :class:`UnknownId`."""
        def new_id(kind: str, old: int, path: IdPath) -> int:
            try:
                return self.forward[kind][old]
            except KeyError:
                raise UnknownId(f"Mã {old} ({kind}, tham số {path.text}) không có trong bản phát lại.",
                                f"{path.text}: {kind} {old} was not created by an earlier step") from None
        return map_ids(args, paths, new_id)

    def to_old(self, paths: tuple[IdPath, ...], result: dict) -> dict:
        """A replayed result with its ids mapped back (ids the map does not know stay as they are)."""
        return map_ids(result, paths, lambda kind, new, _p: self.backward.get(kind, {}).get(new, new))


@dataclass
class Step:
    seq: int
    at: datetime
    actor: str
    name: str
    args: dict
    ok: bool
    detail: str = ""
    #: "same" (state digest compared and equal), "different", "unrecorded" (an entry made
    #: before state digests existed: only its result is compared) or "" (not compared: after
    #: the first difference)
    state: str = ""


@dataclass
class ReplayResult:
    original: str
    replay: str
    replay_sandbox_id: int
    steps: list[Step] = field(default_factory=list)
    #: the first step whose result or state differs (or that the copy refused)
    first_mismatch: int | None = None
    until: int | None = None
    report_same: bool | None = None
    original_report: dict | None = None
    replay_report: dict | None = None
    #: the first step after which the state digest differs (results may still agree)
    first_state_mismatch: int | None = None
    #: the replay stopped at ``first_mismatch`` (a different result, a refusal, an unknown id)
    stopped: bool = False
    #: steps recorded without a state digest (compared by their results only)
    unrecorded_state: list[int] = field(default_factory=list)
    #: the copy was kept (``keep=True``); otherwise it no longer exists
    kept: bool = False

    @property
    def notes(self) -> list[str]:
        out = []
        if self.unrecorded_state:
            out.append(f"{len(self.unrecorded_state)} bước được ghi trước khi có dấu trạng thái: "
                       "các bước đó chỉ được so kết quả.")
        return out

    def to_json(self) -> dict:
        return {"original": self.original, "replay": self.replay, "kept": self.kept,
                "first_mismatch": self.first_mismatch, "first_state_mismatch": self.first_state_mismatch,
                "until": self.until, "report_same": self.report_same, "unrecorded_state": self.unrecorded_state,
                "notes": self.notes,
                "steps": [{"seq": s.seq, "at": s.at.isoformat(), "actor": s.actor, "name": s.name, "ok": s.ok,
                           "state": s.state, "detail": s.detail} for s in self.steps]}


@dataclass(frozen=True)
class KeptReplay:
    name: str
    original: str
    sandbox_id: int
    created_at: datetime
    steps: int
    read_only: bool  # an examiner's browsing copy (closed: nobody changes it)


def _entries(session, sandbox_id: int) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.sandbox_id == sandbox_id).order_by(Action.seq)))


def replay(runtime, name: str, *, until: int | None = None, grade_at_end: bool = True,
           keep: bool = False) -> ReplayResult:
    """Re-apply sandbox ``name``'s log to a fresh copy ``<name>~replay<n>`` (archived: nobody
    logs into it). Stops at the first step whose result differs, or after step ``until``; a
    step after which only the state differs is named and the replay goes on (so the score
    reports can still be compared). The copy is removed afterwards unless ``keep``."""
    with replayed(runtime, name, until=until, grade_at_end=grade_at_end, keep=keep) as result:
        return result


@contextmanager
def replayed(runtime, name: str, *, until: int | None = None, grade_at_end: bool = False,
             keep: bool = False) -> Iterator[ReplayResult]:
    """The replay's copy for the block (``result.replay_sandbox_id``), removed when it ends
    (however it ends) unless ``keep``."""
    result = _run(runtime, name, until=until, grade_at_end=grade_at_end, keep=keep)
    try:
        yield result
    finally:
        if not keep:
            delete_sandbox(runtime.db, result.replay_sandbox_id)


def _run(runtime, name: str, *, until: int | None, grade_at_end: bool, keep: bool) -> ReplayResult:
    with runtime.db.read() as s:
        sb = find_sandbox(s, name)
        if sb is None:
            raise NotFound(f"Không có sandbox {name}.", f"no sandbox {name}")
        entries = [(e.seq, e.at, e.actor, e.name, e.args, e.result, e.door, e.state_digest, e.state_parts,
                    e.created) for e in _entries(s, sb.id)]
        original_id = sb.id
    target, new_id = _fresh_sandbox(runtime, name, until)
    door = DOOR.get()  # the caller's (the replay sets each step's own)
    try:
        result = ReplayResult(name, target, new_id, until=until, kept=keep)
        _prepare_services(runtime)
        clock = FixedClock()
        dispatcher = Dispatcher(runtime.db, clock, runtime.blobs, runtime.dispatcher.services)
        _apply_log(dispatcher, clock, new_id, entries, until, result)
        if grade_at_end and not result.stopped and until is None:
            rt = replace(runtime, dispatcher=dispatcher, clock=clock)
            result.original_report, result.replay_report = _reports(rt, original_id, new_id)
            if result.original_report is not None:
                result.report_same = canonical(result.original_report) == canonical(result.replay_report)
    except BaseException:
        if not keep:
            delete_sandbox(runtime.db, new_id)
        raise
    finally:
        DOOR.set(door)
    return result


def _apply_log(dispatcher: Dispatcher, clock: FixedClock, new_id: int, entries, until, result: ReplayResult) -> None:
    ids = IdMap()
    for seq, at, actor, action_name, args, recorded, door, state, parts, created in entries:
        if until is not None and seq > until:
            break
        step = Step(seq, at, actor, action_name, args, True)
        result.steps.append(step)

        def stop(detail: str) -> None:
            step.ok, step.detail = False, detail
            result.first_mismatch = seq if result.first_mismatch is None else result.first_mismatch
            result.stopped = True

        spec = SPECS.get(action_name)
        if spec is None:
            return stop(f"thao tác {action_name} không còn được hỗ trợ")
        clock.set(as_utc(at))
        DOOR.set(door or "")
        try:
            new_args = ids.to_new(spec.ids, args)
        except (UnknownId, IdShapeError) as exc:
            return stop(f"không phát lại được: {exc.message_vi} ({exc.detail})")
        try:
            applied = dispatcher.apply(new_id, actor, action_name, new_args)
        except SandboxError as exc:
            return stop(f"bị từ chối khi phát lại: {exc.message_vi} ({exc.detail})")
        if state is not None or created is not None:  # recorded with its created rows (None: none)
            problem = ids.learn_created(created, applied.created)
            if problem:
                return stop(problem)
        if recorded is not None:
            try:
                ids.learn(spec.result_ids, recorded, applied.result)
                back = ids.to_old(spec.result_ids, applied.result)
            except IdShapeError as exc:
                return stop(f"kết quả khác khai báo mã: {exc.detail}")
            if canonical(back) != canonical(recorded):
                return stop("kết quả khác: ghi nhận " + json.dumps(recorded, ensure_ascii=False)[:300]
                            + " · phát lại " + json.dumps(back, ensure_ascii=False)[:300])
        if state is None:
            step.state = "unrecorded"
            result.unrecorded_state.append(seq)
        elif result.first_state_mismatch is None:
            if applied.state_digest == state:
                step.state = "same"
            else:
                step.ok, step.state = False, "different"
                step.detail = f"trạng thái khác sau bước {seq}" + _what_differs(parts, applied.state_parts)
                result.first_state_mismatch = seq
                if result.first_mismatch is None:
                    result.first_mismatch = seq


def _what_differs(recorded: dict | None, replayed: dict | None) -> str:
    if not recorded or not replayed:
        return ""
    keys = sorted(k for k in set(recorded) | set(replayed) if recorded.get(k) != replayed.get(k))
    return (": khác ở " + "; ".join(describe_part(k) for k in keys)) if keys else ""


def _copy_number(original: str, name: str) -> int | None:
    m = _COPY_RE.match(name)
    return int(m.group("n")) if m and m.group("original") == original else None


def _fresh_sandbox(runtime, name: str, until: int | None) -> tuple[str, int]:
    """A new archived sandbox ``<name>~replay<n>`` (n: one more than any copy still there)."""
    pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "~replay%"
    title = f"Bản phát lại của {name}" + (f" đến bước {until}" if until is not None else "")
    for _attempt in range(5):
        try:
            with runtime.db.write() as s:
                taken = [_copy_number(name, n) for n in
                         s.scalars(select(Sandbox.name).where(Sandbox.name.like(pattern, escape="\\")))]
                target = f"{name}~replay{max([0] + [n for n in taken if n is not None]) + 1}"
                sb = Sandbox(name=target, title=title, created_at=runtime.clock.now(),
                             archived_at=runtime.clock.now())
                s.add(sb)
                s.flush()
                return target, sb.id
        except IntegrityError:  # another replay took the name at the same moment
            continue
    raise SandboxError("Không tạo được bản phát lại, hãy thử lại.", f"no free replay name for {name}")


def kept_replays(runtime, name: str | None = None) -> list[KeptReplay]:
    """The replay copies still there (kept on request, or an examiner's browsing copies), of
    sandbox ``name`` or of every sandbox, oldest first."""
    with runtime.db.read() as s:
        q = select(Sandbox).where(Sandbox.name.like("%~replay%")).order_by(Sandbox.id)
        out = []
        for sb in s.scalars(q):
            m = _COPY_RE.match(sb.name)
            if m is None or (name is not None and m.group("original") != name):
                continue
            out.append(KeptReplay(sb.name, m.group("original"), sb.id, sb.created_at, sb.log_seq,
                                  sb.closes_at is not None))
        return out


def discard(runtime, copy_name: str) -> None:
    """Remove a replay copy (only a ``NAME~replayN`` sandbox: never an original)."""
    if _COPY_RE.match(copy_name or "") is None:
        raise SandboxError(f"«{copy_name}» không phải bản phát lại (tên dạng TÊN~replaySỐ).",
                           f"{copy_name!r} is not a replay copy")
    with runtime.db.read() as s:
        sb = find_sandbox(s, copy_name)
        if sb is None:
            raise NotFound(f"Không có bản phát lại {copy_name}.", f"no sandbox {copy_name}")
        sid = sb.id
    delete_sandbox(runtime.db, sid)


def _prepare_services(runtime) -> None:
    """Give actions that sign inside the log (the automatic clerk) the installation's PKI,
    as the document workflow's API does before its first action."""
    try:
        from docflow import api as docflow_api
        from signing import api as signing_api
    except ImportError:  # pragma: no cover - part of the distribution
        return
    docflow_api.use_pki(runtime, signing_api.pki_for(runtime))


def _reports(runtime, original_id: int, new_id: int):
    from grader.engine import grade
    from grader.state import SandboxState
    from scenarios.library import load

    try:
        a = SandboxState(runtime, original_id)
    except SandboxError:
        return None, None
    sc = load(a.scenario_ref).scenario
    first = grade(a, sc)
    second = grade(SandboxState(runtime, new_id), sc)
    return _comparable(first), _comparable(second)


def _is_row_id(key: str | None, value: Any) -> bool:
    ints = value if isinstance(value, list) else [value]
    return bool(key) and (key.endswith("_id") or key.endswith("_ids")) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in ints)


def _comparable(report: dict) -> dict:
    """A score report without the database ids its evidence cites (``incoming_id``,
    ``assignment_id``…: they differ between the sandboxes). This is about comparing two
    reports, not about the log: nothing here is translated."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not _is_row_id(k, v)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(report)
