"""Producing the official report of a contest of N candidates (BENCH_N, default 600) in about
110 units of three tiers (the 2023 contest's shape): computing the results from the rows, then
the text, DOCX (with the per-candidate appendix), PDF (idem) and XLSX. Prints the figures;
no targets asserted."""
from __future__ import annotations

import os
import random
import shutil
import time

N = int(os.environ.get("BENCH_N", "600"))


def _populate(rt, n: int) -> None:
    import datetime as dt

    from sandbox.contest.models import Candidate, Contest, ContestPart, ContestUnit, PartScore
    at = dt.datetime(2023, 6, 24, 3, 0, tzinfo=dt.timezone.utc)
    rng = random.Random(2023)
    with rt.db.write() as s:
        c = Contest(code="bench", name="Cuộc thi đánh giá năng lực ứng dụng CNTT, chuyển đổi số", year=2023,
                    duration_minutes=60, rules={}, created_at=at)
        s.add(c)
        s.flush()
        theory = ContestPart(contest_id=c.id, name="Lý thuyết", kind="theory", points=60, position=0, settings={})
        practical = ContestPart(contest_id=c.id, name="Thực hành", kind="practical", points=40, position=1,
                                settings={})
        s.add_all([theory, practical])
        units = ([ContestUnit(contest_id=c.id, name=f"Sở {i:02d}", tier="so") for i in range(1, 20)]
                 + [ContestUnit(contest_id=c.id, name=f"UBND quận, huyện {i}", tier="huyen") for i in range(1, 10)]
                 + [ContestUnit(contest_id=c.id, name=f"UBND xã, phường {i:02d}", tier="xa") for i in range(1, 83)])
        s.add_all(units)
        s.flush()
        for i in range(1, n + 1):
            u = units[rng.randrange(len(units))]
            absent = rng.random() < 0.04
            cand = Candidate(contest_id=c.id, number=f"TS{i:04d}", full_name=f"Nguyễn Văn Thí Sinh {i}",
                             title="Phó Trưởng phòng", unit_id=u.id, attendance="absent" if absent else "present",
                             absence_reason="Đi công tác" if absent else "")
            s.add(cand)
            s.flush()
            if absent:
                continue
            s.add(PartScore(candidate_id=cand.id, part_id=theory.id, points=2 * rng.randint(18, 30), source="theory",
                            at=at))
            s.add(PartScore(candidate_id=cand.id, part_id=practical.id,
                            points=0 if rng.random() < 0.005 else rng.choice([40, 40, 38, 36, 34, 30, 24]),
                            source="import", at=at))


def main() -> list[str]:
    from sandbox.contest import report
    from sandbox.contest.results import results_for

    from .common import temp_runtime

    rt = temp_runtime("bench-report-")
    try:
        _populate(rt, N)
        lines = [f"contest report: {N} candidates, 110 units"]
        t0 = time.perf_counter()
        res = results_for(rt, "bench")
        t_results = time.perf_counter() - t0
        figures = [("results", t_results)]
        outputs = {}
        for name, fn in [("text", report.report_text), ("docx", report.report_docx), ("pdf", report.report_pdf),
                         ("xlsx", report.results_xlsx)]:
            t = time.perf_counter()
            outputs[name] = fn(res)
            figures.append((name, time.perf_counter() - t))
        total = sum(t for _, t in figures)
        for name, t in figures:
            size = len(outputs[name]) if name in outputs else 0
            lines.append(f"  {name:8s} {t * 1000:8.0f} ms" + (f"  {size / 1024:8.0f} KB" if size else ""))
        lines.append(f"  all four formats from the rows: {total:.2f} s")
        return lines
    finally:
        data = rt.settings.data_dir
        rt.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    for line in main():
        print(line)
