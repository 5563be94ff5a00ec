"""``auto_clerk``: the automatic clerk of an organisation (``clerk: auto`` in the scenario,
clerk mode ``npc`` in the document workflow). When the designated signer forwards a signed
draft to her (``docflow.forward_to_clerk``) she numbers it, signs it with the organisation
certificate and releases it, or sends it back with her reason: the decision is the document
workflow's own (``docflow.api.auto_clerk_in_action``), this rule only says when she acts.

A standing rule: every sandbox has it, whatever its scenario's ``npc`` list says (a world
made without a scenario too), because the condition is the organisation's clerk mode.

Wiring: it acts on a forward the workflow left at the clerk (``{"status": "at_clerk",
"clerk": "npc"}``) and calls ``docflow.api.auto_clerk_in_action(ctx, outgoing_id)`` (the
workflow's ``clerk.release_by_automatic_clerk`` for that draft); its outcome (``status``,
``released``, ``symbol`` or ``refusal``) is the action's own, merged into the result, so the
result, the rows, the log entry and the score reports are what they were when the workflow
released inline. While the workflow still releases inline (``auto_release_if_automatic`` in
``docflow.forward_to_clerk``) the forward is never left at an automatic clerk, and the rule
does nothing.
"""
from __future__ import annotations

from docflow import api as docflow_api

from ..schema import AutoClerk
from .base import Event, Rule, rule


@rule
class AutoClerkRule(Rule):
    kind = "auto_clerk"
    Params = AutoClerk
    events = ("docflow.forward_to_clerk",)
    standing = True
    into_result = True
    summary_vi = "văn thư tự động cấp số, ký số của cơ quan và phát hành văn bản lãnh đạo chuyển đến"

    def matches(self, event: Event) -> bool:
        return event.result.get("clerk") == "npc" and event.result.get("status") == "at_clerk"

    def run(self, event: Event) -> dict:
        return docflow_api.auto_clerk_in_action(event.ctx, event.args["outgoing_id"])
