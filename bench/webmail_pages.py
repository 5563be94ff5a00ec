"""Webmail server time: the INBOX page and a message page with 1,000 messages in the INBOX
(Flask test client, so the figures are the app's time without a network)."""
from __future__ import annotations

import os
import re
import time

from .common import median, percentile, temp_runtime

N = int(os.environ.get("BENCH_WEBMAIL_MESSAGES", "1000"))
ROUNDS = int(os.environ.get("BENCH_WEBMAIL_ROUNDS", "100"))


def main() -> list[str]:
    from mailserver import api as mail_api
    from mailserver.api import MailView
    from sandbox.kernel.sandboxes import get_or_create_sandbox
    from sandbox.web import create_app
    from tests.factories import make_message

    rt = temp_runtime("bench-web-")
    sid = get_or_create_sandbox(rt.db, rt.clock, "bench")
    me = mail_api.add_account(rt.dispatcher, rt.secret, sid, "lanhdao@cantho.gov.vn", "pw", "Nguyễn Văn An")
    other = mail_api.add_account(rt.dispatcher, rt.secret, sid, "vanthu@cantho.gov.vn", "pw", "Lê Thị Thư")
    with rt.db.read() as s:
        other_ref = mail_api.account_ref(s, other)
    t0 = time.perf_counter()
    for i in range(N):
        raw = make_message("Lê Thị Thư <vanthu@cantho.gov.vn>", ["lanhdao@cantho.gov.vn"],
                           subject=f"Công văn số {i} về chuyển đổi số", body="Nội dung. " * 2000)
        mail_api.submit(rt.dispatcher, rt.blobs, other_ref, raw, ["lanhdao@cantho.gov.vn"], via="smtp")
    fill = time.perf_counter() - t0
    app = create_app(rt)
    client = app.test_client()
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    client.post("/login", data={"login": "lanhdao@cantho.gov.vn", "password": "pw", "csrf_token": token})
    with rt.db.read() as s:
        view = MailView(s, sid, me)
        rows, _ = view.items(view.special(None), limit=1)
        item_id = rows[0][0].id
    lines = [f"Webmail with {N} messages in INBOX (filled in {fill:.1f} s), {ROUNDS} requests each;"
             " ratio = p50 / p50 of the baseline (a page with no mail: the folder manager)"]
    baseline = None
    for label, url in (("baseline: folders page", "/mail/folders"), ("INBOX page", "/mail/"), ("message page", f"/mail/message/{item_id}"),
                       ("search 'CÔNG VĂN SỐ 5'", "/mail/?q=C%C3%94NG+V%C4%82N+S%E1%BB%90+5")):
        times = []
        status = None
        for _ in range(ROUNDS):
            t = time.perf_counter()
            resp = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            status = resp.status_code
        baseline = baseline or median(times)
        lines.append(f"  {label:<24} p50 {median(times):6.1f} ms  p95 {percentile(times, 95):6.1f} ms"
                     f"  ratio {median(times) / baseline:4.1f}  (HTTP {status})")
    rt.close()
    return lines
