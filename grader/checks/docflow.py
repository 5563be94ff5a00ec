"""Document-workflow checks: the directive and assignments on an incoming document, the
draft's way to the clerk and its release (``docflow.api`` read functions)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from .base import Check, Outcome, Params, Ref, register
from .mail import fold

ROLE_VI = {"xlc": "xử lý chính", "ph": "phối hợp", "db": "nhận để biết"}


def _assignment_evidence(a) -> dict:
    return {"assignment_id": a.id, "target": a.target_label, "role": a.role,
            "deadline": a.deadline.isoformat() if a.deadline else None, "assigned_by": a.assigned_by,
            "assigned_at": a.assigned_at.isoformat() if a.assigned_at else None}


class _Doc(Params):
    doc: Annotated[str, Ref("incoming")]


Target = Annotated[str, Ref("target")]
DraftRef = Annotated[str, Ref("draft")]


@register
class Directive(Check):
    type = "docflow.directive"
    summary_vi = "có ý kiến chỉ đạo (bút phê) trên văn bản đến, từ tài khoản của thí sinh"

    class Params(_Doc):
        contains: list[str] = []

    def run(self, state, p) -> Outcome:
        d = state.incoming(p.doc)
        if not d.directive.strip():
            return Outcome.failed("Văn bản đến chưa có ý kiến chỉ đạo.", incoming_id=d.id)
        if d.directive_by != state.candidate_address:
            return Outcome.failed(f"Ý kiến chỉ đạo do {d.directive_by} ghi, không phải thí sinh.",
                                  directive_by=d.directive_by)
        missing = [w for w in p.contains if fold(w) not in fold(d.directive)]
        ev = {"incoming_id": d.id, "directive": d.directive, "directive_by": d.directive_by,
              "directive_at": d.directive_at.isoformat() if d.directive_at else None}
        if missing:
            return Outcome.failed(f"Ý kiến chỉ đạo thiếu: {', '.join(missing)}.", **ev)
        return Outcome.passed(f"Ý kiến chỉ đạo: «{d.directive}».", **ev)


def _mine(state, d) -> list:
    return [a for a in d.assignments if a.assigned_by == state.candidate_address]


@register
class Assigned(Check):
    type = "docflow.assigned"
    summary_vi = "giao đúng đơn vị/người với đúng vai trò (và đúng hạn xử lý khi có yêu cầu)"

    class Params(_Doc):
        target: Target | None = None      # None: whoever holds ``role`` (the lead's deadline)
        role: Literal["xlc", "ph", "db"]
        deadline: dt.date | None = None
        #: nobody else holds ``role`` (routing a document to every unit is not knowing which)
        only: bool = False

    def run(self, state, p) -> Outcome:
        d = state.incoming(p.doc)
        if p.only and p.target is not None:
            kind, tid = state.target(p.target)
            others = [a for a in _mine(state, d) if a.role == p.role
                      and (a.target_kind, a.target_id) != (kind, tid)]
            if others:
                return Outcome.failed(f"Vai trò «{ROLE_VI[p.role]}» được giao thêm cho "
                                      f"{', '.join(a.target_label for a in others)}, ngoài yêu cầu.",
                                      incoming_id=d.id, extra=[a.target_label for a in others],
                                      assignments=[_assignment_evidence(a) for a in _mine(state, d)])
        if p.target is None:
            rows = [a for a in _mine(state, d) if a.role == p.role]
        else:
            kind, tid = state.target(p.target)
            rows = [a for a in _mine(state, d) if a.target_kind == kind and a.target_id == tid]
        if not rows:
            who = "đơn vị/người được yêu cầu" if p.target else f"đơn vị/người {ROLE_VI[p.role]}"
            return Outcome.failed(f"Chưa giao văn bản cho {who}.", incoming_id=d.id,
                                  assignments=[_assignment_evidence(a) for a in _mine(state, d)])
        a = rows[0]
        if a.role != p.role:
            return Outcome.failed(f"{a.target_label} được giao vai trò «{ROLE_VI[a.role]}», "
                                  f"không phải «{ROLE_VI[p.role]}».", **_assignment_evidence(a))
        if p.deadline is not None and a.deadline != p.deadline:
            got = a.deadline.strftime("%d/%m/%Y") if a.deadline else "không có"
            return Outcome.failed(f"Hạn xử lý của {a.target_label} là {got}, "
                                  f"yêu cầu {p.deadline.strftime('%d/%m/%Y')}.", **_assignment_evidence(a))
        return Outcome.passed(f"{a.target_label}: {ROLE_VI[a.role]}.", **_assignment_evidence(a))


@register
class SingleLead(Check):
    type = "docflow.single_lead"
    summary_vi = "có đúng một đơn vị/người xử lý chính"

    class Params(_Doc):
        target: Target | None = None

    def run(self, state, p) -> Outcome:
        d = state.incoming(p.doc)
        leads = [a for a in _mine(state, d) if a.role == "xlc"]
        ev = {"incoming_id": d.id, "leads": [_assignment_evidence(a) for a in leads]}
        if len(leads) != 1:
            return Outcome.failed(f"Có {len(leads)} đơn vị/người xử lý chính (phải đúng một).", **ev)
        if p.target is not None:
            kind, tid = state.target(p.target)
            if (leads[0].target_kind, leads[0].target_id) != (kind, tid):
                return Outcome.failed(f"Xử lý chính là {leads[0].target_label}, không đúng yêu cầu.", **ev)
        return Outcome.passed(f"Xử lý chính: {leads[0].target_label}.", **ev)


@register
class ForwardedToClerk(Check):
    type = "docflow.forwarded_to_clerk"
    summary_vi = "dự thảo đã ký được chuyển văn thư phát hành (không tự phát hành, không chuyển nhầm người)"

    class Params(Params):
        draft: DraftRef
        #: no other draft sent to the clerk by the candidate (forwarding everything is not choosing)
        only: bool = False

    def run(self, state, p) -> Outcome:
        if p.only:
            others = [n for n in state.anchors.get("drafts", {}) if n != p.draft
                      and any(e.status == "at_clerk" and e.actor == state.candidate_address
                              for e in state.outgoing(n).history)]
            if others:
                return Outcome.failed("Đã chuyển văn thư phát hành cả dự thảo không được yêu cầu: " + "; ".join(
                    f"«{state.outgoing(n).summary}»" for n in others) + ".", extra=others)
        d = state.outgoing(p.draft)
        ev = {"outgoing_id": d.id, "status": d.status,
              "events": [{"at": e.at.isoformat(), "actor": e.actor, "what": e.what, "status": e.status}
                         for e in d.history if e.status in ("leader_signed", "at_clerk")]}
        signed = False
        for e in d.history:
            if e.status == "leader_signed":
                signed = True
            elif e.status == "at_clerk" and e.actor == state.candidate_address:
                if signed:
                    return Outcome.passed("Đã chuyển dự thảo đã ký số cho văn thư phát hành.", **ev)
                return Outcome.failed("Dự thảo được chuyển văn thư khi chưa ký số.", **ev)
        return Outcome.failed("Dự thảo chưa được chuyển văn thư phát hành.", **ev)


@register
class Released(Check):
    type = "docflow.released"
    summary_vi = "văn bản được văn thư cấp số, ký số cơ quan và phát hành (đủ hai lớp chữ ký)"

    class Params(Params):
        draft: DraftRef

    def run(self, state, p) -> Outcome:
        d = state.outgoing(p.draft)
        ev = {"outgoing_id": d.id, "status": d.status, "symbol": d.symbol, "layers": d.layers}
        if d.status not in ("issued", "sent", "archived"):
            return Outcome.failed(f"Văn bản chưa được phát hành (trạng thái: {d.status_label}).", **ev)
        if d.layers < 2:
            return Outcome.failed("Văn bản phát hành chưa đủ hai lớp chữ ký số.", **ev)
        return Outcome.passed(f"Đã phát hành, số {d.symbol}.", **ev)


@register
class NumberFormat(Check):
    type = "docflow.number_format"
    summary_vi = "số, ký hiệu văn bản đúng thể thức (Nghị định 30/2020/NĐ-CP)"

    class Params(Params):
        draft: DraftRef

    def run(self, state, p) -> Outcome:
        d = state.outgoing(p.draft)
        if not d.symbol:
            return Outcome.failed("Văn bản chưa được cấp số.", outgoing_id=d.id)
        if not re.fullmatch(r"(0[1-9]|[1-9]\d+)/[A-ZĐ]+(-[A-ZĐ0-9]+)+", d.symbol):
            return Outcome.failed(f"Số, ký hiệu «{d.symbol}» không đúng thể thức.", symbol=d.symbol)
        return Outcome.passed(f"Số, ký hiệu {d.symbol}.", symbol=d.symbol, outgoing_id=d.id)


@register
class Viewed(Check):
    type = "docflow.viewed"
    summary_vi = "đã mở trang theo dõi tình hình xử lý (hoặc báo cáo, hoặc chính văn bản) để kiểm tra"

    class Params(Params):
        doc: Annotated[str, Ref("incoming")] | None = None   # an incoming document of the world, or any
        pages: list[Literal["tracking", "report", "incoming_doc"]] = ["tracking", "report", "incoming_doc"]

    def run(self, state, p) -> Outcome:
        from docflow import api as docflow_api

        doc_id = state.anchor("incoming", p.doc)["incoming_id"] if p.doc else None
        for v in docflow_api.views(state.runtime, state.sandbox_id, actor=state.candidate_address):
            if v["page"] not in p.pages:
                continue
            if v["page"] == "incoming_doc" and doc_id is not None and v["doc_id"] != doc_id:
                continue
            return Outcome.passed("Đã mở trang theo dõi, kiểm tra tình hình xử lý văn bản.",
                                  page=v["page"], at=v["at"].isoformat())
        return Outcome.failed("Chưa mở trang theo dõi tình hình xử lý văn bản.")
