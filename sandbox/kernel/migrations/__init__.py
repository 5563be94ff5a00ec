"""Schema migrations (Alembic), applied by the program itself: no ``alembic.ini`` at run time.

The revisions are in ``versions/`` beside this file (they ship in the wheel); ``env.py`` is
Alembic's, used both here and by a developer's ``alembic`` command (``alembic.ini`` at the
top of the repository). The kernel imports nothing of ours outside itself, so the tables of
every package come in as ``metadata`` from the composition (``sandbox.runtime.register_models``);
the migrations themselves need no metadata (each revision is explicit ``op`` calls): it is
only there for autogenerate and for ``compare`` below.

The rule at start (``prepare``, called by ``Runtime.open`` through ``Database.prepare_schema``):

* one quick read of ``alembic_version`` against the head of ``versions/`` (no comparison of
  the whole schema);
* at the head: nothing to do;
* behind: upgraded at once, with a log line;
* no ``alembic_version`` and no table of ours: a fresh database, made by the migrations and
  stamped;
* no ``alembic_version`` but our tables there: a database made by ``create_all`` before
  migrations existed (the baseline's schema): adopted, i.e. stamped at the baseline (and then
  upgraded like any database behind);
* a revision the code does not know: made by a newer version of the program; refused
  (``SchemaTooNew``), never touched.

The work is done under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL)
and the state is read again inside it, so processes starting together (web workers, the job
worker) upgrade once. On SQLite the migration runs with ``PRAGMA foreign_keys=OFF`` (batch
mode rebuilds a table by copy, drop and rename; with foreign keys on, the drop would cascade
into the rows that refer to it) and ``PRAGMA foreign_key_check`` must be clean before commit.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from sandbox.kernel.errors import SandboxError

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions"
#: The first revision: the schema as ``create_all`` made it before migrations existed.
BASELINE = "0001_baseline"
#: PostgreSQL advisory lock key held while migrating (any fixed 64-bit number).
LOCK_KEY = 0x5A4D_4947  # "ZMIG"

log = logging.getLogger(__name__)


class SchemaError(SandboxError):
    status = 500


class SchemaTooNew(SchemaError):
    """The database was upgraded by a newer version of the program than this one."""


@dataclass(frozen=True)
class Status:
    """Where a database stands: ``kind`` is ``current``, ``behind``, ``fresh`` (no table of
    ours), ``premigration`` (our tables, no ``alembic_version``) or ``ahead`` (a revision
    the code does not know)."""

    kind: str
    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.kind == "current"


# --- configuration ---------------------------------------------------------------------------


def _locations(version_locations: Sequence[str | Path] | None) -> tuple[str, ...]:
    return tuple(str(p) for p in (version_locations or (VERSIONS,)))


def alembic_config(metadata: MetaData | None = None, *, connection: Connection | None = None,
                   version_locations: Sequence[str | Path] | None = None, url: str | None = None):
    """An Alembic ``Config`` built in code: our ``env.py`` and ``versions/`` (or the given
    version folders, e.g. ours plus a test's), the metadata and the connection to use."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(_locations(version_locations)))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["metadata"] = metadata
    cfg.attributes["connection"] = connection
    return cfg


_SCRIPTS: dict[tuple[str, ...], object] = {}


def script_directory(version_locations: Sequence[str | Path] | None = None):
    """The revisions (read once per process and set of folders)."""
    from alembic.script import ScriptDirectory

    key = _locations(version_locations)
    if key not in _SCRIPTS:
        _SCRIPTS[key] = ScriptDirectory.from_config(alembic_config(version_locations=key))
    return _SCRIPTS[key]


def heads(version_locations: Sequence[str | Path] | None = None) -> tuple[str, ...]:
    return tuple(sorted(script_directory(version_locations).get_heads()))


def migration_engine(url: str) -> Engine:
    """A one-connection engine for migrating: on SQLite, foreign keys off (set before any
    transaction: the pragma is a no-op inside one), WAL, and writes that begin with
    ``BEGIN IMMEDIATE`` (the lock that serialises processes starting together)."""
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    engine = create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# --- reading the state -----------------------------------------------------------------------


def _status(conn: Connection, metadata: MetaData | None, version_locations) -> Status:
    from alembic.util import CommandError

    script = script_directory(version_locations)
    want = heads(version_locations)
    inspector = inspect(conn)
    current: tuple[str, ...] = ()
    if inspector.has_table("alembic_version"):  # read directly: no Alembic context (quiet, quick)
        current = tuple(sorted(r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))))
    if not current:
        ours = set(metadata.tables) if metadata is not None else {"sandboxes"}
        found = set(inspector.get_table_names()) & (ours | {"sandboxes"})
        return Status("premigration" if found else "fresh", current, want)
    for rev in current:
        try:
            known = script.get_revision(rev) is not None
        except CommandError:
            known = False
        if not known:
            return Status("ahead", current, want)
    return Status("current" if current == want else "behind", current, want)


