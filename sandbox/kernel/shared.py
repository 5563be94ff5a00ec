"""State that every process of an installation shares through its database (issue 15): small
named files (``shared_files``: the installation secret, the test CA's keys and revocations)
and the connection rules the database-backed blob store and the login throttle share.

With PostgreSQL, several machines with different data folders serve one installation, so
nothing a request needs may live only on one machine's disk. A shared file is created once,
race-safe (``INSERT … ON CONFLICT DO NOTHING``, then read back: the first writer wins), and
never changed afterwards.

Connections (:func:`writing`): on PostgreSQL these small writes use a connection of their own,
committed at once, even inside an action's write transaction (what they store is named by
its content or created once, so a row left by an action that then failed is harmless; a row
missing when the action that refers to it commits is not). On SQLite one process writes at a
time and a second connection would wait for the action's own write lock, so a write inside
this thread's open write transaction joins that transaction (committed or rolled back with
it); outside one it is a write transaction of its own (``Database.write``).
"""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from sqlalchemy import DateTime, LargeBinary, String, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base, Database


class SharedFile(Base):
    """A named file every process of the installation reads the same (created once)."""

    __tablename__ = "shared_files"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- this thread's open write transaction, per database (SQLite) -----------------------------

_TRACKED: "weakref.WeakKeyDictionary[object, threading.local]" = weakref.WeakKeyDictionary()
_TRACK_LOCK = threading.Lock()


def _tracker(db: Database) -> threading.local:
    """Thread-local stack of the write connections open on ``db``'s engine (its write
    sessions begin with ``sandbox_write`` set, see ``sandbox.kernel.db``)."""
    engine = db.engine
    with _TRACK_LOCK:
        local = _TRACKED.get(engine)
        if local is None:
            local = _TRACKED[engine] = threading.local()

            def begin(conn):
                if conn.get_execution_options().get("sandbox_write"):
                    stack = getattr(local, "stack", None)
                    if stack is None:
                        stack = local.stack = []
                    stack.append(conn)

            def end(conn):
                stack = getattr(local, "stack", None)
                if stack and conn in stack:
                    stack.remove(conn)

            event.listen(engine, "begin", begin)
            event.listen(engine, "commit", end)
            event.listen(engine, "rollback", end)
        return local


def track(db: Database) -> None:
    """Start following ``db``'s write transactions (call once, before the first one)."""
    _tracker(db)


def open_write_connection(db: Database) -> Connection | None:
    """The connection of this thread's open write transaction on ``db`` (SQLite), or None."""
    batch = getattr(db._local, "batch", None)
    if batch is not None:  # inside Database.batch(): its session, connected now if not yet
        return batch.connection()
    stack = getattr(_tracker(db), "stack", None)
    if stack:
        conn = stack[-1]
        if conn.in_transaction():
            return conn
    return None


@contextmanager
def writing(db: Database) -> Iterator[Connection]:
    """A connection to write one small shared row (see the module's docstring)."""
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            yield conn
        return
    conn = open_write_connection(db)
    if conn is not None:
        yield conn
        return
    with db.write() as session:
        yield session.connection()


@contextmanager
def reading(db: Database) -> Iterator[Connection]:
    """A connection to read shared rows: on SQLite inside this thread's write transaction,
    that transaction's (it sees what the transaction wrote); otherwise a read of its own."""
    if db.is_sqlite:
        conn = open_write_connection(db)
        if conn is not None:
            yield conn
            return
    with db.engine.connect() as conn:
        yield conn
        if conn.in_transaction():
            conn.rollback()


def insert_ignore(conn: Connection, table, rows: list[dict] | dict, key: str | list[str]) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite."""
    keys = [key] if isinstance(key, str) else list(key)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).on_conflict_do_nothing(index_elements=keys), rows)


# --- shared files ---------------------------------------------------------------------------

_FILES = SharedFile.__table__


def read_file(db: Database, name: str) -> bytes | None:
    with reading(db) as conn:
        return conn.execute(select(_FILES.c.data).where(_FILES.c.name == name)).scalar()


def get_or_create(db: Database, name: str, make: Callable[[], bytes], *, now: datetime | None = None) -> bytes:
    """The file ``name``; made by ``make()`` and stored when missing. Two processes racing keep
    the first writer's bytes, and both return those."""
    found = read_file(db, name)
    if found is not None:
        return bytes(found)
    data = make()
    with writing(db) as conn:
        insert_ignore(conn, _FILES, {"name": name, "data": data, "created": now or datetime.now(timezone.utc)}, "name")
    found = read_file(db, name)
    return bytes(found) if found is not None else data


def put_if_absent(db: Database, name: str, data: bytes, *, now: datetime | None = None) -> None:
    with writing(db) as conn:
        insert_ignore(conn, _FILES, {"name": name, "data": data, "created": now or datetime.now(timezone.utc)}, "name")


def files_under(db: Database, prefix: str) -> dict[str, bytes]:
    """Every shared file whose name starts with ``prefix``."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with reading(db) as conn:
        rows = conn.execute(select(_FILES.c.name, _FILES.c.data)
                            .where(_FILES.c.name.like(escaped + "%", escape="\\"))).all()
    return {name: bytes(data) for name, data in rows}
