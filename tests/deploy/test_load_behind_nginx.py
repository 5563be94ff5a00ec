"""Issue 15, acceptance 2: the load generator's small run (as ``tests/test_load.py``: 30
candidates, compressed, a few over SMTP/IMAP, a few on mistake profiles) through nginx in
front of ``sandbox serve web --workers 2`` (gunicorn), with ``serve smtp imap`` and ``serve
worker`` as their own processes (``python -m bench load --behind-nginx``): no click fails and
every grade is the one the candidate's answers and plan give. Never timings."""
from __future__ import annotations

from bench import load

from .conftest import need_nginx


def test_the_small_run_behind_nginx_has_no_errors_and_every_grade_as_expected(tmp_path):
    need_nginx()
    args = load.parse_args(["--candidates", "30", "--compress", "2000", "--sync", "--smtp-share", "0.15",
                            "--mistakes", "0.2", "--behind-nginx", "--web-workers", "2", "--tmp", str(tmp_path),
                            "--quiet"])
    result = load.run(args)
    report = "\n".join(load.lines(result))

    assert result["server_shape"].startswith("nginx → gunicorn 2 workers"), report
    assert result["errors"]["total"] == 0, report
    flows, grades = result["flows"], result["grades"]
    assert flows["completed"] == flows["candidates"] == 30, report
    assert grades["checked"] == grades["as_expected"] == 30 and grades["mismatched"] == 0, report
    assert flows["smtp_imap"] >= 4, report
    for r in result["candidates"]:
        assert r["theory"]["got"] == r["theory"]["expected"], r
        assert r["practical"]["got"] == r["practical"]["expected"], r
        assert set(r["practical"]["lost"]) == set(r["practical"]["plan_loses"]), r