def status(url: str, metadata: MetaData | None = None, *,
           version_locations: Sequence[str | Path] | None = None) -> Status:
    engine = migration_engine(url)
    try:
        with engine.connect() as conn:
            return _status(conn, metadata, version_locations)
    finally:
        engine.dispose()


def too_new(st: Status) -> SchemaTooNew:
    return SchemaTooNew(
        "Cơ sở dữ liệu đã được nâng cấp bởi một phiên bản mới hơn của chương trình "
        f"(phiên bản lược đồ {', '.join(st.current)}; chương trình này chỉ biết đến {', '.join(st.heads)}). "
        "Hãy cài phiên bản mới hơn của chương trình; không chạy tiếp để tránh hỏng dữ liệu.",
        f"database schema revision {', '.join(st.current)} is newer than this code's head "
        f"{', '.join(st.heads)}: refusing to start (install the newer version)")


# --- changing it -----------------------------------------------------------------------------


def _baseline_tables(version_locations) -> set[str]:
    rev = script_directory(version_locations).get_revision(BASELINE)
    return set(getattr(rev.module, "TABLES", ()))


def _run(url: str, metadata: MetaData | None, version_locations, target: str | None,
         action) -> tuple[Status, Status]:
    """Under the lock, read the state again and apply ``action(conn, cfg, status)``;
    returns the states before and after."""
    engine = migration_engine(url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
                before = _status(conn, metadata, version_locations)
                cfg = alembic_config(metadata, connection=conn, version_locations=version_locations)
                action(conn, cfg, before)
                if conn.dialect.name == "sqlite":
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise SchemaError("Nâng cấp cơ sở dữ liệu làm hỏng liên kết giữa các bảng; đã huỷ.",
                                          f"foreign_key_check after migrating: {bad[:10]}")
                after = _status(conn, metadata, version_locations)
            return before, after
    finally:
        engine.dispose()


def _adopt(conn: Connection, cfg, st: Status, version_locations) -> None:
    from alembic import command

    missing = sorted(_baseline_tables(version_locations) - set(inspect(conn).get_table_names()))
    if missing:
        raise SchemaError(
            "Cơ sở dữ liệu được tạo bởi một phiên bản quá cũ (trước khi có di trú lược đồ) và thiếu bảng; "
            "không thể nâng cấp tự động. Hãy tạo lại thư mục dữ liệu.",
            f"pre-migration database lacks baseline tables {missing}: cannot adopt it at {BASELINE}")
    _add_baseline_nullable_columns(conn, cfg.attributes.get("metadata"), version_locations)
    log.warning("adopting a pre-migration database: stamped at the baseline %s", BASELINE)
    command.stamp(cfg, BASELINE)


def _baseline_columns(version_locations) -> dict[str, set[str]]:
    """Every baseline table's column names, from the baseline revision itself (run on a
    scratch in-memory SQLite database and read back)."""
    from alembic import command

    engine = create_engine("sqlite://", poolclass=NullPool)
    try:
        with engine.begin() as scratch:
            command.upgrade(alembic_config(connection=scratch, version_locations=version_locations), BASELINE)
            inspector = inspect(scratch)
            return {t: {c["name"] for c in inspector.get_columns(t)}
                    for t in inspector.get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


def _add_baseline_nullable_columns(conn: Connection, metadata: MetaData | None, version_locations) -> None:
    """A database made by ``create_all`` before migrations may predate a nullable column the
    baseline has (``create_all`` added those in place at start: e.g. ``actions.state_digest``,
    issue 12). Adoption adds them the same way, ``ALTER TABLE … ADD COLUMN`` (old rows get
    NULL), before stamping, so the stamp tells the truth. Only columns of the baseline, typed
    from the models (``metadata``); none when no metadata is given."""
    if metadata is None:
        return
    baseline = _baseline_columns(version_locations)
    inspector = inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    for name, wanted in sorted(baseline.items()):
        table = metadata.tables.get(name)
        if table is None or not inspector.has_table(name):
            continue
        have = {c["name"] for c in inspector.get_columns(name)}
        for col in table.columns:
            if col.name not in wanted or col.name in have or not col.nullable or col.primary_key \
                    or col.server_default is not None:
                continue
            log.warning("adopting a pre-migration database: adding the nullable column %s.%s", name, col.name)
            conn.exec_driver_sql(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(col.name)} "
                                 f"{col.type.compile(dialect=conn.dialect)}")


def upgrade(url: str, metadata: MetaData | None = None, *, target: str = "heads",
            version_locations: Sequence[str | Path] | None = None) -> tuple[Status, Status]:
    """Apply the pending migrations (``sandbox db upgrade``): a fresh database is made, a
    pre-migration one adopted first; a newer one refused. Returns the states before/after."""
    from alembic import command

    def act(conn, cfg, st):
        if st.kind == "ahead":
            raise too_new(st)
        if st.kind == "premigration":
            _adopt(conn, cfg, st, version_locations)
        if st.kind == "behind":
            log.warning("upgrading the database schema from %s to %s", ", ".join(st.current), target)
        elif st.kind == "fresh":
            log.info("creating the database schema (migrations up to %s)", target)
        command.upgrade(cfg, target)

    return _run(url, metadata, version_locations, target, act)


def stamp(url: str, revision: str, *, version_locations: Sequence[str | Path] | None = None) -> None:
    from alembic import command

    _run(url, None, version_locations, revision, lambda conn, cfg, st: command.stamp(cfg, revision, purge=True))


def prepare(url: str, metadata: MetaData | None = None, *,
            version_locations: Sequence[str | Path] | None = None) -> Status:
    """The rule at start (module docstring): one quick look, and work only when needed."""
    st = status(url, metadata, version_locations=version_locations)
    if st.kind == "current":
        return st
    if st.kind == "ahead":
        raise too_new(st)
    return upgrade(url, metadata, version_locations=version_locations)[1]


def compare(url: str, metadata: MetaData) -> list:
    """Alembic's autogenerate differences between the database and the models: empty when
    the migrations make exactly the schema the code declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = migration_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "render_as_batch": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def describe(st: Status) -> str:
    words = {"current": "up to date", "behind": "behind: `sandbox db upgrade` (or any start) upgrades it",
             "fresh": "empty: no schema yet", "premigration": "made before migrations: adopted at the next start",
             "ahead": "NEWER than this code: the program refuses to start"}
    return f"{', '.join(st.current) or '(none)'} (head {', '.join(st.heads)}): {words[st.kind]}"


__all__: Iterable[str] = ["BASELINE", "VERSIONS", "SchemaError", "SchemaTooNew", "Status", "alembic_config",
                          "compare", "describe", "heads", "prepare", "script_directory", "stamp", "status",
                          "upgrade"]
