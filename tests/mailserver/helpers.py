"""Reading a world's mail in tests, through the store's public read API."""
from __future__ import annotations

from mailserver.api import MailView
from sandbox.kernel.actions import verify_chain


def inbox(rt, ref, use=None):
    """[(subject, from_address, flags, raw)] of a folder (INBOX by default), oldest first."""
    with rt.db.read() as s:
        view = MailView(s, ref.sandbox_id, ref.id)
        box = view.special(use)
        rows, _ = view.items(box, limit=1000)
        return [(d.subject, d.from_address, it.flags, view.raw(d, rt.blobs)) for it, d in reversed(rows)]


def counts(rt, ref):
    with rt.db.read() as s:
        return {f.box.name: f.total for f in MailView(s, ref.sandbox_id, ref.id).folders()}


def chain_ok(rt, sandbox_id) -> bool:
    with rt.db.read() as s:
        return verify_chain(s, sandbox_id) == (True, None)


def read_until(sock, marker: bytes, limit: int = 65536) -> bytes:
    """Bytes from a raw socket until ``marker`` arrives (or the peer closes, or ``limit``)."""
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
