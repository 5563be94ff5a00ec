"""MailView.sent(): what an account sent, as the grader reads it (SMTP door, real server)."""
from __future__ import annotations

import hashlib
import smtplib

from mailserver import api as mail_api
from tests.factories import PASSWORD, make_message, minimal_pdf


def test_sent_lists_headers_envelope_bounces_and_attachments(runtime, world, smtp_server):
    pdf = minimal_pdf()
    raw = make_message("lanhdao@cantho.gov.vn", ["truongphong@cantho.gov.vn"], subject="Kế hoạch số 98",
                       cc=["ChanhVanPhong@cantho.gov.vn"], body="Đề nghị tổng hợp danh sách.\n",
                       attachments=[("Kế hoạch 98.pdf", "application/pdf", pdf)])
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as c:
        c.login("lanhdao@cantho.gov.vn", PASSWORD)
        c.sendmail("lanhdao@cantho.gov.vn", ["truongphong@cantho.gov.vn", "chanhvanphong@cantho.gov.vn",
                                              "vanthu@cantho.gov.vn", "khongco@cantho.gov.vn"], raw)
    with mail_api.open_view(runtime.db, world["lanhdao"]) as view:
        [m] = view.sent(runtime.blobs)
    assert m.subject == "Kế hoạch số 98" and m.via == "smtp"
    assert m.to == ("truongphong@cantho.gov.vn",) and m.cc == ("chanhvanphong@cantho.gov.vn",)
    assert m.bcc == ("vanthu@cantho.gov.vn", "khongco@cantho.gov.vn")
    assert m.bounced == ("khongco@cantho.gov.vn",) and "vanthu@cantho.gov.vn" in m.delivered
    assert "Đề nghị tổng hợp" in m.text and m.message_id.startswith("<")
    [a] = m.attachments
    assert a.filename == "Kế hoạch 98.pdf" and a.sha256 == hashlib.sha256(pdf).hexdigest() and a.size == len(pdf)
    with mail_api.open_view(runtime.db, world["truongphong"]) as view:
        assert view.sent(runtime.blobs) == []
