"""Issue 14, acceptance 1: the load generator (``bench/load.py``) plays a small compressed
shift (30 candidates, a few over SMTP/IMAP, a few on a mistake profile) over HTTP against
``sandbox serve``: no click fails, every grade is the one the candidate's answers and plan
give. Never timings: those are the benchmark's (``python -m bench load``)."""
from __future__ import annotations

import json


from bench import load


# the steps every golden web flow goes through (a share of them over SMTP/IMAP instead of the webmail)
STEPS = ("login", "start", "theory page", "autosave", "theory submit", "task sheet", "webmail", "send mail",
         "imap read", "smtp send", "imap sent", "documents", "direct", "sign", "forward", "status", "tracking", "finish")


def test_a_compressed_shift_has_no_errors_and_every_grade_as_expected(tmp_path):
    out = tmp_path / "load.json"
    args = load.parse_args(["--candidates", "30", "--compress", "2000", "--sync", "--smtp-share", "0.15",
                            "--mistakes", "0.2", "--json", str(out), "--tmp", str(tmp_path), "--quiet"])
    result = load.run(args)
    report = "\n".join(load.lines(result))

    assert result["errors"]["total"] == 0, report
    flows, grades = result["flows"], result["grades"]
    assert flows["completed"] == flows["candidates"] == 30, report
    assert grades["checked"] == grades["as_expected"] == 30 and grades["mismatched"] == 0, report
    assert json.loads(out.read_text())["grades"]["as_expected"] == 30
    assert set(STEPS) <= set(result["steps"]), sorted(result["steps"])

    rows = result["candidates"]
    for r in rows:     # the expected scores are the real ones, candidate by candidate
        assert r["theory"]["got"] == r["theory"]["expected"], r
        assert r["practical"]["got"] == r["practical"]["expected"], r
        assert set(r["practical"]["lost"]) == set(r["practical"]["plan_loses"]), r
    golden = [r for r in rows if r["profile"] == "golden"]
    mistakes = [r for r in rows if r["profile"] != "golden"]
    assert flows["smtp_imap"] >= 4 and any(r["smtp_imap"] for r in golden)
    assert len(mistakes) >= 5 and len({r["profile"] for r in mistakes}) >= 3
    assert all(r["practical"]["got"] == r["practical"]["max"] for r in golden)
    assert all(r["practical"]["got"] < r["practical"]["max"] for r in mistakes)
    assert len({r["theory"]["got"] for r in rows}) > 1     # the candidates answered differently
