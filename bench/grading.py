"""Provisioning and grading a shift: BENCH_N candidates (default 600) of the 2022 exam set.

* provisioning: ``provision_shift`` in one process (the baseline) and on every core
  (``bench.provision``);
* grading: every sandbox has done the golden path (the leader's signature and the automatic
  clerk's release: a two-signature PDF to verify); ``sandbox contest grade``
  (``grade_contest``) in one process (the baseline) and on every core, with the same reports;
  and on every core with the verifier's library speed-ups off (``signing.verify_speedups.stock``:
  the verifier as before them), which must give the same reports too.
  ``BENCH_SKIP_GRADING=1`` stops after provisioning; ``BENCH_SKIP_STOCK=1`` leaves out the
  run without the speed-ups.

Targets (issue 14): provisioning 600 ≤ 30 s, grading 600 incl. both signatures ≤ 15 s on this
2-core machine."""
from __future__ import annotations

import datetime as dt
import os
import time
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


class _Built:
    """What ``golden`` needs of a sandbox built by provisioning (as a ``BuildResult`` gives)."""

    def __init__(self, rt, loaded, sandbox_id: int):
        from scenarios.build import from_json, instance_of

        with rt.db.read() as s:
            inst = instance_of(s, sandbox_id)
            self.values, address, person = from_json(inst.values), inst.candidate_address, inst.candidate
        me = next(p for p in loaded.scenario.world.people if p.id == person)
        self.sandbox_id = sandbox_id

        class Candidate:
            pass
        self.candidate = Candidate()
        self.candidate.address, self.candidate.pin = address, me.pin


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
    try:
        from sandbox.kernel import jobs
    except ImportError:  # the clerk releases inside forward_to_clerk
        return
    jobs.run_pending(rt, sandbox_id=sid)   # the automatic clerk's release (a worker's job in `sandbox serve`)


def main() -> list[str]:
    from grader.batch import grade_many  # noqa: F401  (imported before the timings)
    from sandbox.contest.grading import grade_contest
    from sandbox.contest.models import Candidate, PartScore
    from scenarios.build import instance_of
    from scenarios.library import load
    from sqlalchemy import select

    from .provision import CODE, load_average, measure

    lines, rt = measure(keep=True)
    if os.environ.get("BENCH_SKIP_GRADING"):
        rt.close()
        return lines
    loaded = load(SCENARIO)
    t = time.perf_counter()
    with rt.db.read() as s:
        names = list(s.scalars(select(Candidate.sandbox_name).order_by(Candidate.number)))
        from sandbox.kernel.models import Sandbox
        ids = [s.scalar(select(Sandbox.id).where(Sandbox.name == n)) for n in names]
        assert all(instance_of(s, i) is not None for i in ids)
    for sid in ids:
        golden(rt, loaded, _Built(rt, loaded, sid))
    t_setup = time.perf_counter() - t
    cores = os.cpu_count() or 1
    lines.append(f"  (setup: {N} golden-path sessions, both signatures, in {t_setup:.1f} s)")
    lines.append(f"Grading the shift: `sandbox contest grade` (grade_contest), {N} candidates ({load_average()})")
    from contextlib import nullcontext

    from signing.verify_speedups import clear, stock

    runs = [(1, "fast"), (cores, "fast")] + ([] if os.environ.get("BENCH_SKIP_STOCK") else [(cores, "stock")])
    timings, reports = {}, {}
    for workers, mode in runs:
        clear()   # every run starts cold (worker processes fork from this one)
        with stock() if mode == "stock" else nullcontext():
            t = time.perf_counter()
            summary = grade_contest(rt, CODE, workers=workers, actor="bench")
            timings[workers, mode] = time.perf_counter() - t
        assert summary.graded == N and not summary.errors, summary.lines()
        with rt.db.read() as s:
            reports[workers, mode] = {c: r for c, r in s.execute(select(PartScore.candidate_id, PartScore.report)
                                                                 .where(PartScore.source == "grader"))}
    assert all(r == reports[1, "fast"] for r in reports.values()), "grading must not depend on the worker or the speed-ups"
    full = sum(1 for r in reports[cores, "fast"].values() if r.get("total") == loaded.scenario.points)
    t1, tn = timings[1, "fast"], timings[cores, "fast"]
    lines.append(f"  one process (baseline)     {t1:7.1f} s  ({t1 / N * 1000:6.1f} ms per candidate)")
    lines.append(f"  {cores} processes (every core) {tn:7.1f} s  ({tn / N * 1000:6.1f} ms per candidate)"
                 f"  {t1 / tn:4.2f}× faster; target ≤ 15 s for 600; full marks: {full}/{N} ({load_average()})")
    if (cores, "stock") in timings:
        ts = timings[cores, "stock"]
        lines.append(f"  {cores} processes, verifier without its speed-ups {ts:7.1f} s  ({ts / N * 1000:6.1f} ms per "
                     f"candidate); with them {ts / tn:4.2f}× faster; same reports ({load_average()})")
    rt.close()
    return lines


if __name__ == "__main__":
    for line in main():
        print(line, flush=True)
