"""Separate attachments and electronic copies: the organisation signature at the top right of
page 1, no image, number/symbol (or copy kind and organisation) and the ISO time; judged by
pyHanko, Poppler (pdfsig, pdftotext) and our verifier."""
from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from sandbox.demo.world import minimal_pdf
from signing import attachments as att
from signing import document as doc
from signing.errors import SigningError
from signing.pki import TestPKI, cert_pem
from signing.verify import verify_pdf

ORG = "Ủy ban nhân dân tỉnh Sơn Hà"
NUMBER = "125/QĐ-UBND"
WHEN = dt.datetime(2025, 6, 24, 9, 15, 30, tzinfo=doc.VN_TZ)
ISO = "2025-06-24T09:15:30+07:00"

needs_poppler = pytest.mark.skipif(not (shutil.which("pdfsig") and shutil.which("pdftotext")),
                                   reason="Poppler utilities (pdfsig, pdftotext) not installed")


@pytest.fixture(scope="module")
def world():
    p = TestPKI()
    return p, p.issue_organisation(ORG, locality="Sơn Hà"), p.issue_personal(
        "Trần Thị Bình", title="Chuyên viên", organisation=ORG)


def letter_pdf(width: float = 612, height: float = 792, crop=None) -> bytes:
    """An arbitrary one-page PDF (US Letter by default, optional CropBox) from elsewhere."""
    return minimal_pdf("Phu luc kem theo", width=width, height=height, crop=crop)


@pytest.fixture(scope="module")
def signed(world):
    p, org, _ = world
    tsa = p.timestamper()
    return {
        "attachment": att.sign_attachment(minimal_pdf("Phu luc"), org, NUMBER, timestamper=tsa,
                                          when=WHEN),
        "copy": att.sign_copy(minimal_pdf("Ban sao"), org, "SAO Y", timestamper=tsa, when=WHEN),
        "letter": att.sign_attachment(letter_pdf(crop=(0, 0, 600, 700)), org, NUMBER,
                                      timestamper=tsa, when=WHEN),
    }


def _sig(pdf: bytes):
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return sig


def _run(tool: str, pdf: bytes, tmp_path, *args) -> str:
    f = tmp_path / "x.pdf"
    f.write_bytes(pdf)
    return subprocess.run([tool, *args, str(f), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, timeout=30).stdout


@pytest.mark.parametrize("name, field", [("attachment", "SigPhuLuc"), ("copy", "SigBanSao"),
                                         ("letter", "SigPhuLuc")])
def test_pyhanko_says_intact_and_trusted(world, signed, name, field):
    p, org, _ = world
    sig = _sig(signed[name])
    st = validate_pdf_signature(sig, p.validation_context())
    assert sig.field_name == field
    assert st.intact and st.valid and st.trusted and st.bottom_line
    assert st.signing_cert.sha256 == bytes.fromhex(org.sha256)
    assert st.timestamp_validity is not None and st.timestamp_validity.trusted
    assert st.signer_reported_dt == WHEN


@pytest.mark.parametrize("name", ["attachment", "copy", "letter"])
def test_the_field_sits_top_right_on_page_one(signed, name):
    sig = _sig(signed[name])
    x1, y1, x2, y2 = (float(v) for v in sig.sig_field["/Rect"])
    width, height = (595, 842) if name != "letter" else (600, 700)  # the letter's CropBox
    assert x1 > width / 2 and y1 > height * 0.8
    assert width - x2 == pytest.approx(att.RIGHT_MARGIN_MM * doc.MM, abs=1)
    assert height - y2 == pytest.approx(att.TOP_MARGIN_MM * doc.MM, abs=1)
    r = PdfFileReader(io.BytesIO(signed[name]))
    assert sig.sig_field.raw_get("/P").idnum == r.root["/Pages"]["/Kids"].raw_get(0).idnum


def test_no_image_in_the_appearance(signed):
    for name in ("attachment", "copy"):
        ap = _sig(signed[name]).sig_field["/AP"]["/N"]
        xobjects = ap.get("/Resources", {}).get("/XObject", {})
        for x in xobjects.values():
            assert x.get_object().get("/Subtype") != "/Image"


@needs_poppler
def test_pdftotext_shows_number_time_kind_and_organisation(signed, tmp_path):
    text = _run("pdftotext", signed["attachment"], tmp_path)
    assert NUMBER in text and ISO in text
    text = _run("pdftotext", signed["copy"], tmp_path)
    assert "SAO Y" in text and ORG in text and ISO in text


@needs_poppler
def test_pdfsig_says_valid(signed, tmp_path):
    for name in ("attachment", "copy", "letter"):
        out = _run("pdfsig", signed[name], tmp_path)
        assert "Signature is Valid." in out, out


def test_the_verifier_finds_an_attachment_or_copy_complete(world, signed):
    p, _, _ = world
    for name, kind in (("attachment", "attachment"), ("copy", "copy")):
        report = verify_pdf(signed[name], validation_context=p.validation_context)
        assert report.status == "valid", report.failed
        assert report.document_kind == kind
        assert report.verdict("two_layers") is None  # one organisation signature is enough
        assert report.verdict(f"{kind}_organisation_cert").ok
        assert report.verdict(f"{kind}_placement").ok
        assert report.to_json()["document_kind"] == kind


def test_an_existing_empty_field_is_used(world):
    p, org, _ = world
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf()))
    fields.append_signature_field(w, fields.SigFieldSpec("SigPhuLuc", box=(400, 780, 560, 820)))
    buf = io.BytesIO()
    w.write(buf)
    out = att.sign_attachment(buf.getvalue(), org, NUMBER, when=WHEN)
    assert [float(v) for v in _sig(out).sig_field["/Rect"]] == [400, 780, 560, 820]
    with pytest.raises(SigningError) as e:
        att.sign_attachment(out, org, NUMBER, when=WHEN)
    assert "đã được ký" in e.value.message_vi


