"""The crashes the fuzzers found, kept as plain tests (each fixed in the code)."""
from __future__ import annotations

import io
import socket
import zipfile
import zlib

import pytest

from mailserver.imap import parser
from sandbox.contest.tables import ImportFileError, open_workbook
from tests.conftest import free_port


def test_imap_tag_with_8bit_bytes_is_a_parse_error():
    """``b"\\x80 A"``: the tag pattern admitted 8-bit bytes, then decoding it as ASCII raised
    UnicodeDecodeError outside the parser's contract."""
    with pytest.raises(parser.ParseError) as e:
        parser.parse_command(b"\x80 A")
    assert e.value.tag == "*"
    with pytest.raises(parser.ParseError):
        parser.parse_command("thư NOOP".encode())


def _read_line(sock) -> bytes:
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def test_imap_server_answers_bad_to_an_8bit_tag_and_keeps_the_session(sqlite_runtime):
    """On the wire: the same line used to end the connection (the exception escaped the
    command loop); now it is answered BAD and the next command works."""
    from mailserver.imap.server import IMAPController

    ctl = IMAPController(sqlite_runtime, "127.0.0.1", free_port())
    ctl.start()
    try:
        with socket.create_connection(("127.0.0.1", ctl.port), timeout=10) as sock:
            assert _read_line(sock).startswith(b"* OK")
            sock.sendall(b"\x80 A\r\n")
            assert _read_line(sock).startswith(b"* BAD")
            sock.sendall(b"a1 NOOP\r\n")
            assert _read_line(sock).startswith(b"a1 OK")
    finally:
        ctl.stop()


def _workbook_with_a_member_that_does_not_inflate() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Họ và tên", "Đơn vị"])
    buf = io.BytesIO()
    wb.save(buf)
    data = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/workbook.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + info.compress_size] = b"\xff" * info.compress_size   # an invalid deflate block
    return bytes(data)


def test_damaged_xlsx_whose_member_does_not_inflate_is_refused_in_vietnamese():
    """A workbook with a damaged deflate stream: openpyxl lets ``zlib.error`` through (the
    organiser's upload answered 500); it is now ``ImportFileError`` like other broken files."""
    data = _workbook_with_a_member_that_does_not_inflate()
    with pytest.raises(zlib.error):  # what the library raises on its own
        import openpyxl
        openpyxl.load_workbook(io.BytesIO(data))
    with pytest.raises(ImportFileError) as e:
        open_workbook("danh-sach.xlsx", data)
    assert "đã bị hỏng" in e.value.message_vi
