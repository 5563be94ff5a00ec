"""Acceptance 6 at the API level: bad attachments are refused with a clear Vietnamese message
and nothing is lost (the draft keeps what it had; nothing half-stored)."""
from __future__ import annotations

import unicodedata

import pytest

from docflow import api
from docflow.api import Upload
from sandbox.demo.world import minimal_pdf
from sandbox.kernel.errors import SandboxError

from .factories import a_draft, snapshot


def refused_upload(w, upload: Upload, contains: str) -> str:
    before = snapshot(w.rt, w.sandbox_id)
    with pytest.raises(SandboxError) as info:
        a_draft(w, attachments=[Upload("Phụ lục.pdf", minimal_pdf("ok")), upload])
    assert contains in info.value.message_vi, info.value.message_vi
    assert snapshot(w.rt, w.sandbox_id) == before
    return info.value.message_vi


def test_zero_byte_file(dw):
    msg = refused_upload(dw, Upload("Báo cáo.pdf", b""), "rỗng (0 byte)")
    assert "Báo cáo.pdf" in msg


def test_not_what_it_claims(dw):
    refused_upload(dw, Upload("Kế hoạch.pdf", b"PK\x03\x04 this is a zip"), "không phải là tệp PDF")
    refused_upload(dw, Upload("Danh sách.xlsx", b"%PDF-1.4 fake"), "không phải là tệp Excel")
    refused_upload(dw, Upload("ảnh.png", b"GIF89a"), "không phải là tệp ảnh PNG")
    refused_upload(dw, Upload("virus.exe", b"MZ\x90\x00"), "Không nhận loại tệp")


def test_over_the_size_limit(dw):
    limit = dw.rt.settings.max_message_size
    big = b"%PDF-1.4\n" + b"0" * limit
    msg = refused_upload(dw, Upload("Hồ sơ lớn.pdf", big), "vượt giới hạn")
    assert "MB" in msg


def test_fifty_megabytes(dw):
    refused_upload(dw, Upload("Tài liệu 50MB.pdf", b"%PDF-1.7\n" + b"\x00" * (50 * 1024 * 1024)), "vượt giới hạn")


def test_vietnamese_name_with_odd_characters_is_kept_nfc_and_safe(dw):
    decomposed = unicodedata.normalize("NFD", "Báo cáo tổng hợp: quý I/2025 <bản cuối>?.pdf")
    doc = a_draft(dw, attachments=[Upload("C:\\Users\\an\\" + decomposed, minimal_pdf("bc")),
                                   Upload("../../etc/Tờ trình\x00\n.docx", b"PK\x03\x04word")])
    names = [a["name"] for a in api.outgoing_doc(dw.rt, dw.sandbox_id, None, doc).attachments]
    assert names == ["2025 bản cuối.pdf", "Tờ trình.docx"]
    for n in names:
        assert unicodedata.is_normalized("NFC", n) and "/" not in n and "\\" not in n
    meta, data = api.attachment_of(dw.rt, dw.sandbox_id, dw.a("leader"), "out", doc, 1)
    assert data == b"PK\x03\x04word" and meta["content_type"].endswith("wordprocessingml.document")


def test_names_keep_vietnamese(dw):
    up = api.check_upload(dw.rt, Upload(unicodedata.normalize("NFD", "Phụ lục ước tính chi phí (đợt 2).pdf"),
                                        minimal_pdf()))
    assert up["name"] == "Phụ lục ước tính chi phí (đợt 2).pdf" and up["size"] > 0
