"""Document workflow: rendering a draft PDF, the leader's signature + the automatic clerk's
release (one user step each), and the list pages' server time through the read API with
1,000 documents in the sandbox (p50/p95). The UI may add HTTP timings of the same pages."""
from __future__ import annotations

import os
import time

from .common import median, percentile, temp_runtime

N = int(os.environ.get("BENCH_DOCFLOW_DOCS", "1000"))
ROUNDS = int(os.environ.get("BENCH_DOCFLOW_ROUNDS", "5"))
LIST_ROUNDS = int(os.environ.get("BENCH_DOCFLOW_LIST_ROUNDS", "100"))


def _ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main() -> list[str]:
    from docflow import api
    from docflow.render import _render_cached, render_draft
    from tests.docflow.factories import LEADER_PIN, a_draft, make_docworld

    rt = temp_runtime("bench-docflow-")
    w = make_docworld(rt, "bench")
    sb = w.sandbox_id
    lines = ["Document workflow"]

    def render():
        _render_cached.cache_clear()  # the first rendering of a draft (later ones are cached)
        render_draft(org_name="Ủy ban nhân dân quận Ninh Kiều", parent_name="", type_code="CV",
                     summary="triển khai chuyển đổi số năm 2026", body=["Nội dung văn bản. " * 20] * 6,
                     addressees=["Sở Thông tin và Truyền thông"], signer_title="CHỦ TỊCH", signer_name="Nguyễn Văn An",
                     recipients=[{"label": "Như trên"}], unit_code="VX")

    render()
    lines.append(f"  render a draft PDF (make + prepare)     median {median([_ms(render) for _ in range(ROUNDS)]):7.1f} ms")

    sign, release, both = [], [], []
    for _ in range(ROUNDS + 1):
        doc = a_draft(w)
        t1 = _ms(lambda: api.sign_as_leader(rt, sb, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN))
        t2 = _ms(lambda: api.forward_to_clerk(rt, sb, w.a("leader"), doc))
        sign.append(t1), release.append(t2), both.append(t1 + t2)
    sign, release, both = sign[1:], release[1:], both[1:]
    lines.append(f"  leader signature (sign_as_leader)       median {median(sign):7.1f} ms")
    lines.append(f"  forward → automatic clerk releases      median {median(release):7.1f} ms")
    lines.append(f"  leader-sign + clerk-release             median {median(both):7.1f} ms  target ≤ 300 ms")

    # 1,000 documents: half incoming (most forwarded), half outgoing drafts (same rendered PDF)
    t0 = time.perf_counter()
    with rt.db.read() as s:
        from docflow.models import OutgoingDoc
        proto = s.get(OutgoingDoc, doc)
        blob, layout = proto.draft_pdf, proto.layout
    n_in = N // 2
    for i in range(n_in):
        inc = api.register_incoming(rt, sb, w.org, sender_name=f"Sở ngành số {i % 17}",
                                    summary=f"V/v báo cáo chuyên đề số {i}", original_symbol=f"{i}/BC-S{i % 17}")
        if i % 3:
            api.direct(rt, sb, w.a("leader"), inc["incoming_id"], "Giao xử lý",
                       [{"unit_id": w.units["VX"], "role": "xlc", "deadline": "2030-01-01"},
                        {"person_id": w.person_ids["staff_vp"], "role": "ph", "deadline": "2030-01-01"}])
    for i in range(N - n_in):
        rt.dispatcher.dispatch(sb, w.a("specialist"), "docflow.create_draft", dict(
            type_code="CV", summary=f"dự thảo số {i}", signer_id=w.person_ids["leader"], signer_title="CHỦ TỊCH",
            body=["Nội dung."], recipients=[], attachments=[], pdf_blob=blob, layout=layout))
    lines.append(f"  filling {N} documents                   {time.perf_counter() - t0:7.1f} s")

    pages = {
        "incoming list, leader (chờ xử lý)": lambda: api.incoming_list(rt, sb, w.a("leader"), tab="cho_xu_ly"),
        "incoming list, specialist": lambda: api.incoming_list(rt, sb, w.a("specialist")),
        "outgoing list, drafts": lambda: api.outgoing_list(rt, sb, w.a("leader"), box="du_thao"),
        "outgoing list, awaiting my signature": lambda: api.outgoing_list(rt, sb, w.a("leader"), box="cho_ky"),
        "clerk, awaiting release": lambda: api.outgoing_list(rt, sb, w.a("clerk"), box="cho_phat_hanh"),
        "search 'chuyên đề số 4'": lambda: api.search(rt, sb, w.a("leader"), "chuyên đề số 4", limit=20),
        "tracking (first 50)": lambda: api.tracking(rt, sb, w.a("leader"), limit=50),
        "one incoming document": lambda: api.incoming_doc(rt, sb, w.a("leader"), inc["incoming_id"]),
    }
    lines.append(f"  list pages with {N} documents, {LIST_ROUNDS} rounds (read API server time)")
    for label, fn in pages.items():
        fn()
        times = [_ms(fn) for _ in range(LIST_ROUNDS)]
        lines.append(f"    {label:<38} p50 {percentile(times, 50):6.1f} ms  p95 {percentile(times, 95):6.1f} ms"
                     "  target p95 ≤ 50 ms")
    rt.close()
    return lines


if __name__ == "__main__":
    for line in main():
        print(line)
