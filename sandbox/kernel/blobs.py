"""Content-addressed blob store: bytes in, SHA-256 hex out. Rows hold hashes, never payloads.

Two stores with one interface (``put``, ``get``, ``exists``, ``size``):

* :class:`BlobStore`: files under ``data-dir/blobs/ab/cdef…`` (one machine: SQLite's default);
* :class:`DatabaseBlobStore`: the ``blobs`` table of the installation's database (PostgreSQL's
  default: several machines with different data folders read the same blobs), with an optional
  read-through copy on the local disk (content-addressed, so a copy is never stale).

:func:`open_blob_store` picks one from the settings (``SANDBOX_BLOBS=database|files``). A
missing blob raises ``FileNotFoundError`` and a malformed digest ``ValueError`` in both.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import BigInteger, DateTime, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel import shared
from sandbox.kernel.db import Base, Database

_DIGEST = re.compile(r"[0-9a-f]{64}")


def _check(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a blob digest: {digest!r}")
    return digest


class Blob(Base):
    """One blob in the database (:class:`DatabaseBlobStore`)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BlobStore:
    """Files under ``root/ab/cdef...`` named by their SHA-256; writing the same bytes twice
    stores them once. Writes are atomic (temp file + rename), so a crash leaves no half blob."""

    kind = "files"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        _check(digest)
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def size(self, digest: str) -> int:
        return self._path(digest).stat().st_size


_BLOBS = Blob.__table__


class DatabaseBlobStore:
    """Blobs as rows of ``blobs`` (sha256, bytes, size, created). ``put`` is idempotent
    (``INSERT … ON CONFLICT DO NOTHING``). On PostgreSQL a put is committed at once on a
    connection of its own, also inside an action's write transaction, so the blob is there
    before the action that refers to it commits (an orphan left by an action that failed is
    harmless); on SQLite it joins this thread's open write transaction (one writer at a time),
    see :mod:`sandbox.kernel.shared`.

    ``cache``: a folder for a local read-through copy (a :class:`BlobStore`), or None."""

    kind = "database"

    def __init__(self, db: Database, cache: Path | None = None):
        self.db = db
        shared.track(db)
        self.cache = BlobStore(cache) if cache is not None else None

    def _cached(self, digest: str) -> bool:
        # on SQLite a copy is only made once the row is committed (outside a write transaction)
        return self.cache is not None and self.cache.exists(digest)

    def put(self, data: bytes) -> str:
        data = bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if self._cached(digest):
            return digest
        with shared.writing(self.db) as conn:
            shared.insert_ignore(conn, _BLOBS, {"sha256": digest, "data": data, "size": len(data),
                                                "created": datetime.now(timezone.utc)}, "sha256")
        return digest

    def get(self, digest: str) -> bytes:
        _check(digest)
        if self._cached(digest):
            return self.cache.get(digest)
        with shared.reading(self.db) as conn:
            data = conn.execute(select(_BLOBS.c.data).where(_BLOBS.c.sha256 == digest)).scalar()
            in_transaction = self.db.is_sqlite and shared.open_write_connection(self.db) is conn
        if data is None:
            raise FileNotFoundError(f"no blob {digest}")
        data = bytes(data)
        if self.cache is not None and not in_transaction:
            from . import storage

            with storage.best_effort(f"local copy of blob {digest[:12]}"):  # a full folder: read, not copied
                self.cache.put(data)
        return data

    def exists(self, digest: str) -> bool:
        _check(digest)
        if self._cached(digest):
            return True
        with shared.reading(self.db) as conn:
            return conn.execute(select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == digest)).first() is not None

    def size(self, digest: str) -> int:
        _check(digest)
        if self._cached(digest):
            return self.cache.size(digest)
        with shared.reading(self.db) as conn:
            size = conn.execute(select(_BLOBS.c.size).where(_BLOBS.c.sha256 == digest)).scalar()
        if size is None:
            raise FileNotFoundError(f"no blob {digest}")
        return int(size)


def blob_storage(settings, db: Database | None = None) -> str:
    """``database`` or ``files``: ``settings.blobs`` (``SANDBOX_BLOBS``), else the database's
    default (files on SQLite, the database on PostgreSQL)."""
    choice = (getattr(settings, "blobs", None) or "").strip().lower()
    if choice in ("database", "files"):
        return choice
    if choice:
        raise ValueError(f"SANDBOX_BLOBS must be 'database' or 'files', not {choice!r}")
    url = db.url if db is not None else settings.database_url
    return "files" if str(url).startswith("sqlite") else "database"


def open_blob_store(settings, db: Database) -> BlobStore | DatabaseBlobStore:
    """The installation's blob store (see :func:`blob_storage`); the database's store keeps
    a read-through copy in ``settings.blob_dir``."""
    shared.track(db)
    if blob_storage(settings, db) == "database":
        return DatabaseBlobStore(db, cache=settings.blob_dir)
    return BlobStore(settings.blob_dir)
