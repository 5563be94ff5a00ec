"""Acceptance 1 (outgoing): every allowed transition works; every forbidden one is refused
with a clear Vietnamese message and changes nothing."""
from __future__ import annotations

import pytest

from docflow import api
from sandbox.kernel.errors import Forbidden, SandboxError

from .factories import CLERK_PIN, LEADER_PIN, SPECIALIST_PIN, a_draft, forward_to_clerk, snapshot


def refused(w, fn, *args, exc=SandboxError, contains: str = "", **kw) -> str:
    """Call a step that must be refused: the error is ``exc`` with a Vietnamese message
    (containing ``contains``), and the sandbox is exactly as before."""
    before = snapshot(w.rt, w.sandbox_id)
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    msg = info.value.message_vi
    assert msg and any(ch in msg for ch in "ạảãáàăâđêôơư"), msg  # Vietnamese, with diacritics
    assert contains in msg, msg
    assert snapshot(w.rt, w.sandbox_id) == before
    return msg


def status(w, doc):
    return api.outgoing_doc(w.rt, w.sandbox_id, None, doc).status


def test_every_allowed_transition_with_a_person_clerk(dw_person_clerk):
    w = dw_person_clerk
    rt, sb = w.rt, w.sandbox_id
    doc = a_draft(w, submit=False)
    assert status(w, doc) == "drafting"
    api.comment(rt, sb, w.a("head"), doc, "Đề nghị bổ sung thời hạn triển khai.")
    assert api.update_draft(rt, sb, w.a("specialist"), doc, body=["Nội dung đã sửa."], note="bổ sung") == 2
    api.submit(rt, sb, w.a("specialist"), doc)
    assert status(w, doc) == "submitted"
    api.return_draft(rt, sb, w.a("leader"), doc, "Sửa lại trích yếu cho rõ.")
    d = api.outgoing_doc(rt, sb, w.a("specialist"), doc)
    assert d.status == "returned" and d.return_reason == "Sửa lại trích yếu cho rõ."
    api.update_draft(rt, sb, w.a("specialist"), doc, summary="triển khai chuyển đổi số năm 2026 trên địa bàn quận")
    api.submit(rt, sb, w.a("specialist"), doc)
    api.approve(rt, sb, w.a("leader"), doc)
    assert status(w, doc) == "approved"
    res = api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    assert res["own_certificate"] is True and status(w, doc) == "leader_signed"
    assert forward_to_clerk(rt, sb, w.a("leader"), doc)["clerk"] == "person"
    assert status(w, doc) == "at_clerk"
    assert [r.id for r in api.outgoing_list(rt, sb, w.a("clerk"), box="cho_phat_hanh").items] == [doc]
    res = api.number(rt, sb, w.a("clerk"), doc)
    assert res["symbol"] == "01/UBND-VX" and status(w, doc) == "numbered"
    api.org_sign(rt, sb, w.a("clerk"), doc, w.tokens["org"], CLERK_PIN)
    assert status(w, doc) == "org_signed"
    res = api.issue(rt, sb, w.a("clerk"), doc)
    assert res["status"] == "sent" and {d["status"] for d in res["deliveries"]} == {"delivered"}
    api.archive(rt, sb, w.a("clerk"), doc)
    d = api.outgoing_doc(rt, sb, w.a("leader"), doc)
    assert d.status == "archived" and d.layers == 2 and d.version == 3
    assert [e.status for e in d.history if e.status][-7:] == [
        "leader_signed", "at_clerk", "numbered", "org_signed", "issued", "sent", "archived"]
    assert len(d.comments) == 1 and [v["version"] for v in d.versions] == [1, 2, 3]
    assert [e["symbol"] for e in api.register(rt, sb, w.org, "di", 2025)] == ["01/UBND-VX"]


def test_specialist_cannot_sign_for_the_leader(dw):
    doc = a_draft(dw)
    msg = refused(dw, api.sign_as_leader, dw.rt, dw.sandbox_id, dw.a("specialist"), doc, dw.tokens["specialist"],
                  SPECIALIST_PIN, exc=Forbidden, contains="Chỉ người ký được giao")
    assert "Nguyễn Văn An" in msg
    refused(dw, api.approve, dw.rt, dw.sandbox_id, dw.a("vice"), doc, exc=Forbidden)
    refused(dw, api.forward_to_clerk, dw.rt, dw.sandbox_id, dw.a("specialist"), doc, exc=Forbidden)


