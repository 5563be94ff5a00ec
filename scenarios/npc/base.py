"""NPC rules as a registry, like the grader's checks: one registered class per rule kind,
its parameters typed by the scenario schema's model of that kind.

A rule reacts to actions (``events``: action names). :func:`react` is registered with the
kernel's dispatcher for each of them (``sandbox.kernel.actions.on_action``): right after the
action's handler, in its transaction, it finds the sandbox's rules that listen to that
action, asks each whether the action concerns it (``matches``) and runs it (``run``). So an
NPC's answer belongs to the log entry of the action that caused it: its rows are in the
entry's ``created``, the world after it in the entry's state digest, and a replay, which
re-applies the action, makes the same answer (DESIGN.md §3). A rule reads only the action,
the database, the scenario file and the pinned clock; ids, Message-IDs and dates derive
from the log position and the time, never from chance.

Where a sandbox's rules come from:

* *declared* rules: the scenario's ``npc`` list (the file the sandbox was built from);
* *standing* rules (``standing = True``): part of every sandbox, their condition lies in
  the world's state (the automatic clerk: an organisation whose clerk is automatic).

What a rule's ``run`` returns is noted in the action's result under ``npc`` (a list, in rule
order), or, for a rule whose outcome is the action's own (``into_result``: the clerk's
release of a document forwarded to her), merged into the result itself.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import select

from sandbox.kernel.actions import ActionContext
from sandbox.kernel.clock import VN_TZ, as_utc

from ..models import ScenarioInstance
from ..schema import Person, Scenario
from ..templates import TemplateError

log = logging.getLogger(__name__)


class Rule:
    """One NPC rule of a sandbox: its kind's class with the parameters of one declaration."""

    kind: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    #: the action names it reacts to
    events: ClassVar[tuple[str, ...]] = ()
    #: part of every sandbox (not declared under ``npc``)
    standing: ClassVar[bool] = False
    #: what ``run`` returns is the action's own outcome: merged into its result
    into_result: ClassVar[bool] = False
    #: what the NPC does, for people (Vietnamese)
    summary_vi: ClassVar[str] = ""

    def __init__(self, params: BaseModel, index: int | None = None):
        self.params = params
        #: its place in the scenario's ``npc`` list (None: a standing rule)
        self.index = index

    def matches(self, event: "Event") -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, event: "Event") -> dict | None:  # pragma: no cover - abstract
        """Do what the NPC does, through the tool packages' public APIs, in the action's
        transaction. Render every text before the first change: a :class:`TemplateError`
        is caught by :func:`react` and noted, which is only safe while nothing was written."""
        raise NotImplementedError


#: kind → its rule class
RULES: dict[str, type[Rule]] = {}


def rule(cls: type[Rule]) -> type[Rule]:
    """Register a rule kind (a class decorator, like ``grader.checks.register``)."""
    if RULES.get(cls.kind, cls) is not cls:
        raise RuntimeError(f"NPC rule kind {cls.kind!r} registered twice")
    declared = cls.Params.model_fields.get("kind")
    if declared is None or getattr(declared.annotation, "__args__", (None,)) != (cls.kind,):
        raise RuntimeError(f"NPC rule {cls.kind!r}: its Params need kind: Literal[{cls.kind!r}]")
    if not cls.events:
        raise RuntimeError(f"NPC rule {cls.kind!r} reacts to no action")
    RULES[cls.kind] = cls
    return cls


def events() -> set[str]:
    """Every action some rule kind reacts to."""
    return {e for cls in RULES.values() for e in cls.events}


# --- the scenario a sandbox was built from ------------------------------------------------------
_LOADED: dict[str, tuple[tuple, Scenario | None]] = {}
_LOCK = threading.Lock()


def _scenario(ref: str) -> Scenario | None:
    """The scenario file ``ref`` (a library id or a path), validated; read again only when the
    file changed (this runs inside actions: a validation costs some 30 ms). None when it no
    longer loads: a sandbox whose file is gone or broken has no declared rules."""
    from ..library import find, load

    try:
        path = find(ref)
        st = Path(path).stat()
    except Exception:  # noqa: BLE001 - not found: no declared rules
        log.warning("NPC rules: scenario %r not found", ref)
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _LOCK:
        known = _LOADED.get(ref)
        if known is not None and known[0] == key:
            return known[1]
    try:
        sc = load(path).scenario
    except Exception:  # noqa: BLE001 - an invalid file: no declared rules (validation says why)
        log.warning("NPC rules: scenario %r does not load", ref, exc_info=True)
        sc = None
    with _LOCK:
        _LOADED[ref] = (key, sc)
    return sc


class Event:
    """An action that just ran (inside its transaction), as the rules see it: the context,
    the action's name, arguments and result, and, read when a rule asks, the sandbox's
    scenario instance, the scenario and the candidate's template values."""

    def __init__(self, ctx: ActionContext, action: str, args: dict, result: dict):
        self.ctx, self.action, self.args, self.result = ctx, action, args, result
        self._cache: dict[str, Any] = {}

    def _cached(self, key: str, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def instance(self) -> ScenarioInstance | None:
        return self._cached("instance", lambda: self.ctx.session.scalar(
            select(ScenarioInstance).where(ScenarioInstance.sandbox_id == self.ctx.sandbox.id)))

    @property
    def scenario(self) -> Scenario | None:
        def make():
            inst = self.instance
            return _scenario(inst.source or inst.scenario_id) if inst is not None else None
        return self._cached("scenario", make)

    @property
    def template_context(self) -> dict:
        """The placeholders' values of this candidate (as the task sheet was rendered with)."""
        def make():
            from ..build import from_json
            from ..variants import context

            inst = self.instance
            start = as_utc(inst.start).astimezone(VN_TZ).date()
            return context(self.scenario, from_json(inst.values), start)
        return self._cached("context", make)

    def person(self, pid: str) -> Person | None:
        sc = self.scenario
        return next((p for p in sc.world.people if p.id == pid), None) if sc is not None else None

    @property
    def candidate_address(self) -> str | None:
        inst = self.instance
        return inst.candidate_address if inst is not None else None


def rules_for(event: Event) -> list[Rule]:
    """The sandbox's rules that react to this action: the standing ones, then the scenario's
    ``npc`` declarations in file order."""
    out: list[Rule] = [cls(cls.Params(), None) for cls in RULES.values()
                       if cls.standing and event.action in cls.events]
    if any(not cls.standing and event.action in cls.events for cls in RULES.values()) \
            and event.scenario is not None:
        for i, params in enumerate(event.scenario.npc):
            cls = RULES.get(params.kind)
            if cls is not None and not cls.standing and event.action in cls.events:
                out.append(cls(params, i))
    return out


def react(ctx: ActionContext, action: str, args: dict, result: dict) -> dict | None:
    """The dispatch (registered with the kernel for every action a rule kind reacts to):
    run the sandbox's matching rules; returns what to merge into the action's result."""
    event = Event(ctx, action, args, result)
    notes: list[dict] = []
    merged: dict = {}
    for r in rules_for(event):
        try:
            if not r.matches(event):
                continue
            out = r.run(event)
        except TemplateError as exc:  # the exam's fault: the candidate's action still stands
            notes.append({"kind": r.kind, "rule": r.index, "error": str(exc)})
            continue
        if not out:
            continue
        if r.into_result:
            merged.update(out)
            event.result = {**event.result, **out}
        else:
            notes.append(out)
    if notes:
        merged["npc"] = [*result.get("npc", []), *notes]
    return merged or None
