"""Fuzzing the PDF verifier (``signing.verify.verify_pdf``). Contract (signing docs): a report
for anything pyHanko can read, and ``SigningError`` with a one-line Vietnamese message for
unusable input; never another exception (the verify page or ``sandbox verify`` would crash)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import event, given, strategies as st

from signing import document as doc
from signing.errors import SigningError
from signing.images import seal_png, signature_png
from signing.pki import TestPKI
from signing.verify import verify_pdf
from tests.fuzz.conftest import budget, count

ORG = "Ủy ban nhân dân thành phố Cần Thơ"
LEADER = "Nguyễn Văn An"
TOKENS = [b"obj", b"endobj", b"stream", b"endstream", b"/ByteRange [0 0 0 0]", b"/ByteRange [0 99999999 1 2]",
          b"/Contents <00>", b"trailer", b"xref", b"startxref 0", b"<<", b">>", b"[", b"]", b"%%EOF", b"(", b")",
          b"/Type /Sig", b"/Filter /Adobe.PPKLite", b"/SubFilter /ETSI.CAdES.detached", b"/V 0 R", b"1 0 R",
          b"/Length -1", b"/Length 999999999", b"\x00", b"\n", b"9999999999 0 obj"]


@pytest.fixture(scope="module")
def pdfs():
    pki = TestPKI()
    leader = pki.issue_personal(LEADER, title="Chủ tịch", organisation=ORG)
    org = pki.issue_organisation(ORG, locality="Cần Thơ")
    tsa = pki.timestamper()
    draft, layout = doc.make_draft_pdf(ORG, "CÔNG VĂN\nVề việc thử", ["Nội dung."], "CHỦ TỊCH", LEADER)
    signed = doc.sign_leader(doc.prepare_draft(draft, layout), layout, leader, signature_png(LEADER), timestamper=tsa)
    issued = doc.release(signed, layout, org, seal_png(ORG, doc.SEAL_MM), "1/UBND", "Cần Thơ, ngày 1 tháng 1 năm 2026",
                         timestamper=tsa, when=dt.datetime(2026, 1, 1, 8, 0, tzinfo=doc.VN_TZ))
    return {"draft": draft, "signed": signed, "issued": issued, "ctx": pki.validation_context}


def _check(data: bytes, ctx) -> None:
    try:
        report = verify_pdf(data, validation_context=ctx)
    except SigningError as e:
        assert e.message_vi and "\n" not in e.message_vi
        event("refused")
        return
    assert report.status
    event(f"report: {report.status}")


@given(st.sampled_from(["draft", "signed", "issued"]),
       st.lists(st.tuples(st.integers(0, 10**7), st.sampled_from(TOKENS) | st.binary(max_size=8), st.integers(0, 16)),
                min_size=1, max_size=5),
       st.integers(0, 10**7))
def test_fuzz_pdf_damaged(pdfs, which, edits, cut):
    """A real (signed) PDF with bytes replaced, inserted and cut off."""
    count("test_fuzz_pdf_damaged")
    data = bytearray(pdfs[which])
    for pos, insert, drop in edits:
        pos %= len(data)
        data[pos:pos + drop] = insert
    if cut % 3 == 0:
        data = data[:len(data) - cut % len(data)]
    _check(bytes(data), pdfs["ctx"])


@budget(150)
@given(st.sampled_from(["signed", "issued"]), st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)),
                                                       min_size=1, max_size=4))
def test_fuzz_pdf_bytes_changed(pdfs, which, flips):
    """Bytes changed in place (every offset stays right): the signatures are read and judged."""
    count("test_fuzz_pdf_bytes_changed")
    data = bytearray(pdfs[which])
    for pos, value in flips:
        data[pos % len(data)] = value
    _check(bytes(data), pdfs["ctx"])


@given(st.binary(max_size=600) | st.builds(lambda b: b"%PDF-1.7\n" + b, st.binary(max_size=600)))
def test_fuzz_pdf_bytes(pdfs, data):
    count("test_fuzz_pdf_bytes")
    _check(data, pdfs["ctx"])
