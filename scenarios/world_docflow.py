"""The document-workflow part of a scenario's world: organisations, units, people with roles,
the organisation certificates on the clerks' tokens, the incoming documents already
registered, and the drafts waiting for signature. Through ``docflow.api`` only."""
from __future__ import annotations

import datetime as dt

from docflow import api as docflow_api
from signing import api as signing_api

from . import templates
from .build_helpers import attachment_bytes, generated_pdf


def build(runtime, sandbox_id: int, loaded, ctx: dict, start: dt.datetime, anchors: dict, *,
          name: str, actor: str = "system") -> None:
    sc = loaded.scenario
    start_date = ctx["start"]
    org_ids: dict[str, int] = {}
    unit_ids: dict[str, int] = {}
    person_ids: dict[str, int] = {}
    people = {p.id: p for p in sc.world.people}

    for o in sc.world.organisations:
        org_ids[o.id] = docflow_api.create_org(
            runtime, sandbox_id, code=o.code, name=o.name, parent_name=o.parent or "", place=o.place,
            email=o.email or "", clerk_mode="person" if o.clerk == "candidate" else "npc", actor=actor)
        for u in o.units:
            unit_ids[u.id] = docflow_api.create_unit(runtime, sandbox_id, org_ids[o.id], u.code, u.name, actor=actor)
    for p in sc.world.people:
        person_ids[p.id] = docflow_api.create_person(
            runtime, sandbox_id, org_ids[p.org], p.email.lower(), p.name, p.role, title=p.title,
            unit_id=unit_ids.get(p.unit) if p.unit else None, leads=p.leads or "none", actor=actor)

    pki = signing_api.pki_for(runtime)
    for o in sc.world.organisations:
        clerk = next((p for p in sc.world.people if p.org == o.id and p.role == "van_thu"), None)
        if clerk is None or o.clerk == "none":
            continue
        bundle = pki.issue_organisation(o.name, parent=o.parent, locality=o.place, email=o.email or None,
                                        serial_salt=loaded.id + ":" + name)
        docflow_api.setup_org_token(runtime, sandbox_id, org_ids[o.id], bundle, clerk.pin,
                                    clerk_address=clerk.email.lower(), npc=o.clerk == "auto", actor=actor)
    anchors["orgs"] = org_ids
    anchors["units"] = unit_ids
    anchors["people"] = person_ids

    for d in sc.initial.incoming:
        pdf = _pdf(sc, ctx, d.org, d.summary, d.body)
        files = [docflow_api.Upload(*attachment_bytes(a, sc, ctx)[::2]) for a in d.attachments]
        res = docflow_api.register_incoming(
            runtime, sandbox_id, org_ids[d.org], sender_name=templates.render(d.sender, ctx),
            summary=templates.render(d.summary, ctx), original_symbol=templates.render(d.symbol, ctx),
            original_date=d.date, type_code=d.type, urgency=d.urgency, pdf=pdf, attachments=files,
            arrival_date=start_date, actor=actor)
        anchors["incoming"][d.id] = {"incoming_id": res["incoming_id"], "arrival_number": res["arrival_number"]}
        if d.directive or d.assignments:
            leader = people[d.directed_by] if d.directed_by else next(
                p for p in sc.world.people if p.org == d.org and p.leads == "org")
            rows = []
            for a in d.assignments:
                key = "unit_id" if a.target in unit_ids else "person_id"
                rows.append({key: unit_ids.get(a.target) or person_ids[a.target], "role": a.role,
                             "deadline": start_date + dt.timedelta(days=a.deadline_days)})
            _with_clock(runtime, start - dt.timedelta(days=max([0] + [-a.deadline_days for a in d.assignments]) + 2),
                        lambda rt: docflow_api.direct(rt, sandbox_id, leader.email.lower(),
                                                   res["incoming_id"], d.directive or "Đề nghị xử lý.", rows))
            # statuses reported by the assignees (a seeded overdue unit stays "processing")
            seeded = docflow_api.assignments_of(runtime, sandbox_id, res["incoming_id"])
            for a, row in zip(d.assignments, seeded):
                if a.status != "unread":
                    who = _assignee_address(sc, a.target)
                    for step in ("read", "processing", "completed"):
                        docflow_api.progress(runtime, sandbox_id, who, row.id, step)
                        if step == a.status:
                            break

    for d in sc.initial.drafts:
        recips = []
        for r in d.recipients:
            if r.unit:
                recips.append({"kind": "unit", "id": unit_ids[r.unit]})
            elif r.org:
                recips.append({"kind": "org", "id": org_ids[r.org]})
            else:
                recips.append({"kind": "email", "address": templates.render(r.email, ctx)})
            if r.label:
                recips[-1]["label"] = templates.render(r.label, ctx)
        files = [docflow_api.Upload(*attachment_bytes(a, sc, ctx)[::2]) for a in d.attachments]
        drafter = people[d.drafter].email.lower()
        oid = docflow_api.create_draft(
            runtime, sandbox_id, drafter, type_code=d.type, summary=templates.render(d.summary, ctx),
            signer_id=person_ids[d.signer], signer_title=d.signer_title,
            body=[templates.render(b, ctx) for b in d.body], recipients=recips, attachments=files,
            unit_id=unit_ids.get(d.unit) if d.unit else None)
        if d.status in ("submitted", "approved"):
            docflow_api.submit(runtime, sandbox_id, drafter, oid)
        if d.status == "approved":
            docflow_api.approve(runtime, sandbox_id, people[d.signer].email.lower(), oid)
        anchors["drafts"][d.id] = {"outgoing_id": oid}


def _assignee_address(sc, target: str) -> str:
    for p in sc.world.people:
        if p.id == target:
            return p.email.lower()
    head = next((p for p in sc.world.people if p.unit == target and p.leads == "unit"), None) or \
        next(p for p in sc.world.people if p.unit == target)
    return head.email.lower()


def _pdf(sc, ctx, org_id: str, summary: str, body: list[str]) -> bytes:
    orgs = {o.id: o for o in sc.world.organisations}
    text = [templates.render(b, ctx) for b in body] or [templates.render(summary, ctx)]
    return generated_pdf(orgs[org_id].name.upper(), templates.render(summary, ctx), tuple(text))


def _with_clock(runtime, when, fn):
    """Run ``fn(rt)`` on a copy of the runtime whose dispatcher's clock stands at ``when`` (a
    seeded directive given days ago, so its deadline may already be past: the overdue
    document of a status-check task). The shared runtime is not touched."""
    from dataclasses import replace

    from sandbox.kernel.actions import Dispatcher
    from sandbox.kernel.clock import FixedClock

    d = runtime.dispatcher
    return fn(replace(runtime, dispatcher=Dispatcher(d.db, FixedClock(when), d.blobs, d.services)))

