"""The verifier on real PDFs (signing.document + TestPKI, no mocks): the good two-layer
document, each classic mistake (issue 4, acceptance 2) and unusable input (acceptance 5)."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign import fields, signers

from signing import document as doc
from tests.signing.pdfs import replace_page_content
from signing.errors import SigningError
from signing.images import seal_png, signature_png
from signing.pki import TestPKI
from signing.verify import verify_pdf

ORG = "Ủy ban nhân dân tỉnh Sơn Hà"
TITLE = "QUYẾT ĐỊNH\nVề việc phê duyệt kinh phí chuyển đổi số năm 2026"
BODY = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Điều 1. Phê duyệt kinh phí 1.500 triệu đồng cho kế hoạch chuyển đổi số.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký."]
SIGNER_TITLE = "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
LEADER = "Nguyễn Văn An"
OTHER = "Trần Thị Bình"
WHEN = dt.datetime(2026, 3, 15, 9, 14, 41, tzinfo=doc.VN_TZ)
NUMBER = "125/QĐ-UBND"
DATE = "Sơn Hà, ngày 15 tháng 3 năm 2026"


@pytest.fixture(scope="module")
def w():
    p = TestPKI()
    leader = p.issue_personal(LEADER, title="Chủ tịch", organisation=ORG,
                              uid="CCCD:001080012345")
    other = p.issue_personal(OTHER, title="Chuyên viên", organisation=ORG)
    org = p.issue_organisation(ORG, locality="Sơn Hà")
    draft, layout = doc.make_draft_pdf(ORG, TITLE, BODY, SIGNER_TITLE, LEADER)
    prepared = doc.prepare_draft(draft, layout)
    tsa = p.timestamper()
    signed = doc.sign_leader(prepared, layout, leader, signature_png(LEADER), timestamper=tsa)
    issued = doc.release(signed, layout, org, seal_png(ORG, doc.SEAL_MM), NUMBER, DATE,
                         timestamper=tsa, when=WHEN)
    people = {leader.sha256: LEADER, other.sha256: OTHER}
    return dict(pki=p, leader=leader, other=other, org=org, draft=draft, layout=layout,
                prepared=prepared, signed=signed, issued=issued, tsa=tsa, people=people)


def _verify(w, pdf, **kw):
    kw.setdefault("validation_context", w["pki"].validation_context)
    kw.setdefault("people", w["people"])
    return verify_pdf(pdf, **kw)


def _release(w, pdf, bundle=None):
    return doc.release(pdf, w["layout"], bundle or w["org"], seal_png(ORG, doc.SEAL_MM),
                       NUMBER, DATE, timestamper=w["tsa"], when=WHEN)


def _failed(rep) -> dict[str, str]:
    return {v.code: v.message for v in rep.verdicts if not v.ok}


# --- the good document --------------------------------------------------------------------
def test_good_two_layer_pdf_is_valid(w):
    rep = _verify(w, w["issued"], expected_leader_fingerprint=w["leader"].sha256)
    assert rep.status == "valid", rep.to_json()
    assert [v.code for v in rep.verdicts] == [
        "two_layers", "order", "unchanged_after_leader", "leader_is_expected_person",
        "organisation_field_has_organisation_cert", "trusted", "not_revoked", "intact",
        "seal_placement"]
    assert all(v.ok for v in rep.verdicts)
    assert rep.verdict("seal_placement").value == pytest.approx(1 / 3, abs=0.02)
    assert rep.empty_fields == []

    s1, s2 = rep.signatures
    assert (s1.field, s2.field) == (doc.LEADER_FIELD, doc.ORG_FIELD)
    assert (s1.kind, s2.kind) == ("personal", "organisation")
    assert s1.signer == LEADER and s1.person == LEADER and s2.signer == ORG
    assert s1.fingerprint == w["leader"].sha256 and s2.fingerprint == w["org"].sha256
    assert s1.modification_level == "FORM_FILLING"
    assert s1.modification_vi.startswith("chỉ điền biểu mẫu (số, ngày)")
    assert s2.modification_level == "NONE" and s2.coverage == "ENTIRE_FILE"
    assert s1.coverage == "ENTIRE_REVISION"
    assert s2.signing_time == "2026-03-15T09:14:41+07:00"
    assert s1.signing_time.endswith("+07:00") and s1.timestamp_time.endswith("+07:00")
    assert s1.timestamp_ok and s2.timestamp_ok
    for s in (s1, s2):
        assert s.intact and s.valid and s.trusted and not s.revoked and s.docmdp_ok and s.ok
        assert s.page == 0
    assert s1.rect == pytest.approx(list(w["layout"].leader.box), abs=0.01)
    assert s2.rect == pytest.approx(list(w["layout"].seal.box), abs=0.01)

    j = rep.to_json()
    assert json.loads(json.dumps(j, ensure_ascii=False)) == j
    assert j["status"] == "valid" and j["signatures"][0]["field"] == doc.LEADER_FIELD
    assert j["verdicts"][-1]["value"] == pytest.approx(1 / 3, abs=0.02)
    assert "value" not in j["verdicts"][0]


def test_context_may_be_an_object_and_no_context_trusts_nothing(w):
    rep = verify_pdf(w["issued"], validation_context=w["pki"].validation_context())
    assert rep.status == "valid"
    rep = verify_pdf(w["issued"])
    assert rep.status == "invalid"
    assert set(_failed(rep)) == {"trusted"}
    assert "không có chứng thư gốc tin cậy" in _failed(rep)["trusted"]


# --- acceptance 2: each mistake caught and explained ---------------------------------------
def test_text_changed_after_leader_signed(w):
    body = [b.replace("1.500 triệu", "15.000 triệu") for b in BODY]
    other, _ = doc.make_draft_pdf(ORG, TITLE, body, SIGNER_TITLE, LEADER)
    content = PdfFileReader(io.BytesIO(other)).root["/Pages"]["/Kids"][0].get_object()[
        "/Contents"].get_object().data
    issued = _release(w, replace_page_content(w["signed"], content))
    rep = _verify(w, issued)
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert set(failed) == {"unchanged_after_leader"}
    assert "Văn bản đã bị sửa sau khi lãnh đạo ký" in failed["unchanged_after_leader"]
    assert "nội dung văn bản đã bị thay đổi" in failed["unchanged_after_leader"]
    s1, s2 = rep.signatures
    assert s1.intact and s1.modification_level == "OTHER" and not s1.ok
    assert s2.ok  # the organisation signature covers the tampering (pitfall 7)


def test_byte_flipped(w):
    data = bytearray(w["issued"])
    i = data.index(b"stream") + 40
    data[i] ^= 0x01
    rep = _verify(w, bytes(data))
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert "intact" in failed
    assert "không còn toàn vẹn" in failed["intact"] and "một byte" in failed["intact"]
    assert all(not s.intact and not s.ok for s in rep.signatures)


def test_signed_with_another_persons_certificate(w):
    signed = doc.sign_leader(w["prepared"], w["layout"], w["other"], signature_png(LEADER),
                             timestamper=w["tsa"])
    rep = _verify(w, _release(w, signed), expected_leader_fingerprint=w["leader"].sha256)
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert set(failed) == {"leader_is_expected_person"}
    msg = failed["leader_is_expected_person"]
    assert msg.startswith("Chữ ký thứ nhất không phải của người được giao ký: chứng thư số")
    assert f"của {OTHER}" in msg and LEADER in msg
    assert rep.signatures[0].person == OTHER


def test_personal_certificate_on_organisation_field(w):
    rep = _verify(w, _release(w, w["signed"], bundle=w["other"]))
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert "organisation_field_has_organisation_cert" in failed
    msg = failed["organisation_field_has_organisation_cert"]
    assert "SigToChuc" in msg and f"chứng thư số cá nhân của {OTHER}" in msg
    assert "thiếu chữ ký số của cơ quan" in failed["two_layers"]
    assert rep.signatures[1].kind == "personal" and rep.signatures[1].ok


def test_only_one_layer_is_incomplete(w):
    rep = _verify(w, w["signed"])
    assert rep.status == "incomplete"
    assert [e.field for e in rep.empty_fields] == [doc.ORG_FIELD]
    assert rep.empty_fields[0].page == 0
    assert rep.empty_fields[0].rect == pytest.approx(list(w["layout"].seal.box), abs=0.01)
    failed = _failed(rep)
    assert set(failed) == {"two_layers"}
    assert "mới có một lớp chữ ký" in failed["two_layers"]
    assert "SigToChuc còn trống" in failed["two_layers"]
    assert rep.signatures[0].modification_level == "NONE"
    assert rep.verdict("order") is None and rep.verdict("seal_placement") is None


def test_unsigned_draft_is_incomplete(w):
    rep = _verify(w, w["prepared"])
    assert rep.status == "incomplete" and rep.signatures == []
    assert [e.field for e in rep.empty_fields] == [doc.LEADER_FIELD, doc.ORG_FIELD]
    assert "Thiếu chữ ký số của lãnh đạo" in _failed(rep)["two_layers"]


def test_organisation_before_leader(w):
    # release() refuses this order, so the clerk's signature is made with stock pyHanko
    wr = IncrementalPdfFileWriter(io.BytesIO(w["prepared"]))
    meta = signers.PdfSignatureMetadata(field_name=doc.ORG_FIELD,
                                        subfilter=fields.SigSeedSubFilter.PADES)
    org_first = signers.sign_pdf(wr, meta, signer=w["org"].signer(), timestamper=w["tsa"],
                                 existing_fields_only=True).getvalue()
    both = doc.sign_leader(org_first, w["layout"], w["leader"], signature_png(LEADER),
                           timestamper=w["tsa"])
    rep = _verify(w, both)
    assert rep.status == "invalid"
    assert [s.field for s in rep.signatures] == [doc.ORG_FIELD, doc.LEADER_FIELD]
    failed = _failed(rep)
    assert "order" in failed and "Sai thứ tự ký" in failed["order"]
    assert "lãnh đạo phải ký trước" in failed["order"]
    assert all(s.ok for s in rep.signatures)


def test_certificate_from_unknown_ca(w):
    fake = TestPKI(root_cn="CA giả mạo (TEST)", issuing_cn="CA giả mạo cấp cho cơ quan (TEST)",
                   tsa_cn="Dấu thời gian giả mạo (TEST)")
    impostor = fake.issue_personal(LEADER, title="Chủ tịch", organisation=ORG)
    signed = doc.sign_leader(w["prepared"], w["layout"], impostor, signature_png(LEADER),
                             timestamper=w["tsa"])
    rep = _verify(w, _release(w, signed))
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert set(failed) == {"trusted"}
    assert "CA giả mạo cấp cho cơ quan (TEST)" in failed["trusted"]
    assert "không được tin cậy" in failed["trusted"] and "SigLanhDao" in failed["trusted"]
    s1, s2 = rep.signatures
    assert s1.intact and s1.valid and not s1.trusted and not s1.ok
    assert s1.trust_problem is not None and s2.trusted


def test_revoked_certificate_with_crl(w):
    # a second TestPKI builds the same hierarchy and certificates (same keys, serials)
    p2 = TestPKI()
    leader2 = p2.issue_personal(LEADER, title="Chủ tịch", organisation=ORG,
                                uid="CCCD:001080012345")
    assert leader2.sha256 == w["leader"].sha256
    p2.revoke(leader2, when=dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))
    rep = _verify(w, w["issued"], validation_context=p2.validation_context)
    assert rep.status == "invalid"
    failed = _failed(rep)
    assert set(failed) == {"not_revoked"}
    assert "đã bị thu hồi" in failed["not_revoked"] and LEADER in failed["not_revoked"]
    assert rep.signatures[0].revoked and not rep.signatures[0].ok
    assert not rep.signatures[1].revoked
    # without the CRL nobody can know
    rep = _verify(w, w["issued"],
                  validation_context=lambda: p2.validation_context(with_crl=False))
    assert rep.verdict("not_revoked").ok


# --- acceptance 5: unusable input -----------------------------------------------------------
def _one_line(exc: SigningError) -> str:
    msg = exc.value.message_vi
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


@pytest.mark.parametrize("data", [b"", b"hello, world\n", b"\x89PNG\r\n\x1a\n" + bytes(200)])
def test_not_a_pdf(data):
    with pytest.raises(SigningError) as exc:
        verify_pdf(data)
    assert "không phải là tệp PDF" in _one_line(exc)


def test_encrypted_pdf(w):
    wr = copy_into_new_writer(PdfFileReader(io.BytesIO(w["draft"])))
    wr.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    wr.write(out)
    with pytest.raises(SigningError) as exc:
        verify_pdf(out.getvalue())
    assert "mã hóa" in _one_line(exc)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_pdf(w, keep):
    data = w["issued"]
    with pytest.raises(SigningError) as exc:
        verify_pdf(data[:int(len(data) * keep)])
    assert "bị cắt cụt hoặc bị hỏng" in _one_line(exc)


def test_pdf_without_signatures(w):
    with pytest.raises(SigningError) as exc:
        verify_pdf(w["draft"])
    assert "không có trường chữ ký số nào" in _one_line(exc)


@pytest.mark.skipif(not __import__("shutil").which("qpdf"), reason="qpdf not installed")
@pytest.mark.parametrize("user_pw", ["user-secret", ""])
def test_encrypted_pdf_by_qpdf(w, tmp_path, user_pw):
    import subprocess
    src, dst = tmp_path / "a.pdf", tmp_path / "b.pdf"
    src.write_bytes(w["issued"])
    subprocess.run(["qpdf", "--encrypt", user_pw, "owner-secret", "256", "--", str(src),
                    str(dst)], check=True, timeout=30)
    with pytest.raises(SigningError) as exc:
        verify_pdf(dst.read_bytes())
    assert "mã hóa" in _one_line(exc)


def test_the_verdicts_are_registered_rules_in_report_order(w):
    from signing import verdicts

    assert list(verdicts.VERDICTS) == [
        "two_layers", "order", "unchanged_after_leader", "leader_is_expected_person",
        "organisation_field_has_organisation_cert", "attachment_organisation_cert",
        "attachment_placement", "copy_organisation_cert", "copy_placement", "trusted",
        "not_revoked", "intact", "seal_placement"]
    with pytest.raises(RuntimeError, match="registered twice"):
        verdicts.verdict("intact")(lambda facts: None)
    # a report lists its verdicts in that order (those that can be judged)
    codes = [v.code for v in verify_pdf(w["issued"], validation_context=w["pki"].validation_context,
                                        expected_leader_fingerprint=w["leader"].sha256).verdicts]
    assert codes == [c for c in verdicts.VERDICTS if c in codes]
    assert codes[:4] == ["two_layers", "order", "unchanged_after_leader",
                         "leader_is_expected_person"]
