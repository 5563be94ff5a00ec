"""Provisioning and grading a shift: N sandboxes of the 2022 exam set (BENCH_N, default 600).

* provisioning: building N sandboxes from the scenario (world, mail, tokens, documents),
  in one process and with one process per core (the baseline is the one-process run);
* grading: each sandbox has done the golden path (a two-layer PDF to verify); graded in one
  process and with ``grader.batch.grade_many`` on every core.

Targets (issue 6): grading 600 ≤ 20 s, provisioning 600 ≤ 30 s on this 2-core machine."""
from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from email.policy import SMTP

N = int(os.environ.get("BENCH_N", "600"))
START = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SCENARIO = "thi-2022-de-1"


def _runtime(data_dir: str):
    from sandbox.kernel.clock import FixedClock
    from sandbox.runtime import Runtime
    from sandbox.kernel.settings import Settings
    rt = Runtime.open(Settings(data_dir=data_dir))
    rt.clock = rt.dispatcher.clock = FixedClock(START)
    return rt


def _build_range(args) -> int:
    data_dir, names = args
    from scenarios.build import build
    from scenarios.library import load
    rt = _runtime(data_dir)
    loaded = load(SCENARIO)
    for i, name in names:
        build(rt, loaded, i, name)
    rt.close()
    return len(names)


def golden(rt, loaded, res) -> None:
    """The 2022 set's tasks through the public APIs (what the web pages call)."""
    from docflow import api as docflow_api
    from mailserver import api as mail_api
    from mailserver import mime
    from scenarios.build import instance_of
    from signing import api as signing_api

    v, me, sid = res.values, res.candidate.address, res.sandbox_id
    with rt.db.read() as s:
        anchors = instance_of(s, sid).anchors
        acc = mail_api.account_by_address(s, sid, me)
        token = next(t.id for t in signing_api.certificates_for(s, sid, me) if t.owner == me)
    chanh = next(p.email for p in loaded.scenario.world.people if p.id == "chanhvp")
    with mail_api.open_view(rt.db, acc) as view:  # the requested file, from the Director's mail
        items, _ = view.items(view.special(None))
        _item, data = next(row for row in items if row[1].message_id == anchors["mail"]["chi_dao"]["message_id"])
        raw = view.raw(data, rt.blobs)
    part = next(a["part"] for a in mime.body_parts(raw, data.structure)["attachments"] if a["filename"] == v["attachment"])
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Cc"], msg["Subject"] = me, v["recipient"]["email"], chanh, v["subject"]["text"]
    msg.set_content("Đề nghị tổng hợp danh sách công chức dự thi.\n")
    msg.add_attachment(mime.part_payload(raw, data.structure, part), maintype="application",
                       subtype="octet-stream", filename=v["attachment"])
    mail_api.submit(rt.dispatcher, rt.blobs, acc, msg.as_bytes(), [v["recipient"]["email"], chanh], via="smtp")
    report = EmailMessage(policy=SMTP)
    report["From"], report["To"], report["Subject"] = me, chanh, "Tình hình xử lý văn bản 1520/UBND-KT"
    report.set_content("Phòng Công chức - Viên chức đang quá hạn.\n")
    mail_api.submit(rt.dispatcher, rt.blobs, acc, report.as_bytes(), [chanh], via="webmail")
    u = anchors["units"]
    docflow_api.direct(rt, sid, me, anchors["incoming"]["kh98"]["incoming_id"], "Giao triển khai.",
                       [{"unit_id": u[v["routing"]["lead"]], "role": "xlc", "deadline": v["deadline"]},
                        {"unit_id": u[v["routing"]["support"]], "role": "ph", "deadline": v["deadline"]},
                        {"unit_id": u["vp"], "role": "db"}])
    oid = anchors["drafts"]["cv_cu_thi"]["outgoing_id"]
    docflow_api.sign_as_leader(rt, sid, me, oid, token, res.candidate.pin)
    docflow_api.forward_to_clerk(rt, sid, me, oid)


def main() -> list[str]:
    import tempfile

    from grader.batch import grade_many
    from scenarios.build import build
    from scenarios.library import load

    from sandbox.kernel.settings import Settings
    db = "PostgreSQL" if Settings().database_url.startswith("postgresql") else "SQLite"
    lines = [f"Provisioning and grading {N} sandboxes of {SCENARIO} ({db})"]
    loaded = load(SCENARIO)
    # provisioning, one process (baseline) then one process per core (fresh installations)
    one = tempfile.mkdtemp(prefix="bench-prov1-")
    t = time.perf_counter()
    _build_range((one, [(i, f"p1-{i:04d}") for i in range(N)]))
    t_one = time.perf_counter() - t
    many = tempfile.mkdtemp(prefix="bench-prov2-")
    _runtime(many).close()  # create the database and the test CA once
    cores = os.cpu_count() or 1
    parts = [(many, [(i, f"p2-{i:04d}") for i in range(N) if i % cores == k]) for k in range(cores)]
    t = time.perf_counter()
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_build_range, parts))
    t_many = time.perf_counter() - t
    lines.append(f"  provisioning, 1 process        {t_one:7.1f} s  ({t_one / N * 1000:6.1f} ms per sandbox)")
    lines.append(f"  provisioning, {cores} processes      {t_many:7.1f} s  ({t_many / N * 1000:6.1f} ms per sandbox)"
                 f"  ratio {t_many / t_one:4.2f}  target ≤ 30 s for 600")
    if os.environ.get("BENCH_SKIP_GRADING"):
        return lines
    # grading: every sandbox completed the exam set
    rt = _runtime(tempfile.mkdtemp(prefix="bench-grade-"))
    ids = []
    t = time.perf_counter()
    for i in range(N):
        res = build(rt, loaded, i, f"g{i:04d}")
        golden(rt, loaded, res)
        ids.append(res.sandbox_id)
    t_setup = time.perf_counter() - t
    t = time.perf_counter()
    serial = grade_many(rt, ids, workers=1)
    t_serial = time.perf_counter() - t
    t = time.perf_counter()
    parallel = grade_many(rt, ids, workers=cores)
    t_par = time.perf_counter() - t
    full = sum(1 for r in parallel.values() if r.get("total") == loaded.scenario.points)
    assert serial == parallel, "grading must not depend on the worker"
    lines.append(f"  (setup: {N} golden-path sessions in {t_setup:.1f} s)")
    lines.append(f"  grading, 1 process             {t_serial:7.1f} s  ({t_serial / N * 1000:6.1f} ms per candidate)")
    lines.append(f"  grading, {cores} processes           {t_par:7.1f} s  ({t_par / N * 1000:6.1f} ms per candidate)"
                 f"  ratio {t_par / t_serial:4.2f}  target ≤ 20 s for 600; full marks: {full}/{N}")
    rt.close()
    return lines
