"""Release end to end: the issued PDF has two layers, the verifier says valid, pdfsig says
"Signature is Valid." twice, the e-mail recipient's mailbox has the mail with the PDF, the
internal unit and the other in-world organisation got an incoming document."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from docflow import api
from mailserver import api as mail_api
from mailserver import mime
from signing.api import pki_for, verify_pdf

from .factories import CLERK_PIN, LEADER_PIN, OTHER_CLERK, OUTSIDE, a_draft, forward_to_clerk


def _check_issued(w, doc, tmp_path):
    rt, sb = w.rt, w.sandbox_id
    d = api.outgoing_doc(rt, sb, w.a("leader"), doc)
    assert d.status == "sent" and d.layers == 2 and d.symbol == "01/UBND-VX"
    pdf = api.pdf_of(rt, sb, w.a("leader"), "out", doc)
    report = verify_pdf(pdf, validation_context=pki_for(rt).validation_context,
                        expected_leader_fingerprint=w.bundles["leader"].sha256)
    assert report.status == "valid", report.to_json()
    assert [s.field for s in report.signatures] == ["SigLanhDao", "SigToChuc"]
    assert report.signatures[0].fingerprint == w.bundles["leader"].sha256
    assert report.signatures[1].kind == "organisation"
    assert report.signatures[0].signing_time == "2025-03-14T09:00:00+07:00"
    if shutil.which("pdfsig"):
        path = tmp_path / "issued.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfsig", "-nocert", "-no-ocsp", str(path)], capture_output=True, text=True).stdout
        assert out.count("Signature is Valid.") == 2, out
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "issued.pdf"), "-"], capture_output=True,
                              text=True).stdout
        assert "01/UBND-VX" in text and "Cần Thơ, ngày 14 tháng 3 năm 2025" in text
        assert "- Lưu: VT, VX." in text and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    # the e-mail recipient's mailbox
    with rt.db.read() as s:
        acc = mail_api.account_ref(s, _account_id(s, sb, OUTSIDE))
    with mail_api.open_view(rt.db, acc) as view:
        items, total = view.items(view.special(None))
        assert total == 1
        _item, data = items[0]
        assert data.from_address == "ubnd@ninhkieu.cantho.gov.vn" and "01/UBND-VX" in data.subject
        raw = view.raw(data, rt.blobs)
    structure = mime.parse_structure(raw)
    atts = mime.body_parts(raw, structure)["attachments"]
    assert [(a["filename"], a["content_type"]) for a in atts] == [("01-UBND-VX.pdf", "application/pdf")]
    assert mime.part_payload(raw, structure, atts[0]["part"]) == pdf
    with rt.db.read() as s:
        org_acc = mail_api.account_ref(s, _account_id(s, sb, "ubnd@ninhkieu.cantho.gov.vn"))
    with mail_api.open_view(rt.db, org_acc) as view:
        sent = view.sent(rt.blobs)
    import hashlib
    assert len(sent) == 1 and sent[0].delivered == (OUTSIDE,)
    assert [a.filename for a in sent[0].attachments] == ["01-UBND-VX.pdf"]
    assert sent[0].attachments[0].sha256 == hashlib.sha256(pdf).hexdigest()
    # internal unit and the other organisation
    staff = api.incoming_list(rt, sb, w.a("staff_vp"))
    assert [(r.original_symbol, r.internal, r.my_role) for r in staff.items] == [("01/UBND-VX", True, "db")]
    other = api.incoming_list(rt, sb, OTHER_CLERK)
    assert [(r.original_symbol, r.arrival_number, r.sender_name) for r in other.items] == [
        ("01/UBND-VX", 1, "Ủy ban nhân dân quận Ninh Kiều")]
    assert api.pdf_of(rt, sb, OTHER_CLERK, "in", other.items[0].id) == pdf
    assert {x["kind"]: x["status"] for x in d.deliveries} == {"unit": "delivered", "org": "delivered",
                                                              "email": "delivered"}


def _account_id(session, sb, address):
    from mailserver.store import account_in_sandbox
    return account_in_sandbox(session, sb, address).id


def test_release_by_the_automatic_clerk(dw, tmp_path):
    doc = a_draft(dw)
    api.sign_as_leader(dw.rt, dw.sandbox_id, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    res = forward_to_clerk(dw.rt, dw.sandbox_id, dw.a("leader"), doc)
    assert res == {"status": "sent", "clerk": "npc", "released": True, "symbol": "01/UBND-VX"}
    _check_issued(dw, doc, tmp_path)


def test_release_by_a_candidate_clerk(dw_person_clerk, tmp_path):
    w = dw_person_clerk
    doc = a_draft(w)
    api.sign_as_leader(w.rt, w.sandbox_id, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    forward_to_clerk(w.rt, w.sandbox_id, w.a("leader"), doc)
    assert [t.kind for t in api.tokens_for(w.rt, w.sandbox_id, w.a("clerk"))] == ["organisation"]
    assert api.tokens_for(w.rt, w.sandbox_id, w.a("specialist"))[0].kind == "personal"
    api.number(w.rt, w.sandbox_id, w.a("clerk"), doc)
    with pytest.raises(Exception) as info:
        api.org_sign(w.rt, w.sandbox_id, w.a("clerk"), doc, w.tokens["org"], "000000")
    assert "Sai mã PIN" in info.value.message_vi
    api.org_sign(w.rt, w.sandbox_id, w.a("clerk"), doc, w.tokens["org"], CLERK_PIN)
    api.issue(w.rt, w.sandbox_id, w.a("clerk"), doc)
    _check_issued(w, doc, tmp_path)


def test_unreachable_mail_recipient_is_reported_not_blocking(dw):
    doc = a_draft(dw, recipients=[{"kind": "email", "address": "ai.do@gmail.com"},
                                  {"kind": "email", "address": "khongco@ninhkieu.cantho.gov.vn"},
                                  {"kind": "email", "address": OUTSIDE},
                                  {"kind": "unit", "id": dw.units["VP"]}])
    api.sign_as_leader(dw.rt, dw.sandbox_id, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    assert forward_to_clerk(dw.rt, dw.sandbox_id, dw.a("leader"), doc)["released"]
    d = api.outgoing_doc(dw.rt, dw.sandbox_id, None, doc)
    assert [(x.get("address"), x["status"]) for x in d.deliveries] == [
        (None, "delivered"), ("ai.do@gmail.com", "bounced"), ("khongco@ninhkieu.cantho.gov.vn", "bounced"),
        (OUTSIDE, "delivered")]
    assert "ngoài hệ thống" in d.deliveries[1]["error"]
    assert any("ngoài hệ thống: ai.do@gmail.com" in e.what for e in d.history)
    # the unknown in-world address got the usual delivery report in the organisation's INBOX
    with dw.rt.db.read() as s:
        org_acc = mail_api.account_ref(s, _account_id(s, dw.sandbox_id, "ubnd@ninhkieu.cantho.gov.vn"))
    with mail_api.open_view(dw.rt.db, org_acc) as view:
        sent = view.sent(dw.rt.blobs)
        assert sent[0].delivered == (OUTSIDE,) and sent[0].bounced == ("khongco@ninhkieu.cantho.gov.vn",)


@pytest.mark.parametrize("mode", ["npc", "person"])
def test_separate_pdf_attachments_get_the_organisation_signature(runtime, clock, mode):
    from docflow.api import Upload
    from sandbox.demo.world import minimal_pdf
    from signing.api import ATTACHMENT_FIELD

    from .factories import make_docworld

    w = make_docworld(runtime, clerk_mode=mode)
    rt, sb = w.rt, w.sandbox_id
    original = minimal_pdf("Phu luc")
    doc = a_draft(w, attachments=[Upload("Phụ lục kinh phí.pdf", original), Upload("Ghi chú.txt", b"ghi chu")])
    api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, w.a("leader"), doc)
    if mode == "person":
        api.number(rt, sb, w.a("clerk"), doc)
        api.org_sign(rt, sb, w.a("clerk"), doc, w.tokens["org"], CLERK_PIN)
        api.issue(rt, sb, w.a("clerk"), doc)
    d = api.outgoing_doc(rt, sb, None, doc)
    assert d.status == "sent"
    pdf_att, txt_att = d.attachments
    assert pdf_att["signed"] and not txt_att.get("signed") and rt.blobs.get(pdf_att["original_blob"]) == original
    _meta, data = api.attachment_of(rt, sb, w.a("leader"), "out", doc, 0)
    report = verify_pdf(data, validation_context=pki_for(rt).validation_context)
    assert [(s.field, s.kind) for s in report.signatures] == [(ATTACHMENT_FIELD, "organisation")]
    assert report.signatures[0].ok
    assert any("tệp đính kèm: Phụ lục kinh phí.pdf" in e.what for e in d.history)
    # the other organisation receives the signed attachment
    other = api.incoming_list(rt, sb, OTHER_CLERK).items[0]
    got = api.incoming_doc(rt, sb, OTHER_CLERK, other.id).attachments
    assert got[0]["blob"] == pdf_att["blob"]
