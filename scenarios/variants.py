"""Per-candidate values: draw a scenario's variants from a seed, and the template context
(entities of the world + drawn values) that task sheets and check parameters render with.

Deterministic: the same scenario id, seed and start date give the same values (a seeded
``random.Random``; never the global generator)."""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .schema import Scenario, Variant


def entities(sc: Scenario) -> dict[str, dict[str, dict[str, Any]]]:
    """The world's entities as plain dicts, by kind and id (what placeholders can reach)."""
    orgs = {o.id: {"id": o.id, "code": o.code, "name": o.name, "domain": o.domain,
                   "email": o.email or "", "place": o.place} for o in sc.world.organisations}
    units = {}
    for o in sc.world.organisations:
        for u in o.units:
            units[u.id] = {"id": u.id, "code": u.code, "name": u.name, "email": u.email or "",
                           "org": o.id, "org_name": o.name}
    people = {p.id: {"id": p.id, "name": p.name, "title": p.title, "email": p.email.lower(), "role": p.role,
                     "org": p.org, "org_name": orgs.get(p.org, {}).get("name", ""),
                     "unit": p.unit or "", "unit_name": units.get(p.unit or "", {}).get("name", ""),
                     "pin": p.pin if p.certificate else ""}
              for p in sc.world.people}
    incoming = {d.id: {"id": d.id, "symbol": d.symbol, "summary": d.summary, "sender": d.sender,
                       "date": d.date, "arrival_no": d.arrival_no if d.arrival_no is not None else "",
                       "type": d.type} for d in sc.initial.incoming}
    drafts = {d.id: {"id": d.id, "summary": d.summary, "type": d.type} for d in sc.initial.drafts}
    return {"orgs": orgs, "units": units, "people": people, "incoming": incoming, "drafts": drafts}


_KIND_OF_SOURCE = {"person": "people", "unit": "units", "org": "orgs", "incoming": "incoming", "draft": "drafts"}


def options(var: Variant, ents: dict, start: dt.date) -> list[Any]:
    """Every value a variant can take."""
    src = var.source
    raw = getattr(var, src)
    if src == "choices":
        return list(raw)
    if src == "days_after_start":
        return [start + dt.timedelta(days=int(n)) for n in raw]
    table = ents[_KIND_OF_SOURCE[src]]
    return [table[i] for i in raw if i in table]


def draw(scenario_id: str, sc: Scenario, seed: int, start: dt.date) -> dict[str, Any]:
    """The variant values for one candidate (in declaration order, one generator)."""
    rng = random.Random(f"{scenario_id}:{seed}")
    ents = entities(sc)
    return {name: rng.choice(options(var, ents, start)) for name, var in sc.variants.items()}


def context(sc: Scenario, values: dict[str, Any], start: dt.date) -> dict[str, Any]:
    ents = entities(sc)
    ctx: dict[str, Any] = dict(ents)
    ctx["candidate"] = ents["people"].get(sc.world.candidate, {})
    ctx["start"] = start
    ctx.update(values)
    return ctx
