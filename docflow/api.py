"""The document workflow's public API: the ONLY import surface for the web UI, scenarios and
the grader (see docs/docflow.md). It gathers what the modules behind it define, one per noun:

* :mod:`docflow.organisations`: organisations, units, people, the organisation's token;
* :mod:`docflow.incoming`: văn bản đến (register, return to sender, directive and forwarding,
  progress);
* :mod:`docflow.outgoing`: văn bản đi up to the clerk (drafts, versions, comments, submit,
  approve, return, the leader's signature, forwarding to the clerk);
* :mod:`docflow.clerk`: the clerk's release (numbering, the organisation signature, issuing,
  refusing, archiving) and the automatic clerk (her background job ``docflow.auto_clerk``);
* :mod:`docflow.reads`: what pages and the grader read, and the record of opened pages;
* :mod:`docflow.uploads`: checking and storing uploaded files.

* Write functions take ``(runtime, sandbox_id, actor, ...)`` and wrap exactly one dispatch of a
  ``docflow.*`` action (rendering and signing happen before it, outside the transaction; the
  PIN is used there and never passed to an action). Refusals raise
  :class:`~sandbox.kernel.errors.SandboxError` subclasses with a Vietnamese ``message_vi``.
* Read functions take ``(runtime, sandbox_id, ...)`` and return plain dataclasses; every query
  goes through :class:`docflow.queries.Scoped` (isolation in one place).

Importing this module registers every ``docflow.*`` action and the docflow part of the state
digest.
"""
from __future__ import annotations

from . import rules
from .clerk import (AUTO_CLERK_JOB, archive, auto_clerk_in_action, clerk_refuse, issue, leader_check, number, org_sign,
                    queue_auto_clerk)
from .common import SYSTEM, WORLD_ACTORS
from .errors import DocflowError, DocflowForbidden, DocflowNotFound
from .incoming import direct, mark_read, progress, register_incoming, reject_incoming
from .organisations import create_org, create_person, create_unit, setup_org_token
from .outgoing import (approve, comment, create_draft, forward_to_clerk, return_draft, sign_as_leader, submit,
                       update_draft)
from .reads import (LIEN_THONG, OUTGOING_BOXES, VIEW_PAGES, AssignmentInfo, EventInfo, IncomingDetail, IncomingRow,
                    ListPage, OrgInfo, OrgTree, OutgoingDetail, OutgoingRow, PersonInfo, ReportRow, SignatureRecord,
                    TrackingRow, UnitNode, assignments_of, attachment_of, history, incoming_doc, incoming_list,
                    org_of, org_tree, organisations, outgoing_doc, outgoing_list, pdf_of, person, record_view,
                    register, report, search, signatures_of, tokens_for, tracking, views)
from .signatures import use_pki
from .uploads import Upload, check_upload, safe_file_name

__all__ = [
    # vocabulary
    "rules", "DocflowError", "DocflowForbidden", "DocflowNotFound", "Upload", "WORLD_ACTORS", "SYSTEM",
    # setup
    "use_pki", "create_org", "create_unit", "create_person", "setup_org_token",
    # incoming
    "register_incoming", "reject_incoming", "direct", "progress", "mark_read", "record_view",
    # outgoing
    "create_draft", "update_draft", "comment", "submit", "approve", "return_draft", "sign_as_leader",
    "forward_to_clerk", "queue_auto_clerk", "AUTO_CLERK_JOB", "auto_clerk_in_action", "clerk_refuse", "number",
    "org_sign", "issue", "archive", "check_upload", "safe_file_name",
    # reads
    "person", "org_of", "organisations", "org_tree", "incoming_list", "outgoing_list", "search", "incoming_doc",
    "outgoing_doc", "tracking", "assignments_of", "signatures_of", "history", "register", "pdf_of", "attachment_of",
    "leader_check", "tokens_for", "views", "report", "LIEN_THONG", "OUTGOING_BOXES", "VIEW_PAGES",
    # read models
    "PersonInfo", "OrgInfo", "UnitNode", "OrgTree", "AssignmentInfo", "EventInfo", "IncomingRow", "IncomingDetail",
    "OutgoingRow", "SignatureRecord", "OutgoingDetail", "ListPage", "TrackingRow", "ReportRow",
]
