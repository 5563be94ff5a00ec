"""``auto_clerk``: the automatic clerk of an organisation (``clerk: auto`` in the scenario,
clerk mode ``npc`` in the document workflow). When the designated signer forwards a draft to
her (``docflow.forward_to_clerk``) she numbers it, signs it with the organisation certificate
and releases it, or sends it back with her reason: the decision and the work are the document
workflow's own (``docflow.api``), this rule only says when she acts.

A standing rule: every sandbox has it, whatever its scenario's ``npc`` list says (a world
made without a scenario too), because the condition is the organisation's clerk mode.

Wiring: it acts on a forward the workflow left at the clerk (``{"status": "at_clerk",
"clerk": "npc"}``). A forward recorded since issue 14 says ``deferred``: the rule queues her
background job in the forward's transaction (``docflow.api.queue_auto_clerk``; ``queued`` is
merged into the result), and the job, outside any transaction, does the slow work (the
verifier, the organisation signature) and records her part as her own action
(``docflow.auto_clerk``, actor: her address), which a replay re-applies from the log (in a
replay's copy nothing is queued). A forward recorded before issue 14 (no ``deferred``) had
her part inside it: the rule does it inline (``docflow.api.auto_clerk_in_action``), so such
a log still replays as it was recorded.
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
        if event.args.get("deferred"):
            return docflow_api.queue_auto_clerk(event.ctx, event.args["outgoing_id"])
        return docflow_api.auto_clerk_in_action(event.ctx, event.args["outgoing_id"])
