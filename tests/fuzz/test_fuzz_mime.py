"""Fuzzing the MIME parser (``mailserver.mime``). Contract (its docstring): ``parse_structure``
never raises on sloppy input, and raises ``MimeError`` (with a Vietnamese ``message_vi``) only
when there is no message at all; what it returns can always be written as an IMAP ENVELOPE
and BODYSTRUCTURE (what FETCH sends)."""
from __future__ import annotations

from hypothesis import example, given, strategies as st

from mailserver import mime
from tests.fuzz.conftest import count

HEADER_NAMES = [b"From", b"To", b"Cc", b"Subject", b"Date", b"Message-ID", b"In-Reply-To", b"Content-Type",
                b"Content-Transfer-Encoding", b"Content-Disposition", b"MIME-Version", b"Reply-To", b"Sender"]
VALUES = [b"multipart/mixed; boundary=\"b1\"", b"multipart/alternative; boundary=b2", b"text/plain; charset=utf-8",
          b"text/html; charset=\"windows-1258\"", b"message/rfc822", b"multipart/digest; boundary=",
          b"application/pdf; name*=UTF-8''C%C3%B4ng%20v%C4%83n.pdf", b"base64", b"quoted-printable", b"8bit",
          b"attachment; filename=\"a.pdf\"", b"=?UTF-8?B?VGjGsCBt4budaQ==?=", b"=?utf-8?q?Th=C6=B0?=",
          b"\"Nguy\xe1\xbb\x85n V\xc4\x83n An\" <an@cantho.gov.vn>", b"undisclosed-recipients:;", b"<a@b>, c@d, (x) e",
          b"Mon, 3 Jun 2024 08:30:00 +0700", b"", b"((((((", b"\"unterminated", b"=?x?", b"a@", b"<>"]
BODIES = [b"--b1\r\n", b"--b1--\r\n", b"--b2\r\n", b"--\r\n", b"Content-Type: text/plain\r\n\r\n", b"SGVsbG8=\r\n",
          b"=C3=A1=\r\n", b"\r\n", b"\n", b"\x00", b"\xff\xfe", b"body text \xe1\xbb\x87\r\n", b"From: x\r\n\r\n"]


def _check(raw: bytes) -> None:
    try:
        out = mime.parse_structure(raw)
    except mime.MimeError as e:
        assert e.message_vi and str(e)
        return
    assert isinstance(mime.imap_envelope(out), bytes)
    assert isinstance(mime.imap_bodystructure(out["root"]), bytes)
    assert isinstance(mime.imap_bodystructure(out["root"], extensible=False), bytes)


@st.composite
def messages(draw):
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from(HEADER_NAMES) | st.binary(max_size=12))
        value = draw(st.lists(st.sampled_from(VALUES) | st.binary(max_size=20), max_size=3))
        sep = draw(st.sampled_from([b": ", b":", b" : ", b"\r\n ", b""]))
        parts.append(name + sep + b" ".join(value) + draw(st.sampled_from([b"\r\n", b"\n", b"\r", b""])))
    parts.append(draw(st.sampled_from([b"\r\n", b"\n", b""])))
    parts += draw(st.lists(st.sampled_from(BODIES + VALUES) | st.binary(max_size=40), max_size=20))
    return b"".join(parts)


@given(messages())
@example(b"")
@example(b" \r\n")
@example(b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n")
@example(b"Content-Type: message/rfc822\r\n\r\n" * 50)
def test_fuzz_mime_structured(raw):
    count("test_fuzz_mime_structured")
    _check(raw)


@given(st.binary(max_size=2000))
def test_fuzz_mime_bytes(raw):
    count("test_fuzz_mime_bytes")
    _check(raw)
