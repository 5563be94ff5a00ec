"""The verifier's library speed-ups (signing.verify_speedups) give exactly what asn1crypto as
shipped gives: the same prepared strings, name comparisons and dictionary keys, the same errors,
and the same verifier reports on good, tampered, foreign and revoked PDFs."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from asn1crypto import x509 as asn1_x509

from signing import document as doc
from signing import verify_speedups as speedups
from signing.images import seal_png, signature_png
from signing.pki import TestPKI
from signing.verify import verify_pdf

ORG = "Ủy ban nhân dân tỉnh Sơn Hà"
LEADER = "Nguyễn Văn An"
WHEN = dt.datetime(2026, 3, 15, 9, 14, 41, tzinfo=doc.VN_TZ)

STRINGS = ["Nguyễn Văn An", "NGUYỄN  VĂN   AN ", " Sở Nội vụ\tthành phố Cần Thơ", "CA\u00adthử", "VN",
           "Nguye\u0302\u0303n", "ﬁle", "a\u200bb", "", " ", "x\u0007y",
           "\ue000 private use", "\ufffd", "\u05d0abc", "\u05d0\u05d1"]  # the last four are refused


def _prep(fn, string):
    try:
        return "ok", fn(None, string)
    except ValueError as exc:
        return "error", str(exc)


def test_installed_when_the_verifier_is_imported():
    assert asn1_x509.NameTypeAndValue._ldap_string_prep is speedups.ldap_string_prep
    assert asn1_x509.Name.__eq__ is speedups.name_eq
    assert asn1_x509.Name.__dict__["hashable"] is speedups.name_hashable
    with speedups.stock():
        assert asn1_x509.NameTypeAndValue._ldap_string_prep is speedups.ORIGINAL_LDAP_STRING_PREP
        assert asn1_x509.Name.__eq__ is speedups.ORIGINAL_NAME_EQ
    assert asn1_x509.Name.__eq__ is speedups.name_eq


def test_string_preparation_is_the_original_including_refusals():
    rnd = random.Random(14)
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯ  \t\u00ad\u200b\u0301\u0303\ufb01\u05d0"
    strings = STRINGS + ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 20))) for _ in range(500)]
    for _ in range(2):  # the second time from the memo
        for s in strings:
            assert _prep(speedups.ldap_string_prep, s) == _prep(speedups.ORIGINAL_LDAP_STRING_PREP, s), repr(s)
    assert _prep(speedups.ldap_string_prep, "\ufffd")[0] == "error"   # refused every time, never memoised


def _names():
    out = []
    for cn in ["Nguyễn Văn An", "nguyễn văn an", "NGUYỄN  VĂN AN", "Trần Thị Bình", "\ufffd"]:
        for org in [ORG, ORG.upper()]:
            out.append(asn1_x509.Name.build({"common_name": cn, "organization_name": org, "country_name": "VN"}))
    out.append(asn1_x509.Name.build({"common_name": "Nguyễn Văn An", "country_name": "VN"}, use_printable=False))
    out.append(asn1_x509.Name.build({"common_name": "Nguyen Van An", "country_name": "VN"}, use_printable=True))
    out.append(asn1_x509.Name.build({"common_name": "Nguyen  Van An", "country_name": "VN"}))
    return out


def _outcome(fn):
    try:
        return "ok", fn()
    except ValueError:
        return "error", None


def test_name_comparison_and_keys_are_the_originals():
    names = _names()
    for _ in range(2):  # the second round from the memo
        for a in names:
            assert _outcome(lambda: a.hashable) == _outcome(lambda: speedups.ORIGINAL_NAME_HASHABLE.fget(a))
            for b in names:
                fresh_a, fresh_b = asn1_x509.Name.load(a.dump()), asn1_x509.Name.load(b.dump())
                assert _outcome(lambda: a == b) == _outcome(lambda: speedups.ORIGINAL_NAME_EQ(fresh_a, fresh_b))
                assert _outcome(lambda: a != b) == _outcome(lambda: not speedups.ORIGINAL_NAME_EQ(fresh_a, fresh_b))
    assert (names[0] == "Nguyễn Văn An") is False
    # a name inside a GeneralName carries an explicit tag: compared by the name itself
    general = asn1_x509.GeneralName(name="directory_name", value=names[0])
    assert asn1_x509.GeneralName.load(general.dump()).chosen == names[1]


def test_a_name_changed_after_comparison_is_compared_anew():
    a = asn1_x509.Name.build({"common_name": "Nguyễn Văn An", "country_name": "VN"})
    b = asn1_x509.Name.build({"common_name": "Nguyễn Văn An", "country_name": "VN"})
    assert a == b
    b.chosen[0][0]["value"] = asn1_x509.DirectoryString(name="utf8_string", value="Trần Thị Bình")
    assert a != b and not speedups.ORIGINAL_NAME_EQ(a, b)


@pytest.fixture(scope="module")
def w():
    p = TestPKI()
    leader = p.issue_personal(LEADER, title="Chủ tịch", organisation=ORG, uid="CCCD:001080012345")
    org = p.issue_organisation(ORG, locality="Sơn Hà")
    draft, layout = doc.make_draft_pdf(ORG, "QUYẾT ĐỊNH\nVề việc thử", ["Nội dung."], "CHỦ TỊCH", LEADER)
    prepared = doc.prepare_draft(draft, layout)
    tsa = p.timestamper()
    signed = doc.sign_leader(prepared, layout, leader, signature_png(LEADER), timestamper=tsa)
    issued = doc.release(signed, layout, org, seal_png(ORG, doc.SEAL_MM), "1/QĐ-UBND", "ngày 15 tháng 3",
                         timestamper=tsa, when=WHEN)
    fake = TestPKI(root_cn="CA giả mạo (TEST)", issuing_cn="CA giả mạo cấp (TEST)", tsa_cn="TSA giả mạo (TEST)")
    impostor = fake.issue_personal(LEADER, title="Chủ tịch", organisation=ORG)
    foreign = doc.release(doc.sign_leader(prepared, layout, impostor, signature_png(LEADER), timestamper=tsa),
                          layout, org, seal_png(ORG, doc.SEAL_MM), "1/QĐ-UBND", "ngày 15 tháng 3",
                          timestamper=tsa, when=WHEN)
    flipped = bytearray(issued)
    flipped[flipped.index(b"stream") + 40] ^= 0x01
    revoked = TestPKI()
    revoked.revoke(revoked.issue_personal(LEADER, title="Chủ tịch", organisation=ORG, uid="CCCD:001080012345"),
                   when=dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))
    return dict(pki=p, revoked=revoked, people={leader.sha256: LEADER},
                pdfs={"issued": issued, "signed": signed, "foreign": foreign, "flipped": bytes(flipped)})


@pytest.mark.parametrize("name", ["issued", "signed", "foreign", "flipped"])
@pytest.mark.parametrize("trust", ["pki", "revoked"])
def test_the_verifiers_reports_are_the_same_without_the_speedups(w, name, trust):
    def report():
        return verify_pdf(w["pdfs"][name], validation_context=w[trust].validation_context,
                          people=w["people"]).to_json()

    speedups.clear()
    fast = report()
    with speedups.stock():
        stock = report()
    assert fast == stock == report()   # the last one from the memo
    if name == "issued":
        assert fast["status"] == ("valid" if trust == "pki" else "invalid")
    if name in ("foreign", "flipped"):
        assert fast["status"] == "invalid"