def test_refusals_in_vietnamese(world):
    p, org, personal = world
    with pytest.raises(SigningError) as e:
        att.sign_attachment(minimal_pdf(), personal, NUMBER)
    assert "chứng thư số của cơ quan, tổ chức" in e.value.message_vi
    assert "không dùng chứng thư số cá nhân" in e.value.message_vi
    with pytest.raises(SigningError) as e:
        att.sign_copy(minimal_pdf(), personal, "SAO Y")
    assert "không dùng chứng thư số cá nhân" in e.value.message_vi
    with pytest.raises(SigningError) as e:
        att.sign_attachment(minimal_pdf(), org, "  ")
    assert e.value.message_vi.startswith("Thiếu số và ký hiệu")
    with pytest.raises(SigningError) as e:
        att.sign_copy(minimal_pdf(), org, "SAO CHỤP")
    assert "SAO Y" in e.value.message_vi
    with pytest.raises(SigningError) as e:
        att.sign_attachment(b"not a pdf", org, NUMBER)
    assert "không phải là tệp PDF" in e.value.message_vi
    with pytest.raises(SigningError) as e:
        att.sign_attachment(minimal_pdf()[:150], org, NUMBER)
    assert "bị hỏng" in e.value.message_vi


def test_a_personal_signature_on_an_attachment_field_is_named(world):
    """If someone signs the attachment field with a personal certificate (bypassing the
    refusal), the verifier says so and does not turn it into a two-layer question."""
    p, org, personal = world
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf()))
    fields.append_signature_field(w, fields.SigFieldSpec("SigPhuLuc", box=(400, 780, 560, 820)))
    out = doc._sign(w, "SigPhuLuc", personal, None, doc.to_vn_time(WHEN), None)
    report = verify_pdf(out, validation_context=p.validation_context)
    assert report.status == "invalid" and report.verdict("two_layers") is None
    v = report.verdict("attachment_organisation_cert")
    assert not v.ok and "Trần Thị Bình" in v.message
    assert cert_pem(org.cert)  # the organisation certificate is untouched


def test_an_attachment_signature_elsewhere_is_not_top_right(world):
    p, org, _ = world
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf()))
    fields.append_signature_field(w, fields.SigFieldSpec("SigPhuLuc", box=(40, 40, 200, 80)))
    buf = io.BytesIO()
    w.write(buf)
    out = att.sign_attachment(buf.getvalue(), org, NUMBER, when=WHEN)
    report = verify_pdf(out, validation_context=p.validation_context)
    v = report.verdict("attachment_placement")
    assert not v.ok and "góc trên, bên phải" in v.message
    assert report.status == "invalid"
