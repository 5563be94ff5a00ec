"""Issue 16, finding 4 (the same test for SMTP): commands pipelined in plain text after
STARTTLS are not run inside the TLS session (RFC 3207 4.2: the client must discard what it
knew; the server must not act on plain text sent before the handshake). Raw sockets."""
from __future__ import annotations

import socket
import ssl


from .helpers import read_until as _read_until


def test_commands_pipelined_after_starttls_are_not_run_in_tls(world, smtp_server):
    with socket.create_connection(("127.0.0.1", smtp_server.port), timeout=10) as raw:
        assert _read_until(raw, b"\r\n").startswith(b"220")
        raw.sendall(b"EHLO attacker.example\r\n")
        _read_until(raw, b"250 ")
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<lanhdao@cantho.gov.vn>\r\n")   # one write
        said = _read_until(raw, b"220")
        assert b"220" in said
        tls = ssl._create_unverified_context().wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"NOOP\r\n")
        answer = _read_until(tls, b"\r\n")
        # the first answer inside TLS is to the client's own NOOP, not to the injected MAIL FROM
        assert answer.startswith(b"250"), answer
        assert b"Sender" not in answer and b"sender" not in answer, answer
        tls.sendall(b"QUIT\r\n")
        _read_until(tls, b"221")
