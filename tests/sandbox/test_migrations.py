"""Schema migrations (``sandbox/kernel/migrations``), on SQLite and PostgreSQL.

* A data folder at the baseline keeps every row through every migration of the code and a
  trial one (a column added with a default, and on SQLite the ``sandboxes`` table rebuilt by
  copy, the parent of nearly every table with ``ON DELETE CASCADE``). The baseline's rows are
  frozen in ``tests/data/migrations/baseline_rows.json`` (made once, at the baseline, by the
  factories of this suite: ``python -m tests.sandbox.test_migrations``; never remade after, it
  is what an old installation holds), so the test keeps proving it for every later migration.
* A schema newer than the code is refused at start, with the Vietnamese message (exit 2 in
  the CLI), and left untouched.
* A database made by ``create_all`` before migrations existed is adopted (stamped at the
  baseline, then upgraded).
* The models and the migrations agree (``compare_metadata`` is empty after upgrading to the
  head): the test that makes every schema change come with its migration.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Date, DateTime, LargeBinary, MetaData, create_engine, inspect, text

from sandbox.kernel import migrations
from sandbox.kernel.migrations import BASELINE, SchemaError, SchemaTooNew
from sandbox.kernel.settings import Settings
from sandbox.runtime import Runtime, register_models

from ..conftest import _database_url, cli_env

ROWS = Path(__file__).resolve().parents[1] / "data" / "migrations" / "baseline_rows.json"
UTC = dt.timezone.utc

TRIAL = '''"""A trial migration of the tests (not shipped)."""
from alembic import op
import sqlalchemy as sa

revision = "9001_trial"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    sqlite = op.get_context().dialect.name == "sqlite"
    # on SQLite, rebuilt by copy, drop and rename: the parent of almost every table
    with op.batch_alter_table("sandboxes", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("trial_note", sa.String(40), nullable=False, server_default="cũ"))
    with op.batch_alter_table("mail_accounts") as batch:
        batch.add_column(sa.Column("trial_flag", sa.Integer(), nullable=False, server_default="7"))


def downgrade():
    with op.batch_alter_table("mail_accounts") as batch:
        batch.drop_column("trial_flag")
    with op.batch_alter_table("sandboxes") as batch:
        batch.drop_column("trial_note")
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """An empty database of each kind (PostgreSQL: this worker's, reset)."""
    return _database_url(request.param, tmp_path)


def _settings(tmp_path: Path, url: str) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    settings.secret_key = "test-secret"
    return settings


def _trial_versions(tmp_path: Path) -> list[Path]:
    """Our versions folder plus one holding the trial revision on top of the code's head."""
    (head,) = migrations.heads()
    folder = tmp_path / "trial_versions"
    folder.mkdir(exist_ok=True)
    (folder / "9001_trial.py").write_text(TRIAL.format(down=head), encoding="utf-8")
    return [migrations.VERSIONS, folder]


# --- rows: frozen, loaded, compared ------------------------------------------------------------


def _plain(value, coltype):
    """A value as the JSON file keeps it (datetimes in UTC, ISO; bytes in base64)."""
    if value is None:
        return None
    if isinstance(coltype, DateTime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(coltype, Date):
        return value.isoformat()
    if isinstance(coltype, LargeBinary):
        return base64.b64encode(bytes(value)).decode()
    return value


def _typed(value, coltype):
    if value is None:
        return None
    if isinstance(coltype, DateTime):
        return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(coltype, Date):
        return dt.date.fromisoformat(value)
    if isinstance(coltype, LargeBinary):
        return base64.b64decode(value)
    return value


def _reflect(conn) -> MetaData:
    md = MetaData()
    md.reflect(conn)
    md.remove(md.tables["alembic_version"]) if "alembic_version" in md.tables else None
    return md


def snapshot(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, list[dict]]:
    """Every row of every table (``columns``: only these tables and columns), as plain values,
    ordered by primary key."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            md = _reflect(conn)
            out = {}
            for table in md.sorted_tables:
                if columns is not None and table.name not in columns:
                    continue
                cols = [c for c in table.columns if columns is None or c.name in columns[table.name]]
                order = list(table.primary_key.columns) or cols
                rows = conn.execute(table.select().with_only_columns(*cols).order_by(*order)).mappings()
                out[table.name] = [{c.name: _plain(r[c.name], c.type) for c in cols} for r in rows]
            return out
    finally:
        engine.dispose()


def load_rows(url: str, rows: dict[str, list[dict]]) -> None:
    """Insert the frozen rows into a database at the baseline (parents first), then move
    PostgreSQL's sequences past them."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            md = _reflect(conn)
            for table in md.sorted_tables:
                data = rows.get(table.name) or []
                if data:
                    conn.execute(table.insert(), [{k: _typed(v, table.c[k].type) for k, v in r.items()} for r in data])
            if conn.dialect.name == "postgresql":
                for table in md.sorted_tables:
                    if "id" in table.c and rows.get(table.name):
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                          f"(SELECT max(id) FROM {table.name}))"))
    finally:
        engine.dispose()


