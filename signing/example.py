"""A throwaway signing world for trainers and developers: ``sandbox sign example --out DIR``
writes the draft, the leader-signed and the issued (two-layer) PDFs of a Decree 30
decision, with the test root certificate to verify them against."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import document as doc
from .images import seal_png, signature_png
from .pki import TestPKI, cert_pem

ORG = "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"
LEADER = "Nguyễn Văn An"
TITLE = "QUYẾT ĐỊNH\nVề việc ban hành Kế hoạch chuyển đổi số năm 2026"
BODY = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
        "Xét đề nghị của Giám đốc Sở Thông tin và Truyền thông.",
        "Điều 1. Ban hành kèm theo Quyết định này Kế hoạch chuyển đổi số năm 2026.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký."]
NUMBER = "125/QĐ-UBND"
DATE = "Cần Thơ, ngày 16 tháng 3 năm 2026"


def write_example(out: Path, when: dt.datetime | None = None) -> dict[str, Path]:
    """Build the world and write its files into ``out``; returns them by name."""
    out.mkdir(parents=True, exist_ok=True)
    pki = TestPKI()
    leader = pki.issue_personal(LEADER, title="Chủ tịch", unit="Lãnh đạo UBND thành phố", organisation=ORG)
    org = pki.issue_organisation(ORG, locality="Cần Thơ")
    tsa = pki.timestamper()
    draft, layout = doc.make_draft_pdf(ORG, TITLE, BODY, "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", LEADER)
    prepared = doc.prepare_draft(draft, layout)
    signed = doc.sign_leader(prepared, layout, leader, signature_png(LEADER), timestamper=tsa)
    issued = doc.release(signed, layout, org, seal_png(ORG, doc.SEAL_MM), NUMBER, DATE, timestamper=tsa,
                         when=when or dt.datetime.now(doc.VN_TZ).replace(microsecond=0))
    files = {"draft.pdf": prepared, "leader-signed.pdf": signed, "issued.pdf": issued,
             "root.pem": cert_pem(pki.root.cert)}
    paths = {}
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths[name] = out / name
    return paths
