"""Signing: the leader's signature, the clerk's release, verifying a two-layer PDF and
issuing a personal certificate, each against stock pyHanko/cryptography calls on the same
input in the same run (no appearance, no diff analysis shortcuts of ours)."""
from __future__ import annotations

import io
import os
import time

from .common import median

ROUNDS = int(os.environ.get("BENCH_SIGNING_ROUNDS", "7"))


def timed(fn, rounds: int = ROUNDS) -> float:
    fn()  # warm
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return median(times) * 1000


def main() -> list[str]:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature

    from signing import document as doc
    from signing.example import BODY, DATE, LEADER, NUMBER, ORG, TITLE
    from signing.images import seal_png, signature_png
    from signing.pki import TestPKI
    from signing.verify import verify_pdf

    pki = TestPKI()
    leader = pki.issue_personal(LEADER, title="Chủ tịch", unit="Lãnh đạo", organisation=ORG)
    org = pki.issue_organisation(ORG)
    tsa = pki.timestamper()
    draft, layout = doc.make_draft_pdf(ORG, TITLE, BODY, "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", LEADER)
    prepared = doc.prepare_draft(draft, layout)
    sig_png, seal = signature_png(LEADER), seal_png(ORG, doc.SEAL_MM)
    signed = doc.sign_leader(prepared, layout, leader, sig_png, timestamper=tsa)
    issued = doc.release(signed, layout, org, seal, NUMBER, DATE, timestamper=tsa, when=None)

    def stock_sign(pdf, field, bundle):
        from signing._pyhanko_speedups import stock
        with stock():
            w = IncrementalPdfFileWriter(io.BytesIO(pdf))
            return signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name=field), signer=bundle.signer(),
                                    timestamper=tsa).getvalue()

    def stock_release():
        from signing._pyhanko_speedups import stock
        with stock():
            return _stock_release()

    def _stock_release():
        from pyhanko.pdf_utils import generic
        w = IncrementalPdfFileWriter(io.BytesIO(signed))
        for f in w.root["/AcroForm"]["/Fields"]:
            field = f.get_object()
            if field.get("/T") in (doc.NUMBER_FIELD, doc.DATE_FIELD):
                field["/V"] = generic.TextStringObject(NUMBER)
                w.update_container(field)
        return signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name=doc.ORG_FIELD), signer=org.signer(),
                                timestamper=tsa).getvalue()

    def stock_verify():
        from signing._pyhanko_speedups import stock
        with stock():
            r = PdfFileReader(io.BytesIO(issued))
            for s in r.embedded_signatures:
                validate_pdf_signature(s, pki.validation_context())

    rows = [
        ("leader signature (B-T)", timed(lambda: doc.sign_leader(prepared, layout, leader, sig_png, timestamper=tsa)),
         timed(lambda: stock_sign(prepared, doc.LEADER_FIELD, leader)), "≤ 70 ms, ≤ 0.5× stock"),
        ("clerk fill + organisation signature", timed(lambda: doc.release(signed, layout, org, seal, NUMBER, DATE,
                                                                            timestamper=tsa, when=None)),
         timed(stock_release), "≤ 150 ms"),
        ("verify a two-layer PDF", timed(lambda: verify_pdf(issued, validation_context=pki.validation_context)),
         timed(stock_verify), "≤ 60 ms"),
        ("personal certificate issuance", timed(lambda: pki.issue_personal("Trần Thị Bình", title="Phó Chủ tịch",
                                                                          unit="Lãnh đạo", organisation=ORG)),
         timed(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)), "(stock: RSA-2048 key alone)"),
    ]
    lines = [f"Signing (median of {ROUNDS}; stock = plain pyHanko/cryptography calls on the same input)"]
    for label, ours, stock, target in rows:
        lines.append(f"  {label:<38} ours {ours:7.1f} ms  stock {stock:7.1f} ms  ratio {ours / stock:5.2f}  target {target}")
    return lines
