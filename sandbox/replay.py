"""Replay a sandbox's session (issue 8): re-apply its action log, step by step, to a fresh
sandbox with the clock pinned to each entry's recorded time, and check at every step that
the action gives the same result it gave then; at the end, that the score report is the
same. The first step that differs is reported.

The log holds database ids (a message, a document, a token); a fresh sandbox gets other
ids. They are translated as the replay goes: every action that creates something returns
its id (``item_id``, ``outgoing_id``…), so pairing the recorded result with the replayed one
maps each old id to its new one, and later arguments are rewritten through that map.
Results are compared with the new ids mapped back."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .actions import DOOR, Dispatcher, canonical
from .clock import FixedClock, as_utc
from .errors import NotFound, SandboxError
from .models import Action, Sandbox
from .sandboxes import find_sandbox

#: result keys that hold ids without saying so (mail.set_flags: changed items, flags by item)
_ID_LISTS = {"changed": "item"}
_ID_KEYED = {"flags": "item"}
#: scenario.instantiate's anchors: world ids by the scenario's names
_ANCHOR_TABLES = {"orgs": "org", "units": "unit", "people": "person"}
#: keys whose value is an id of another kind than their name says
_ALIASES = {"sent_item": "item", "bounce_item": "item", "target_mailbox": "mailbox", "replaces_draft": "item",
            "replaces": "item", "signer": "person", "directed_by_person": "person"}


def _kind(key: str) -> str | None:
    if key in _ID_LISTS:
        return _ID_LISTS[key]
    if key.endswith("_ids"):
        base = key[:-4]
    elif key.endswith("_id"):
        base = key[:-3]
    elif key in ("replaces_draft", "replaces"):
        base = key
    else:
        return None
    return _ALIASES.get(base, base)


class IdMap:
    def __init__(self) -> None:
        self.forward: dict[str, dict[int, int]] = {}
        self.backward: dict[str, dict[int, int]] = {}

    def learn(self, old: Any, new: Any, key: str | None = None, kind_hint: str | None = None) -> None:
        """Pair a recorded result with the replayed one, recording id → id."""
        if key in _ID_KEYED and isinstance(old, dict) and isinstance(new, dict) and len(old) == len(new):
            for a, b in zip(old, new):  # same order: the handler builds both the same way
                if a.isdigit() and b.isdigit():
                    self._add(_ID_KEYED[key], int(a), int(b))
            return
        if isinstance(old, dict) and isinstance(new, dict):
            hint = old.get("kind") if isinstance(old.get("kind"), str) else None
            for k, v in old.items():
                if k in new:
                    self.learn(v, new[k], k, hint)
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            if key == "mapping":  # [[old uid, new uid, new item id], …] of a move/copy
                for a, b in zip(old, new):
                    if isinstance(a, list) and len(a) == 3 and len(b) == 3:
                        self._add("item", a[2], b[2])
                return
            for a, b in zip(old, new):
                self.learn(a, b, key, kind_hint)
        elif isinstance(old, int) and isinstance(new, int) and not isinstance(old, bool):
            kind = _kind(key or "") or (kind_hint if key == "id" else None)
            if kind:
                self._add(kind, old, new)

    def _add(self, kind: str, old: int, new: int) -> None:
        self.forward.setdefault(kind, {})[old] = new
        self.backward.setdefault(kind, {})[new] = old

    def translate(self, value: Any, key: str | None = None, kind_hint: str | None = None, *, back: bool = False):
        if isinstance(value, dict):
            if key == "anchors":
                return {k: ({n: self._map(_ANCHOR_TABLES[k], i, back) if isinstance(i, int) else i
                             for n, i in v.items()} if k in _ANCHOR_TABLES and isinstance(v, dict)
                            else self.translate(v, k, back=back)) for k, v in value.items()}
            if key in _ID_KEYED:
                return {str(self._map(_ID_KEYED[key], int(k), back)) if k.isdigit() else k: v
                        for k, v in value.items()}
            hint = value.get("kind") if isinstance(value.get("kind"), str) else None
            return {k: self.translate(v, k, hint, back=back) for k, v in value.items()}
        if isinstance(value, list):
            if key == "mapping":
                return [[a[0], a[1], self._map("item", a[2], back)] if isinstance(a, list) and len(a) == 3 else a
                        for a in value]
            return [self.translate(v, key, kind_hint, back=back) for v in value]
        if isinstance(value, int) and not isinstance(value, bool):
            kind = _kind(key or "") or (kind_hint if key == "id" else None)
            if kind:
                return self._map(kind, value, back)
        return value

    def _map(self, kind: str, value: int, back: bool) -> int:
        return (self.backward if back else self.forward).get(kind, {}).get(value, value)


@dataclass
class Step:
    seq: int
    at: datetime
    actor: str
    name: str
    args: dict
    ok: bool
    detail: str = ""


@dataclass
class ReplayResult:
    original: str
    replay: str
    replay_sandbox_id: int
    steps: list[Step] = field(default_factory=list)
    first_mismatch: int | None = None
    until: int | None = None
    report_same: bool | None = None
    original_report: dict | None = None
    replay_report: dict | None = None

    def to_json(self) -> dict:
        return {"original": self.original, "replay": self.replay, "first_mismatch": self.first_mismatch,
                "until": self.until, "report_same": self.report_same,
                "steps": [{"seq": s.seq, "at": s.at.isoformat(), "actor": s.actor, "name": s.name, "ok": s.ok,
                           "detail": s.detail} for s in self.steps]}


def _entries(session, sandbox_id: int) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.sandbox_id == sandbox_id).order_by(Action.seq)))


def replay(runtime, name: str, *, until: int | None = None, grade_at_end: bool = True) -> ReplayResult:
    """Re-apply sandbox ``name``'s log to a fresh sandbox ``<name>~replay<n>`` (archived: nobody
    logs into it; examiners look at it read-only). Stops at the first step whose result
    differs, or after step ``until``."""
    with runtime.db.read() as s:
        sb = find_sandbox(s, name)
        if sb is None:
            raise NotFound(f"Không có sandbox {name}.", f"no sandbox {name}")
        entries = [(e.seq, e.at, e.actor, e.name, e.args, e.result, e.door) for e in _entries(s, sb.id)]
        original_id = sb.id
        n = len(s.scalars(select(Sandbox.id).where(Sandbox.name.like(f"{name}~replay%"))).all()) + 1
    target = f"{name}~replay{n}"
    new_id = _fresh_sandbox(runtime, target)
    _prepare_services(runtime)
    ids = IdMap()
    clock = FixedClock()
    dispatcher = Dispatcher(runtime.db, clock, runtime.blobs, runtime.dispatcher.services)
    rt = replace(runtime, dispatcher=dispatcher, clock=clock)
    result = ReplayResult(name, target, new_id, until=until)
    for seq, at, actor, action_name, args, recorded, door in entries:
        if until is not None and seq > until:
            break
        clock.set(as_utc(at))
        DOOR.set(door or "")
        new_args = ids.translate(args)
        try:
            got = dispatcher.dispatch(new_id, actor, action_name, new_args)
        except SandboxError as exc:
            result.steps.append(Step(seq, at, actor, action_name, args, False,
                                     f"bị từ chối khi phát lại: {exc.message_vi} ({exc.detail})"))
            result.first_mismatch = seq
            break
        if recorded is not None:
            ids.learn(recorded, got)
            back = ids.translate(got, back=True)
            if canonical(back) != canonical(recorded):
                result.steps.append(Step(seq, at, actor, action_name, args, False,
                                         "kết quả khác: ghi nhận " + json.dumps(recorded, ensure_ascii=False)[:300]
                                         + " · phát lại " + json.dumps(back, ensure_ascii=False)[:300]))
                result.first_mismatch = seq
                break
        result.steps.append(Step(seq, at, actor, action_name, args, True))
    if grade_at_end and result.first_mismatch is None and until is None:
        result.original_report, result.replay_report = _reports(rt, original_id, new_id)
        if result.original_report is not None:
            result.report_same = canonical(result.original_report) == canonical(result.replay_report)
    return result


def _fresh_sandbox(runtime, name: str) -> int:
    with runtime.db.write() as s:
        sb = Sandbox(name=name, created_at=runtime.clock.now(), archived_at=runtime.clock.now())
        s.add(sb)
        s.flush()
        sid = sb.id
    return sid


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


def _comparable(report: dict) -> dict:
    """A score report without the ids of database rows (they differ between the sandboxes)."""
    def strip(value, key=None):
        if isinstance(value, dict):
            return {k: strip(v, k) for k, v in value.items() if _kind(k) is None}
        if isinstance(value, list):
            return [strip(v, key) for v in value]
        return value
    return strip(report)