def test_leader_signing_with_a_specialists_certificate_is_recorded_and_refused_by_the_clerk(runtime, dw):
    """The classic mistake is possible (the leader holds the specialist's token) but visible:
    the history warns, the certificate is recorded, the automatic clerk refuses."""
    from signing.api import provision

    rt, sb = dw.rt, dw.sandbox_id
    borrowed = provision(rt.dispatcher, sb, dw.a("leader"), dw.bundles["specialist"], "999999",
                         label="Token mượn", owner=dw.a("specialist"))
    doc = a_draft(dw)
    res = api.sign_as_leader(rt, sb, dw.a("leader"), doc, borrowed, "999999")
    assert res["own_certificate"] is False
    sigs = api.signatures_of(rt, sb, doc)
    assert sigs[0].signer == "Phạm Thị Hoa" and sigs[0].fingerprint == dw.bundles["specialist"].sha256
    assert sigs[0].holder == dw.a("specialist") and sigs[0].by == dw.a("leader")
    hist = api.history(rt, sb, "out", doc)
    assert "CẢNH BÁO" in hist[-1].what and "Phạm Thị Hoa" in hist[-1].what
    res = forward_to_clerk(rt, sb, dw.a("leader"), doc)
    assert res["released"] is False and "không phải chứng thư số của người ký Nguyễn Văn An" in res["refusal"]
    d = api.outgoing_doc(rt, sb, dw.a("leader"), doc)
    assert d.status == "approved" and d.clerk_refusal == res["refusal"] and d.layers == 0
    assert d.history[-1].actor == dw.a("clerk") and "Văn thư trả lại" in d.history[-1].what
    assert api.signatures_of(rt, sb, doc)[0].superseded
    # The leader signs again with her own certificate; the clerk releases.
    api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    res = forward_to_clerk(rt, sb, dw.a("leader"), doc)
    assert res["released"] is True and res["symbol"] == "01/UBND-VX"


def test_automatic_clerk_refuses_an_unsigned_draft(dw):
    doc = a_draft(dw)
    res = forward_to_clerk(dw.rt, dw.sandbox_id, dw.a("leader"), doc)
    assert res["released"] is False and res["refusal"] == "Dự thảo chưa được lãnh đạo ký số."
    d = api.outgoing_doc(dw.rt, dw.sandbox_id, dw.a("leader"), doc)
    assert d.status == "approved" and d.clerk_refusal == res["refusal"] and d.number is None
    assert api.register(dw.rt, dw.sandbox_id, dw.org, "di", 2025) == []


def test_person_clerk_cannot_issue_an_unsigned_draft(dw_person_clerk):
    w = dw_person_clerk
    rt, sb = w.rt, w.sandbox_id
    doc = a_draft(w)
    forward_to_clerk(rt, sb, w.a("leader"), doc)
    refused(w, api.issue, rt, sb, w.a("clerk"), doc, contains="chưa có chữ ký số của cơ quan")
    api.number(rt, sb, w.a("clerk"), doc)
    refused(w, api.org_sign, rt, sb, w.a("clerk"), doc, w.tokens["org"], CLERK_PIN,
            contains="chưa được lãnh đạo ký số")
    refused(w, api.issue, rt, sb, w.a("clerk"), doc, contains="chưa có chữ ký số của cơ quan")


def test_leader_cannot_release_without_the_clerk(dw_person_clerk):
    w = dw_person_clerk
    rt, sb = w.rt, w.sandbox_id
    doc = a_draft(w)
    api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    for step in (api.number, api.issue, api.archive):
        refused(w, step, rt, sb, w.a("leader"), doc, exc=Forbidden, contains="Chỉ văn thư")
    refused(w, api.org_sign, rt, sb, w.a("leader"), doc, w.tokens["org"], CLERK_PIN, exc=Forbidden,
            contains="Chỉ văn thư")
    forward_to_clerk(rt, sb, w.a("leader"), doc)
    api.number(rt, sb, w.a("clerk"), doc)
    refused(w, api.org_sign, rt, sb, w.a("leader"), doc, w.tokens["org"], CLERK_PIN, exc=Forbidden)


def test_number_is_never_reused_in_a_year(dw_person_clerk):
    w = dw_person_clerk
    rt, sb = w.rt, w.sandbox_id
    first, second = a_draft(w), a_draft(w, type_code="QĐ", summary="Về việc thành lập Tổ công tác")
    for doc in (first, second):
        api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
        forward_to_clerk(rt, sb, w.a("leader"), doc)
    assert api.number(rt, sb, w.a("clerk"), first, number=5)["symbol"] == "05/UBND-VX"
    msg = refused(w, api.number, rt, sb, w.a("clerk"), second, number=5, contains="đã được cấp")
    assert "05/UBND-VX" in msg and "năm 2025" in msg
    assert api.number(rt, sb, w.a("clerk"), second)["symbol"] == "06/QĐ-UBND"


