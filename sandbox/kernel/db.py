"""SQLAlchemy 2.0 engine and sessions for SQLite (default, WAL) or PostgreSQL.

Reads use ordinary sessions. Every write goes through ``Database.write()``; on SQLite that
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of
failing when a read lock cannot be upgraded.

``Database.batch()`` runs many writes (and the reads between them) of this thread in ONE
transaction: building a sandbox from a scenario is some fifty actions, each still logged as
its own entry, committed together (all or nothing) instead of fifty times.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60},
                           pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sandbox_write") else "BEGIN")

    return engine


class Database:
    """One engine and two session factories (read, write) for a database URL."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(sandbox_write=True), expire_on_commit=False)
        self._local = threading.local()

    def prepare_schema(self, metadata=None, version_locations=None):
        """Bring the schema to the code's head with the migrations (``sandbox.kernel.migrations``):
        a fresh database is made and stamped, a pre-migration one (``create_all`` at the
        baseline) adopted, one behind upgraded; one newer than the code raises
        ``SchemaTooNew``. One quick read of ``alembic_version`` when nothing is to do.
        ``metadata``: every package's tables, passed in by the composition (the kernel
        imports none of them)."""
        from sandbox.kernel import migrations

        return migrations.prepare(self.url, metadata, version_locations=version_locations)

    def create_all(self) -> None:
        """Before migrations (issue 15) the start-up: create the tables of every model imported
        so far and add the nullable columns that tables made by an older version lack. Kept for
        the tests that make a pre-migration database; the program uses ``prepare_schema``."""
        from sqlalchemy import inspect as sa_inspect

        existing = set(sa_inspect(self.engine).get_table_names())
        Base.metadata.create_all(self.engine)
        self._add_nullable_columns([t for t in Base.metadata.sorted_tables if t.name in existing])

    def _add_nullable_columns(self, tables) -> None:
        """The one schema change made in place: a nullable column added to a model (e.g.
        ``actions.state_digest``) is added to the existing table with ``ALTER TABLE … ADD
        COLUMN`` (rows already there get NULL). Any other change still needs a fresh data
        folder (docs/architecture.md, "Schema changes")."""
        from sqlalchemy import inspect as sa_inspect
        from sqlalchemy.exc import DBAPIError

        inspector = sa_inspect(self.engine)
        quote = self.engine.dialect.identifier_preparer.quote
        for table in tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for col in table.columns:
                if col.name in have or not col.nullable or col.primary_key or col.server_default is not None:
                    continue
                ddl = (f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(col.name)} "
                       f"{col.type.compile(dialect=self.engine.dialect)}")
                try:
                    with self.engine.begin() as conn:
                        conn.exec_driver_sql(ddl)
                except DBAPIError:  # another process added it first
                    if col.name not in {c["name"] for c in sa_inspect(self.engine).get_columns(table.name)}:
                        raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        batch = getattr(self._local, "batch", None)
        if batch is not None:  # inside batch(): see this thread's own uncommitted writes
            yield batch
            return
        session = self._read()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable, detached

    @contextmanager
    def write(self) -> Iterator[Session]:
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            yield batch
            return
        if self._write_lock is None:
            with self._write.begin() as session:
                yield session
            return
        # SQLite has one writer at a time anyway; queueing writers of this process on a lock
        # hands the database over at once, where SQLite's busy handler would sleep and retry
        # (measured: p99 of 10 SMTP clients fell from 2.2 s to well under 100 ms).
        with self._write_lock, self._write.begin() as session:
            yield session

    def in_batch(self) -> bool:
        return getattr(self._local, "batch", None) is not None

    def after_commit(self, fns) -> None:
        """Run ``fns`` now, or when the current batch has committed."""
        if self.in_batch():
            self._local.after.extend(fns)
        else:
            for fn in fns:
                fn()

    @contextmanager
    def batch(self) -> Iterator[list]:
        """One transaction for every write and read of this thread inside the block; yields
        the list of callbacks to run once it has committed (the dispatcher's after-commit
        work is deferred there). All or nothing: an exception rolls everything back, so do
        not catch a refused action inside a batch and go on."""
        if self.in_batch():
            yield self._local.after
            return
        after: list = []
        with self.write() as session:
            self._local.batch, self._local.after = session, after
            try:
                yield after
                session.flush()
            finally:
                self._local.batch = self._local.after = None
        for fn in after:
            fn()

    def dispose(self) -> None:
        self.engine.dispose()
