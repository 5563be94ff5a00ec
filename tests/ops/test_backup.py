"""``sandbox backup`` / ``sandbox restore`` (issue 15): a candidate's work played and graded,
the installation backed up and restored into a fresh folder (a new database on PostgreSQL),
graded again: the same bytes. On SQLite and on PostgreSQL."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.kernel.settings import Settings
from sandbox.ops import backup as ops_backup
from tests.conftest import _database_url

SCENARIO = "luyen-ky-so-chuyen-van-thu"   # signing: the CA keys of the data folder matter
NAME = "ts-backup"


def _play(settings: Settings) -> None:
    """Build the candidate's sandbox and play the golden plan through the APIs (the way
    ``scripts/golden_grades.py`` does), then finish the automatic clerk's jobs."""
    from scenarios.library import load
    from sandbox.kernel import jobs
    from sandbox.runtime import Runtime
    from tests.scenarios import plans
    from tests.scenarios.harness import START, Candidate

    rt = Runtime.open(settings)
    try:
        loaded = load(SCENARIO)
        c = Candidate(rt, loaded, 7, NAME)
        plans.ApiExecutor(c).run(plans.plan(loaded, c.v, START.date(), "golden"))
        jobs.run_pending(rt)
    finally:
        rt.close()


def _cli(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, (result.output, result.stderr)
    return result


def _grade(data_dir: Path, url: str) -> str:
    return _cli("--data-dir", str(data_dir), "--database-url", url, "grade", NAME, "--json").stdout


def _pg_target(url: str) -> str:
    """A new database beside the test's, dropped first."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = f"{u.database}_restored"
    engine = create_engine(u, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
    return u.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def played(request, tmp_path):
    """(settings, the grade's JSON) of an installation with one played candidate."""
    url = _database_url(request.param, tmp_path)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    _play(settings)
    return request.param, settings, _grade(settings.data_dir, url)


def test_restore_grades_to_the_same_bytes(played, tmp_path):
    kind, settings, before = played
    report = json.loads(before)
    assert report["total"] > 0 and report["candidate"]
    assert _grade(settings.data_dir, settings.database_url) == before   # grading is deterministic

    archive = tmp_path / "backup" / "sandbox.tar.gz"
    out = _cli("--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
               "backup", "--out", str(archive)).stdout
    assert "Đã sao lưu vào" in out and "1 sandbox" in out
    assert archive.stat().st_mode & 0o777 == 0o600

    manifest = ops_backup.read_manifest(archive)
    assert manifest["format"] == "sandbox-backup" and manifest["database"]["kind"] == kind
    assert manifest["counts"]["tables"]["sandboxes"] == 1 and manifest["counts"]["tables"]["actions"] > 10
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert ops_backup.DB_MEMBER[kind] in names
    if manifest["blobs"] == "files":   # SQLite: blobs, secret and CA keys are files of the data folder
        assert manifest["counts"]["blobs"] == manifest["parts"]["blobs"]["files"] > 0
    else:                              # PostgreSQL: in the database (the folder is a cache, left out)
        assert manifest["counts"]["blobs"] == manifest["counts"]["tables"]["blobs"] > 0
        assert manifest["parts"]["blobs"]["files"] == 0
    if kind == "sqlite":
        assert manifest["parts"]["secret"]["files"] == 1 and manifest["parts"]["signing"]["files"] >= 3
        assert "files/secret.key" in names
    assert not any(n.startswith("files/logs/") or n.startswith("files/sandbox.db") for n in names)

    target = tmp_path / "restored"
    if kind == "sqlite":
        url = f"sqlite:///{target / 'sandbox.db'}"
        out = _cli("restore", str(archive), "--data-dir", str(target)).stdout
    else:
        url = _pg_target(settings.database_url)
        out = _cli("--data-dir", str(target), "--database-url", url, "restore", str(archive)).stdout
    assert "Đã khôi phục" in out
    for rel in ("secret.key", "signing/ca"):
        src = settings.data_dir / rel
        if src.is_file():
            assert (target / rel).read_bytes() == src.read_bytes()
        elif src.is_dir():
            assert sorted(p.name for p in (target / rel).iterdir()) == sorted(p.name for p in src.iterdir())

    after = _grade(target, url)
    assert after == before

    # the target now holds an installation: a second restore is refused without --force
    if kind == "sqlite":
        again = _cli("restore", str(archive), "--data-dir", str(target), ok=False)
    else:
        again = _cli("--data-dir", str(tmp_path / "third"), "--database-url", url, "restore", str(archive), ok=False)
    assert again.exit_code == 2 and "không trống" in again.stderr and "--force" in again.stderr
    if kind == "sqlite":
        forced = _cli("restore", str(archive), "--data-dir", str(target), "--force")
        assert "Đã khôi phục" in forced.stdout
        assert _grade(target, url) == before
    else:
        forced = _cli("--data-dir", str(tmp_path / "third"), "--database-url", url, "restore", str(archive), "--force")
        assert "Đã khôi phục" in forced.stdout
        assert _grade(tmp_path / "third", url) == before


def _rewrite(archive: Path, out: Path, change) -> None:
    """A copy of ``archive`` with ``change(name, data) -> data`` applied to every member."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()
            data = change(member.name, data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_restore_checks_the_manifest(tmp_path):
    url = _database_url("sqlite", tmp_path)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    from sandbox.runtime import Runtime
    from tests.factories import make_world

    rt = Runtime.open(settings)
    try:
        make_world(rt)
        rt.blobs.put(b"a blob of the installation")
    finally:
        rt.close()
    archive = tmp_path / "b.tar.gz"
    ops_backup.backup(settings, archive)

    blob = next(n for n in tarfile.open(archive).getnames() if n.startswith("files/blobs/"))
    broken = tmp_path / "broken.tar.gz"
    _rewrite(archive, broken, lambda name, data: b"changed" if name == blob else data)
    res = _cli("restore", str(broken), "--data-dir", str(tmp_path / "r1"), ok=False)
    assert res.exit_code == 2 and "bị hỏng" in res.stderr
    assert not (tmp_path / "r1" / "secret.key").exists()   # nothing installed

    secret_changed = tmp_path / "secret.tar.gz"
    _rewrite(archive, secret_changed, lambda name, data: b"other" if name == "files/secret.key" else data)
    res = _cli("restore", str(secret_changed), "--data-dir", str(tmp_path / "r2"), ok=False)
    assert res.exit_code == 2 and "khoá bí mật" in res.stderr

    res = _cli("restore", str(tmp_path / "missing.tar.gz"), "--data-dir", str(tmp_path / "r3"), ok=False)
    assert res.exit_code == 2 and "Không có tệp sao lưu" in res.stderr
    not_backup = tmp_path / "x.tar.gz"
    not_backup.write_bytes(b"not a tar")
    res = _cli("restore", str(not_backup), "--data-dir", str(tmp_path / "r4"), ok=False)
    assert res.exit_code == 2 and "không phải bản sao lưu" in res.stderr

    # a PostgreSQL target for a SQLite backup is refused before anything is written
    res = _cli("--data-dir", str(tmp_path / "r5"), "--database-url", "postgresql+psycopg://u@127.0.0.1:1/x",
               "restore", str(archive), ok=False)
    assert res.exit_code == 2 and "sqlite" in res.stderr and "postgresql" in res.stderr
    assert not (tmp_path / "r5" / "secret.key").exists()

    ok = _cli("restore", str(archive), "--data-dir", str(tmp_path / "r6"))
    assert "Đã khôi phục" in ok.stdout and (tmp_path / "r6" / "sandbox.db").is_file()


def test_backup_of_a_serving_sqlite_installation_is_consistent(tmp_path):
    """The online backup API copies one moment while another thread keeps writing."""
    import threading

    from sandbox.kernel.sandboxes import get_or_create_sandbox
    from sandbox.runtime import Runtime

    settings = Settings(data_dir=tmp_path / "data", database_url=_database_url("sqlite", tmp_path))
    rt = Runtime.open(settings)
    stop = threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            get_or_create_sandbox(rt.db, rt.clock, f"sb{i}")
            i += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        outcome = ops_backup.backup(settings, tmp_path / "live.tar.gz")
    finally:
        stop.set()
        thread.join()
        rt.close()
    restored = Settings(data_dir=tmp_path / "r")
    ops_backup.restore(tmp_path / "live.tar.gz", restored)   # checks every table's count
    assert outcome.manifest["counts"]["tables"]["sandboxes"] >= 0