def baseline_rows() -> dict[str, list[dict]]:
    return json.loads(ROWS.read_text(encoding="utf-8"))


def data_folder_at_baseline(url: str) -> dict[str, list[dict]]:
    """A database at the baseline (made by the baseline migration) holding the frozen rows."""
    migrations.upgrade(url, target=BASELINE)
    assert migrations.status(url).current == (BASELINE,)
    rows = baseline_rows()
    load_rows(url, rows)
    return rows


def _columns(rows: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {t: list(rs[0]) for t, rs in rows.items() if rs}


# --- the tests ---------------------------------------------------------------------------------


def test_frozen_rows_cover_the_main_tables():
    rows = baseline_rows()
    for table in ("sandboxes", "actions", "mail_accounts", "mail_items", "mail_message_data", "contests",
                  "contest_candidates", "contest_parts", "docflow_outgoing", "signing_tokens", "scenario_instances"):
        assert rows.get(table), f"no {table} rows in {ROWS.name}"
    assert set(rows) <= set(migrations.script_directory().get_revision(BASELINE).module.TABLES)


def test_baseline_data_folder_upgrades_at_start_with_every_row_kept(url, tmp_path, caplog):
    rows = data_folder_at_baseline(url)
    versions = _trial_versions(tmp_path)
    md = register_models()
    assert migrations.status(url, md, version_locations=versions).kind == "behind"

    with caplog.at_level(logging.INFO, logger="sandbox.kernel.migrations"):
        from sandbox.kernel.db import Database
        db = Database(url)
        try:
            st = db.prepare_schema(md, version_locations=versions)  # what Runtime.open does at start
        finally:
            db.dispose()
    assert st.kind == "current" and st.current == ("9001_trial",)
    assert any("upgrading the database schema from 0001_baseline" in r.getMessage() for r in caplog.records)

    assert snapshot(url, _columns(rows)) == rows  # every row, every value
    after = snapshot(url, {"sandboxes": ["id", "trial_note"], "mail_accounts": ["id", "trial_flag"]})
    assert [r["trial_note"] for r in after["sandboxes"]] == ["cũ"] * len(rows["sandboxes"])
    assert [r["trial_flag"] for r in after["mail_accounts"]] == [7] * len(rows["mail_accounts"])
    # the rows still make sense to the code: each sandbox's hash chain recomputes
    engine = create_engine(url)
    try:
        from sqlalchemy.orm import Session

        from sandbox.kernel.actions import verify_chain
        with Session(engine) as s:
            for sb in rows["sandboxes"]:
                assert verify_chain(s, sb["id"]) == (True, None), sb["name"]
    finally:
        engine.dispose()


def test_rows_made_at_the_head_survive_the_trial_migration(url, tmp_path):
    """The same, for rows the factories make today at the head (tables added after the
    baseline included)."""
    from ..contest.results_factory import add_candidates, add_units, make_contest
    from ..factories import make_message, make_world
    from mailserver import api as mail_api

    rt = Runtime.open(_settings(tmp_path, url))
    try:
        world = make_world(rt)
        lanhdao, vanthu = world["lanhdao"], world["vanthu"]
        mail_api.submit(rt.dispatcher, rt.blobs, lanhdao, make_message(lanhdao.address, [vanthu.address]),
                        [vanthu.address], via="webmail")
        contest = make_contest(rt)
        units = add_units(rt, contest, [("Sở Nội vụ", "so")])
        add_candidates(rt, contest, units, [("TS001", "Nguyễn Văn A", "Sở Nội vụ", {"Lý thuyết": 50}, None)])
    finally:
        rt.close()
    before = {t: rs for t, rs in snapshot(url).items() if rs}
    assert before["actions"] and before["mail_items"] and before["contest_candidates"]

    migrations.upgrade(url, register_models(), version_locations=_trial_versions(tmp_path))
    assert snapshot(url, _columns(before)) == before


def test_schema_newer_than_the_code_is_refused_and_left_alone(url, tmp_path):
    migrations.upgrade(url, version_locations=_trial_versions(tmp_path))  # upgraded by a "newer version"
    settings = _settings(tmp_path, url)
    with pytest.raises(SchemaTooNew) as e:
        Runtime.open(settings)
    assert "phiên bản mới hơn của chương trình" in e.value.message_vi
    assert "9001_trial" in e.value.message_vi and "newer than this code" in e.value.detail
    with pytest.raises(SchemaTooNew):
        migrations.upgrade(url)  # `sandbox db upgrade` refuses too
    assert migrations.status(url).current == ("9001_trial",)
    assert migrations.status(url).kind == "ahead"

    if url.startswith("sqlite"):  # the CLI: the message and exit 2 (one run is enough)
        env = cli_env(settings.data_dir) | {"SANDBOX_DATABASE_URL": url}
        proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "jobs", "run"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Lỗi: Cơ sở dữ liệu đã được nâng cấp bởi một phiên bản mới hơn" in proc.stderr
        proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "db", "current"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "MỚI HƠN" in proc.stdout, proc.stdout + proc.stderr


def test_pre_migration_database_is_adopted(url, tmp_path, caplog):
    """A database made by ``create_all`` before migrations existed: the baseline's tables and
    no ``alembic_version`` (made here by the baseline migration with its version table
    dropped: the same schema, as the last test shows for ``create_all``)."""
    rows = data_folder_at_baseline(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    assert migrations.status(url, register_models()).kind == "premigration"

    with caplog.at_level(logging.INFO, logger="sandbox.kernel.migrations"):
        rt = Runtime.open(_settings(tmp_path, url))
        rt.close()
    assert any("adopting a pre-migration database" in r.getMessage() for r in caplog.records)
    st = migrations.status(url, register_models())
    assert st.kind == "current" and st.current == migrations.heads()
    assert snapshot(url, _columns(rows)) == rows


def test_create_all_database_of_today_is_adopted_without_change(url, tmp_path):
    """``Database.create_all`` (the start-up before migrations) makes what the migrations make:
    adopted, it compares clean with the models. True of the models at the baseline only: after
    the first migration, ``create_all`` makes the head's schema, which no pre-migration
    installation has."""
    from sandbox.kernel.db import Database

    if migrations.heads() != (BASELINE,):
        pytest.skip("create_all of today's models is the baseline only until the first migration")
    md = register_models()
    db = Database(url)
    db.create_all()
    db.dispose()
    rt = Runtime.open(_settings(tmp_path, url))
    rt.close()
    assert migrations.status(url, md).kind == "current"
    assert migrations.compare(url, md) == []


def test_pre_migration_database_lacking_baseline_tables_is_refused(url, tmp_path):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE sandboxes (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(SchemaError) as e:
        Runtime.open(_settings(tmp_path, url))
    assert "thiếu bảng" in e.value.message_vi and "mail_accounts" in e.value.detail


def test_models_and_migrations_agree(url, tmp_path):
    """THE test that makes every schema change come with a migration: a fresh database made by
    the migrations (by two processes' worth of threads starting at once, as gunicorn workers
    do) and the models of the code must not differ at all (Alembic's ``compare_metadata``,
    types and server defaults included). A model changed without a migration fails here; write
    it with ``alembic revision --autogenerate`` (docs/architecture.md, "Migrations")."""
    md = register_models()
    errors = []

    def start():
        try:
            migrations.prepare(url, md)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrations.status(url, md).current == migrations.heads()
    diff = migrations.compare(url, md)
    assert diff == [], "the models and the migrations differ (add a migration):\n" + "\n".join(map(repr, diff))
    assert set(inspect(create_engine(url)).get_table_names()) == set(md.tables) | {"alembic_version"}


# --- making the frozen rows (once, at the baseline) ---------------------------------------------


def _make_baseline_rows(out: Path) -> None:
    import tempfile

    from mailserver import api as mail_api

    from ..contest.portal_factory import make_portal_world
    from ..contest.results_factory import add_candidates, add_units, make_contest
    from ..factories import make_message, make_world

    assert migrations.heads() == (BASELINE,), "the frozen rows are made at the baseline only"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sandbox.db"
        rt = Runtime.open(_settings(Path(tmp), url))
        try:
            world = make_world(rt)
            lanhdao, vanthu = world["lanhdao"], world["vanthu"]
            mail_api.submit(rt.dispatcher, rt.blobs, lanhdao,
                            make_message(lanhdao.address, [vanthu.address], subject="Báo cáo tháng 6"),
                            [vanthu.address], via="webmail")
            contest = make_contest(rt)
            units = add_units(rt, contest, [("Sở Nội vụ", "so"), ("UBND quận Ninh Kiều", "huyen")])
            add_candidates(rt, contest, units, [
                ("TS001", "Nguyễn Văn A", "Sở Nội vụ", {"Lý thuyết": 50, "Thực hành": 30}, None),
                ("TS002", "Trần Thị B", "UBND quận Ninh Kiều", None, "ốm"),
            ])
            make_portal_world(rt, code="cds2024", n=1, questions=5, scenario="luyen-ky-so-chuyen-van-thu")
        finally:
            rt.close()
        rows = snapshot(url)
    rows = {t: rs for t, rs in rows.items() if rs}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{out}: {sum(map(len, rows.values()))} rows in {len(rows)} tables")


if __name__ == "__main__":
    _make_baseline_rows(ROWS)
