"""The faster hex-string reader gives exactly what pyHanko's own gives (value, type, where
the stream stops, and errors)."""
from __future__ import annotations

import io
import random

import pytest
from pyhanko.pdf_utils.misc import PdfStreamError

from signing import _pyhanko_speedups as speedups


def _run(fn, data: bytes):
    stream = io.BytesIO(data)
    try:
        value = fn(stream)
    except PdfStreamError:
        return "error"
    return repr(value), type(value).__name__, stream.tell()


def test_same_results_as_pyhanko_on_random_inputs():
    rnd = random.Random(20261122)
    for _ in range(3000):
        body = bytes(rnd.choice(b"0123456789abcdefABCDEF \n\r\t") for _ in range(rnd.randint(0, 80)))
        if rnd.random() < 0.1:
            body += bytes([rnd.choice(b"xyz<(")])
        data = b"<" + body + (b">" if rnd.random() < 0.95 else b"") + b" /Next 1"
        assert _run(speedups.ORIGINAL, data) == _run(speedups.read_hex_string, data), data


@pytest.mark.parametrize("data", [b"<>", b"<4>", b"<FEFF00410042>", b"<" + b"ab" * 20000 + b">"])
def test_known_values(data):
    assert _run(speedups.ORIGINAL, data) == _run(speedups.read_hex_string, data)


def test_installed_for_every_reader():
    from pyhanko.pdf_utils import generic

    import signing  # noqa: F401  (installs on import)
    assert generic.read_hex_string_from_stream is speedups.read_hex_string


def test_the_time_stamper_loads_its_key_once_and_signs_the_same():
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps import dummy_client

    from signing.pki import TestPKI, to_asn1_key

    der = to_asn1_key(TestPKI().tsa.key).dump()
    shim = dummy_client.serialization
    assert isinstance(shim, speedups._CachedKeyLoading)
    a, b = shim.load_der_private_key(der, None), shim.load_der_private_key(der, None)
    assert a is b
    fresh = serialization.load_der_private_key(der, None)
    assert a.private_numbers() == fresh.private_numbers()
    assert shim.Encoding is serialization.Encoding  # everything else is the real module


def test_verifier_reports_hold_plain_values():
    """A report crosses process boundaries (grading on every core): no pyHanko object may
    ride along (a field name that was a TextStringObject pickled its whole PDF, ~0.5 MB)."""
    import pickle

    from signing import api

    bundle = api.TestPKI().issue_personal("Lê Văn Cường", title="Chuyên viên", organisation="SỞ NỘI VỤ")
    signed = api.sign_leader(api.sample_draft("Lê Văn Cường"), None, bundle, api.signature_png("Lê Văn Cường"))
    report = api.verify_pdf(signed)
    assert type(report.signatures[0].field) is str and type(report.empty_fields[0].field) is str
    assert len(pickle.dumps(report)) < 20_000
