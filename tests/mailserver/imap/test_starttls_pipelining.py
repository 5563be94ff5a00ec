"""Issue 16, finding 4: plain-text commands pipelined after STARTTLS in the same write are not
run inside the TLS session (RFC 3501 6.2.1, RFC 2595 3.1; Dovecot drops them): a man in the
middle could otherwise inject commands the client never sent. Raw sockets, our IMAP server."""
from __future__ import annotations

import socket
import ssl


from ..helpers import read_until as _read_until


def test_commands_pipelined_after_starttls_are_dropped(our_imap):
    with socket.create_connection(("127.0.0.1", our_imap.port), timeout=10) as raw:
        assert b"OK" in _read_until(raw, b"\r\n")
        raw.sendall(b"a STARTTLS\r\nb NOOP\r\nc LOGIN lanhdao@cantho.gov.vn x\r\n")   # one write
        said = _read_until(raw, b"a OK")
        assert b"a OK" in said and b"b " not in said
        tls = ssl._create_unverified_context().wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"d NOOP\r\n")
        answer = _read_until(tls, b"d OK")
        # the first tagged answer inside TLS is the client's own command, never the injected ones
        assert answer.splitlines()[0].startswith(b"d OK"), answer
        assert b"\nb " not in b"\n" + answer and b"\nc " not in b"\n" + answer, answer
        tls.sendall(b"e LOGOUT\r\n")
        _read_until(tls, b"e OK")
