"""Measured hot spots of pyHanko, replaced with equivalents: reading a PDF hex string, and
the in-process TSA's key loaded once instead of for every time-stamp.

pyHanko reads ``<…>`` hex strings one character at a time; a signature's ``/Contents`` is
some 25,000 hex digits, so verifying a two-layer PDF spent about a third of its time there
(``make bench``). :func:`read_hex_string` reads the same syntax in blocks and returns the
same objects (tests/signing/test_speedups.py compares it with pyHanko's on many inputs)."""
from __future__ import annotations

import binascii
import re
from contextlib import contextmanager

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

_WS = b" \t\n\r\x0c\x00"
_HEX = re.compile(rb"[0-9A-Fa-f]*")
ORIGINAL = generic.read_hex_string_from_stream


def read_hex_string(stream):
    stream.read(1)  # the opening "<"
    start = stream.tell()
    parts = []
    consumed = 0
    while True:
        block = stream.read(16384)
        if not block:
            raise PdfStreamError("Stream has ended unexpectedly")
        end = block.find(b">")
        if end >= 0:
            parts.append(block[:end])
            consumed += end + 1
            break
        parts.append(block)
        consumed += len(block)
    stream.seek(start + consumed)
    digits = b"".join(parts).translate(None, _WS)
    if not _HEX.fullmatch(digits):
        bad = next(bytes([c]) for c in digits if c not in b"0123456789abcdefABCDEF")
        raise PdfStreamError("Unexpected token in hex string: " + repr(bad))
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


class _CachedKeyLoading:
    """``cryptography``'s serialization module, except that loading the same DER private key
    again returns the already loaded key. pyHanko's in-process TSA re-parses its key for every
    time-stamp, and RSA key validation costs ~35 ms each time (measured: a leader signature
    went from ~90 to ~55 ms)."""

    def __init__(self, module) -> None:
        self._module = module
        self._keys: dict[tuple[bytes, bytes | None], object] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def load_der_private_key(self, data, password=None, **kw):
        key = (bytes(data), password)
        if key not in self._keys:
            self._keys[key] = self._module.load_der_private_key(data, password, **kw)
        return self._keys[key]


def install() -> None:
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps import dummy_client

    generic.read_hex_string_from_stream = read_hex_string
    if not isinstance(dummy_client.serialization, _CachedKeyLoading):
        dummy_client.serialization = _CachedKeyLoading(serialization)


@contextmanager
def stock():
    """pyHanko as shipped for the duration (the benchmark's baseline)."""
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps import dummy_client

    generic.read_hex_string_from_stream = ORIGINAL
    dummy_client.serialization = serialization
    try:
        yield
    finally:
        install()
