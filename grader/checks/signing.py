"""Signing checks on a draft's current PDF, through the verifier (``signing.api``)."""
from __future__ import annotations

from typing import Annotated

from .base import Check, Outcome, Params, Ref, register


class _Draft(Params):
    draft: Annotated[str, Ref("draft")]


def _report(state, draft: str):
    """The verifier's report of the draft as signed: its current PDF when that carries the
    leader's signature, else the last PDF the leader signed (a draft the clerk refused goes
    back unsigned, but what the candidate signed is still the evidence)."""
    d = state.outgoing(draft)
    if d.pdf_blob and d.layers >= 1:
        return d, state.verify(d.pdf_blob)
    signed = [s for s in d.signatures if s.role == "leader" and s.blob]
    if signed:
        return d, state.verify(signed[-1].blob)
    return d, None


def _sig_evidence(sig) -> dict:
    return {"field": sig.field, "signer": sig.signer, "fingerprint": sig.fingerprint, "kind": sig.kind,
            "signing_time": sig.signing_time, "intact": sig.intact, "trusted": sig.trusted}


def _verdict(report, code: str):
    return next((v for v in report.verdicts if v.code == code), None)


@register
class LeaderOwnCertificate(Check):
    type = "signing.leader_own_cert"
    summary_vi = "chữ ký thứ nhất bằng chứng thư số cá nhân của chính thí sinh"

    class Params(_Draft):
        #: no other draft signed by the candidate (signing every draft is not knowing which)
        only: bool = False

    def run(self, state, p) -> Outcome:
        if p.only:
            others = [name for name in state.anchors.get("drafts", {}) if name != p.draft
                      and any(e.status == "leader_signed" and e.actor == state.candidate_address
                              for e in state.outgoing(name).history)]
            if others:
                labels = [state.outgoing(n).summary for n in others]
                return Outcome.failed("Đã ký số cả dự thảo không được yêu cầu: " + "; ".join(
                    f"«{x}»" for x in labels) + ".", extra=others)
        d, report = _report(state, p.draft)
        leader = next((s for s in (report.signatures if report else []) if s.field == "SigLanhDao"), None)
        if leader is None:
            return Outcome.failed("Dự thảo chưa được ký số.", outgoing_id=d.id)
        own = state.own_fingerprint(state.candidate_address)
        ev = _sig_evidence(leader)
        if leader.fingerprint != own:
            who = leader.person or leader.signer
            return Outcome.failed(f"Chữ ký thứ nhất dùng chứng thư số của {who}, không phải của thí sinh.", **ev)
        if not (leader.intact and leader.valid):
            return Outcome.failed("Chữ ký của lãnh đạo không còn toàn vẹn.", **ev)
        return Outcome.passed(f"Ký bằng chứng thư số của {leader.signer}.", **ev)


class _VerdictCheck(Check):
    codes: tuple[str, ...]
    missing_vi = "Văn bản chưa có chữ ký số để kiểm tra."

    class Params(_Draft):
        pass

    def run(self, state, p) -> Outcome:
        d, report = _report(state, p.draft)
        if report is None or not report.signatures:
            return Outcome.failed(self.missing_vi, outgoing_id=d.id)
        ev = {"outgoing_id": d.id, "status": report.status,
              "signatures": [_sig_evidence(s) for s in report.signatures]}
        verdicts = [_verdict(report, code) for code in self.codes]
        if any(v is None for v in verdicts):
            return Outcome.failed("Chưa đủ điều kiện để kiểm tra (thiếu chữ ký).", **ev)
        for v in verdicts:
            if v.value is not None:
                ev["value"] = round(v.value, 3)
            if not v.ok:
                return Outcome.failed(v.message, **ev)
        return Outcome.passed(" ".join(v.message for v in verdicts), **ev)


@register
class TwoLayers(_VerdictCheck):
    type = "signing.two_layers"
    codes = ("two_layers", "order")
    summary_vi = "văn bản phát hành có đủ hai lớp chữ ký số (lãnh đạo, cơ quan) theo đúng thứ tự"


@register
class UnchangedAfterLeader(_VerdictCheck):
    type = "signing.unchanged_after_leader"
    codes = ("unchanged_after_leader",)
    summary_vi = "văn bản không bị sửa sau khi lãnh đạo ký (ngoài số, ngày và chữ ký cơ quan)"


@register
class SealPlacement(_VerdictCheck):
    type = "signing.seal_placement"
    codes = ("seal_placement",)
    summary_vi = "dấu của cơ quan trùm khoảng 1/3 chữ ký của lãnh đạo, về phía bên trái"
