"""Decree 30 two-layer flow on real PDFs: draft -> fields -> leader -> clerk release, judged by
pyHanko and by Poppler (pdfsig, pdftotext)."""
from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature

from signing import document as doc
from tests.signing.pdfs import replace_page_content
from signing import fonts
from signing.errors import SigningError
from signing.images import seal_png, signature_png
from signing.pki import TestPKI

ORG = "Ủy ban nhân dân tỉnh Sơn Hà"
TITLE = "QUYẾT ĐỊNH\nVề việc phê duyệt kinh phí chuyển đổi số năm 2026"
BODY = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Xét đề nghị của Giám đốc Sở Tài chính.",
        "Điều 1. Phê duyệt kinh phí 1.500 triệu đồng cho kế hoạch chuyển đổi số.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký."]
WHEN = dt.datetime(2026, 3, 15, 9, 14, 41, tzinfo=doc.VN_TZ)
ISO = "2026-03-15T09:14:41+07:00"
NUMBER = "125/QĐ-UBND"
DATE = "Sơn Hà, ngày 15 tháng 3 năm 2026"

needs_poppler = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("pdftotext")),
                                   reason="Poppler utilities (pdfsig, pdftotext) not installed")


@pytest.fixture(scope="module")
def world():
    p = TestPKI()
    leader = p.issue_personal("Nguyễn Văn An", title="Chủ tịch", unit="Lãnh đạo UBND tỉnh",
                              organisation=ORG, uid="CCCD:001080012345")
    org = p.issue_organisation(ORG, locality="Sơn Hà")
    return p, leader, org


@pytest.fixture(scope="module")
def flow(world):
    p, leader, org = world
    draft, layout = doc.make_draft_pdf(ORG, TITLE, BODY, "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
                                       "Nguyễn Văn An")
    prepared = doc.prepare_draft(draft, layout)
    tsa = p.timestamper()
    signed = doc.sign_leader(prepared, layout, leader, signature_png("Nguyễn Văn An"),
                             timestamper=tsa)
    issued = doc.release(signed, layout, org, seal_png(ORG, doc.SEAL_MM), NUMBER, DATE,
                         timestamper=tsa, when=WHEN)
    return {"draft": draft, "layout": layout, "prepared": prepared, "signed": signed,
            "issued": issued}


def _statuses(p, pdf: bytes):
    r = PdfFileReader(io.BytesIO(pdf))
    return [(s.field_name, validate_pdf_signature(s, p.validation_context()), s)
            for s in r.embedded_signatures]


def _pdftotext(pdf: bytes, tmp_path, *args) -> str:
    f = tmp_path / "x.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(f), "-"], capture_output=True, text=True,
                          check=True, timeout=30).stdout


# --- draft and layout -------------------------------------------------------------------
def test_layout_follows_decree_30(flow):
    lay = flow["layout"]
    leader, seal = lay.leader, lay.seal
    assert leader.page == seal.page == 0 and lay.number.page == lay.date.page == 0
    assert leader.width == pytest.approx(50 * doc.MM)
    assert leader.height == pytest.approx(22 * doc.MM)
    # the seal at actual size, its right edge at a third of the leader box, on the left
    assert seal.width == pytest.approx(doc.SEAL_MM * doc.MM)
    assert seal.height == pytest.approx(seal.width)
    assert lay.seal_overlap() == pytest.approx(1 / 3, abs=0.02)
    assert seal.x1 < leader.x1 < seal.x2 < leader.x2
    assert seal.y1 < (leader.y1 + leader.y2) / 2 < seal.y2
    # number and date sit side by side at the top, above the signature block
    assert lay.number.x2 <= lay.date.x1 and lay.number.y1 > leader.y2
    assert 0 < leader.x1 < leader.x2 < doc.PAGE_W and 0 < seal.x1


