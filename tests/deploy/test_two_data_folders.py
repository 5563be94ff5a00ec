"""Issue 15, state that machines share: two web processes (``sandbox serve web``), each with a
data folder of its own, on one PostgreSQL, and candidates whose every request alternates
between them (``python -m bench load --two-data-folders``): the login made on one is the session
on the other (one installation secret, from the database), an attachment or a signed PDF stored
by one is read by the other (blobs in the database), a certificate issued by one verifies on the
other (the test CA in the database), and every grade is the one the candidate's plan gives.

The second data folder starts empty, and stays without a blob, a secret or a CA key: nothing a
request needs lives on one machine's disk. The throttle's shared counters are checked across two
runtimes in ``tests/sandbox/test_shared_state.py``; here across the two processes too."""
from __future__ import annotations

from bench import load

from ..conftest import _database_url
from .conftest import Browser, serve_web


def test_candidates_alternating_between_two_data_folders_on_one_postgresql(tmp_path):
    url = _database_url("postgresql", tmp_path)
    args = load.parse_args(["--candidates", "6", "--compress", "2000", "--sync", "--smtp-share", "0.34",
                            "--mistakes", "0.34", "--two-data-folders", "--database-url", url,
                            "--tmp", str(tmp_path), "--keep", "--quiet"])
    result = load.run(args)
    report = "\n".join(load.lines(result))

    assert result["server_shape"].startswith("two web processes"), report
    assert result["errors"]["total"] == 0, report
    flows, grades = result["flows"], result["grades"]
    assert flows["completed"] == flows["candidates"] == 6, report
    assert grades["checked"] == grades["as_expected"] == 6 and grades["mismatched"] == 0, report
    for r in result["candidates"]:
        assert r["practical"]["got"] == r["practical"]["expected"], r
        assert set(r["practical"]["lost"]) == set(r["practical"]["plan_loses"]), r

    # the second machine's data folder: no secret, no CA key, and blobs only as copies of the
    # database's (the read-through cache, content-addressed: never the only copy)
    from pathlib import Path

    from sqlalchemy import create_engine, text
    other = Path(result["data_dir"] + "-b")
    kept = {p.relative_to(other).as_posix() for p in other.rglob("*") if p.is_file()}
    assert "secret.key" not in kept and not any(p.startswith("signing/ca/") for p in kept), sorted(kept)
    cached = {p.replace("/", "")[len("blobs"):] for p in kept if p.startswith("blobs/") and p.count("/") == 2}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT sha256 FROM blobs")).scalars())
    finally:
        engine.dispose()
    assert cached and cached <= stored, sorted(cached - stored)[:5]


def test_failed_logins_on_one_process_count_on_the_other(tmp_path):
    """The login throttle's counters are the database's: five wrong passwords on one process and
    five on the other lock the name out on both."""
    from sandbox.kernel.settings import Settings
    from sandbox.runtime import Runtime

    from ..factories import make_world

    url = _database_url("postgresql", tmp_path)
    rt = Runtime.open(Settings(data_dir=tmp_path / "a", database_url=url))
    try:
        address = make_world(rt)["lanhdao"].address
    finally:
        rt.close()
    with serve_web(tmp_path / "a", url) as a, serve_web(tmp_path / "b", url) as b:
        said = []
        for i in range(11):
            br = Browser(a if i % 2 == 0 else b)
            br.get("/login")
            status, text, _ = br.post("/login", {"login": address, "password": "sai mật khẩu"})
            said.append((status, "quá nhiều lần" in text))
        assert not any(locked for _s, locked in said[:10]), said
        assert said[10][1], said