def test_wrong_transitions_are_refused(dw):
    rt, sb = dw.rt, dw.sandbox_id
    doc = a_draft(dw, submit=False)
    refused(dw, api.approve, rt, sb, dw.a("leader"), doc, contains="Đang soạn thảo")
    refused(dw, api.sign_as_leader, rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN,
            contains="Không thể ký số")
    refused(dw, api.return_draft, rt, sb, dw.a("leader"), doc, "x", contains="Không thể trả lại")
    api.submit(rt, sb, dw.a("specialist"), doc)
    refused(dw, api.update_draft, rt, sb, dw.a("specialist"), doc, body=["x"], contains="Không thể sửa")
    refused(dw, api.return_draft, rt, sb, dw.a("leader"), doc, "  ", contains="lý do")
    refused(dw, api.submit, rt, sb, dw.a("specialist"), doc, contains="Không thể trình")
    api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    refused(dw, api.sign_as_leader, rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN,
            contains="Lãnh đạo đã ký số")


def test_wrong_pin_is_refused_and_never_logged(dw):
    from sqlalchemy import select

    from sandbox.kernel.models import Action

    rt, sb = dw.rt, dw.sandbox_id
    doc = a_draft(dw)
    with pytest.raises(SandboxError) as info:
        api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], "000000")
    assert "Sai mã PIN" in info.value.message_vi
    assert api.outgoing_doc(rt, sb, None, doc).status == "submitted"
    api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, dw.a("leader"), doc)
    with rt.db.read() as s:
        logged = " ".join(str(a.args) + str(a.result) for a in s.scalars(select(Action).where(Action.sandbox_id == sb)))
    for pin in (LEADER_PIN, "000000", CLERK_PIN):
        assert pin not in logged


def test_lists_and_boxes(dw):
    rt, sb = dw.rt, dw.sandbox_id
    a = a_draft(dw)
    b = a_draft(dw, submit=False, summary="kế hoạch tổ chức hội nghị")
    mine = api.outgoing_list(rt, sb, dw.a("leader"), box="cho_ky")
    assert [r.id for r in mine.items] == [a] and mine.counts["cho_ky"] == 1 and mine.counts["du_thao"] == 2
    assert api.outgoing_list(rt, sb, dw.a("vice"), box="cho_ky").total == 0
    assert [r.id for r in api.outgoing_list(rt, sb, dw.a("specialist"), q="hội nghị").items] == [b]
    api.sign_as_leader(rt, sb, dw.a("leader"), a, dw.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, dw.a("leader"), a)
    found = api.search(rt, sb, dw.a("clerk"), "01/UBND")
    assert [r.id for r in found["outgoing"]] == [a]
    assert api.outgoing_list(rt, sb, dw.a("clerk"), box="da_phat_hanh").counts["da_phat_hanh"] == 1


def test_clerk_sends_back_after_numbering_and_the_number_stays_with_the_document(dw_person_clerk):
    w = dw_person_clerk
    rt, sb = w.rt, w.sandbox_id
    doc, other = a_draft(w), a_draft(w)
    forward_to_clerk(rt, sb, w.a("leader"), doc)          # unsigned: the clerk notices after numbering
    assert api.number(rt, sb, w.a("clerk"), doc)["symbol"] == "01/UBND-VX"
    api.clerk_refuse(rt, sb, w.a("clerk"), doc, "Lãnh đạo chưa ký số dự thảo.")
    d = api.outgoing_doc(rt, sb, w.a("leader"), doc)
    assert d.status == "approved" and d.clerk_refusal == "Lãnh đạo chưa ký số dự thảo."
    api.sign_as_leader(rt, sb, w.a("leader"), other, w.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, w.a("leader"), other)
    assert api.number(rt, sb, w.a("clerk"), other)["symbol"] == "02/UBND-VX"
    api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, w.a("leader"), doc)
    assert api.number(rt, sb, w.a("clerk"), doc)["symbol"] == "01/UBND-VX"
    refused(w, api.number, rt, sb, w.a("clerk"), other, number=1, contains="Không thể cấp số")
    assert [e["number"] for e in api.register(rt, sb, w.org, "di", 2025)] == [1, 2]
