"""NPC rules (DESIGN.md §3, §7): the registry of rule kinds and its dispatch, registered with
the kernel's dispatcher when this package is imported (see :mod:`scenarios.npc.base`).

Kinds: ``auto_reply`` (:mod:`.mail`: a colleague answers the candidate's mail, declared under
``npc`` in a scenario) and ``auto_clerk`` (:mod:`.clerk`: the automatic clerk, standing in
every sandbox whose organisation has one)."""
from __future__ import annotations

from sandbox.kernel.actions import on_action

from . import clerk, mail  # noqa: F401  (register their kinds)
from .base import RULES, Event, Rule, events, react, rule, rules_for

__all__ = ["RULES", "Event", "Rule", "events", "react", "rule", "rules_for", "declarable_kinds"]

for _name in sorted(events()):
    on_action(_name)(react)


def declarable_kinds() -> set[str]:
    """The kinds a scenario file may write under ``npc`` (the others are standing)."""
    return {k for k, cls in RULES.items() if not cls.standing}