def test_draft_text_and_signature_box_between_title_and_name(flow, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    text = _pdftotext(flow["draft"], tmp_path)
    for s in ("ỦY BAN NHÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
              "Số:", "QUYẾT ĐỊNH", "1.500 triệu đồng", "Nơi nhận:", "CHỦ TỊCH",
              "Nguyễn Văn An"):
        assert s in text, s
    # word boxes (top-left origin, points): CHỦ TỊCH above the box, the name below it
    bbox = _pdftotext(flow["draft"], tmp_path, "-bbox")
    lay = flow["layout"]

    def y_of(word):
        import re
        m = re.search(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">' + word + "</", bbox)
        assert m, word
        return doc.PAGE_H - float(m.group(2)), doc.PAGE_H - float(m.group(1))

    tich_bottom, _ = y_of("CHỦ TỊCH")
    _, name_top = y_of("Nguyễn Văn An")
    assert tich_bottom >= lay.leader.y2 - 1 and name_top <= lay.leader.y1 + 1


def test_text_is_not_spread_apart(flow, tmp_path):
    """Pitfall 1: /W widths must match the font (1000 upm) or words come out too wide."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    import re
    bbox = _pdftotext(flow["draft"], tmp_path, "-bbox")
    m = re.search(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">'
                  r"Nguyễn Văn An</", bbox)
    assert m
    measured = float(m.group(2)) - float(m.group(1))
    expected = fonts.text_width("Nguyễn Văn An", 13, "bold")
    assert measured == pytest.approx(expected, rel=0.08)


def test_prepare_draft_adds_locked_leader_field_and_empty_fields(flow):
    r = PdfFileReader(io.BytesIO(flow["prepared"]))
    sig_fields = {name: value for name, value, _ in fields.enumerate_sig_fields(r)}
    assert sig_fields == {doc.LEADER_FIELD: None, doc.ORG_FIELD: None}
    all_fields = {f["/T"]: f for f in (x.get_object() for x in r.root["/AcroForm"]["/Fields"])}
    for name in (doc.NUMBER_FIELD, doc.DATE_FIELD):
        assert all_fields[name]["/FT"] == "/Tx" and "/V" not in all_fields[name]
    lock = all_fields[doc.LEADER_FIELD]["/Lock"]
    assert lock["/Action"] == "/Exclude"
    assert sorted(lock["/Fields"]) == sorted([doc.NUMBER_FIELD, doc.DATE_FIELD, doc.ORG_FIELD])
    assert int(lock["/P"]) == 2  # FILL_FORMS
    # the leader's box is where the layout says
    rect = [float(v) for v in all_fields[doc.LEADER_FIELD]["/Rect"]]
    assert rect == pytest.approx(list(flow["layout"].leader.box))


# --- two layers ---------------------------------------------------------------------------
def test_leader_signature_alone(world, flow):
    p, leader, _ = world
    (name, st, sig), = _statuses(p, flow["signed"])
    assert name == doc.LEADER_FIELD
    assert st.intact and st.valid and st.trusted and st.bottom_line
    assert st.modification_level == ModificationLevel.NONE
    assert st.signing_cert.sha256 == bytes.fromhex(leader.sha256)
    assert sig.sig_object.get("/Type") in (None, "/Sig")
    # approval, not certification: no DocMDP, only the FieldMDP lock of the field
    assert "/Perms" not in PdfFileReader(io.BytesIO(flow["signed"])).root
    refs = sig.sig_object.get("/Reference", [])
    assert [ref["/TransformMethod"] for ref in refs] == ["/FieldMDP"]
    assert st.timestamp_validity is not None and st.timestamp_validity.intact
    r = PdfFileReader(io.BytesIO(flow["signed"]))
    empty = [n for n, *_ in fields.enumerate_sig_fields(r, filled_status=False)]
    assert empty == [doc.ORG_FIELD]
    # the appearance holds the PNG as an image with a soft mask (transparency)
    ap = sig.sig_field["/AP"]["/N"]
    assert b"/Im" in ap.data or "/XObject" in ap["/Resources"]


def test_two_layer_issued_pdf_pyhanko(world, flow):
    p, leader, org = world
    sts = _statuses(p, flow["issued"])
    assert [n for n, *_ in sts] == [doc.LEADER_FIELD, doc.ORG_FIELD]
    (_, st1, s1), (_, st2, s2) = sts
    for st in (st1, st2):
        assert st.intact and st.valid and st.trusted and st.bottom_line and st.docmdp_ok
    assert st1.modification_level == ModificationLevel.FORM_FILLING
    assert st2.modification_level == ModificationLevel.NONE
    assert "UNTOUCHED" in st2.summary()
    assert st1.signing_cert.sha256 == bytes.fromhex(leader.sha256)
    assert st2.signing_cert.sha256 == bytes.fromhex(org.sha256)
    assert s1.signed_revision < s2.signed_revision
    assert st2.signer_reported_dt == WHEN
    # number and date were filled as form fields
    r = PdfFileReader(io.BytesIO(flow["issued"]))
    vals = {f["/T"]: f.get("/V") for f in (x.get_object() for x in r.root["/AcroForm"]["/Fields"])}
    assert vals[doc.NUMBER_FIELD] == NUMBER and vals[doc.DATE_FIELD] == DATE


@needs_poppler
def test_two_layer_issued_pdf_pdfsig(flow, tmp_path):
    f = tmp_path / "issued.pdf"
    f.write_bytes(flow["issued"])
    # No NSS certutil here to put the test root in a database: -nocert checks the
    # signatures (digest + CMS) only; trust is pyHanko's job (test above).
    out = subprocess.run(["pdfsig", "-nocert", "-no-ocsp", str(f)], capture_output=True,
                         text=True, timeout=30).stdout
    assert out.count("Signature is Valid.") == 2, out
    assert "Signature Field Name: SigLanhDao" in out and "Signature Field Name: SigToChuc" in out
    assert "Total document signed" in out.split("Signature #2")[1]


@needs_poppler
def test_appearance_text_extracts(flow, tmp_path):
    text = _pdftotext(flow["issued"], tmp_path)
    assert ORG in text
    assert ISO in text
    assert NUMBER in text and DATE in text


def test_iso_time_has_colon_offset():
    assert doc.iso_time(dt.datetime(2026, 3, 15, 2, 14, 41, tzinfo=dt.timezone.utc)) == ISO
    assert doc.iso_time(dt.datetime(2026, 3, 15, 9, 14, 41)) == ISO  # naive = Vietnam time


# --- mistakes ----------------------------------------------------------------------------
def _content_of(pdf: bytes) -> bytes:
    r = PdfFileReader(io.BytesIO(pdf))
    return r.root["/Pages"]["/Kids"][0].get_object()["/Contents"].get_object().data


def test_text_changed_after_leader_is_detected(world, flow, tmp_path):
    p, _, org = world
    body = [b.replace("1.500 triệu", "15.000 triệu") for b in BODY]
    other, _ = doc.make_draft_pdf(ORG, TITLE, body, "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
                                  "Nguyễn Văn An")
    tampered = replace_page_content(flow["signed"], _content_of(other))
    if shutil.which("pdftotext"):
        assert "15.000 triệu" in _pdftotext(tampered, tmp_path)
    issued = doc.release(tampered, flow["layout"], org, seal_png(ORG, doc.SEAL_MM), NUMBER,
                         DATE, timestamper=p.timestamper(), when=WHEN)
    (_, st1, _), (_, st2, _) = _statuses(p, issued)
    assert st1.intact  # the leader's bytes are intact, but what came after is not allowed
    assert st1.modification_level > ModificationLevel.FORM_FILLING
    assert not st1.docmdp_ok and not st1.bottom_line
    # pitfall 7: the organisation signature happily covers the earlier tampering
    assert st2.bottom_line and st2.modification_level == ModificationLevel.NONE


def test_text_changed_after_release_is_detected(world, flow):
    p, _, _ = world
    tampered = replace_page_content(flow["issued"], _content_of(flow["draft"]) + b"\n")
    for _, st, _ in _statuses(p, tampered):
        assert st.modification_level > ModificationLevel.FORM_FILLING
        assert not st.bottom_line


def test_byte_flipped_breaks_both(world, flow):
    p, _, _ = world
    data = bytearray(flow["issued"])
    i = data.index(b"stream") + 40  # inside the first revision's first stream: parseable
    data[i] ^= 0x01
    sts = _statuses(p, bytes(data))
    assert len(sts) == 2 and all(not st.intact and not st.bottom_line for _, st, _ in sts)


def test_release_refuses_before_leader_signed(world, flow):
    p, _, org = world
    with pytest.raises(SigningError):
        doc.release(flow["prepared"], flow["layout"], org, seal_png(ORG), NUMBER, DATE,
                    timestamper=p.timestamper(), when=WHEN)


def test_release_refuses_empty_number(world, flow):
    p, _, org = world
    with pytest.raises(SigningError):
        doc.release(flow["signed"], flow["layout"], org, seal_png(ORG), " ", DATE,
                    timestamper=p.timestamper(), when=WHEN)


def test_leader_cannot_sign_twice_or_a_missing_field(world, flow):
    _, leader, _ = world
    png = signature_png("Nguyễn Văn An")
    with pytest.raises(SigningError):
        doc.sign_leader(flow["signed"], flow["layout"], leader, png)
    with pytest.raises(SigningError):
        doc.sign_leader(flow["draft"], flow["layout"], leader, png)  # no fields yet


def test_sign_leader_without_timestamper(world, flow):
    p, leader, _ = world
    out = doc.sign_leader(flow["prepared"], flow["layout"], leader,
                          signature_png("Nguyễn Văn An"), when=WHEN)
    (_, st, _), = _statuses(p, out)
    assert st.bottom_line and st.timestamp_validity is None
    assert st.signer_reported_dt == WHEN
