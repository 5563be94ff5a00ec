"""The test PKI of one installation (data folder): the same root, issuing CA and TSA in every
process that opens it (``sandbox serve``, the CLI, a scenario build, the grader).

:class:`~signing.pki.TestPKI` takes its keys from an in-memory pool, so two processes would
build two different roots. :func:`pki_for` keeps the three CA keys (root, issuing CA, TSA) as
PEM files under ``<data_dir>/signing/ca/`` (created on first use, mode 0600) and builds the
hierarchy from them; certificates are deterministic for given keys, so every process gets
byte-identical CA certificates. End-entity keys come from the process pool as before (a
person's key lives on their token, encrypted with the PIN).

::

    pki = pki_for(runtime)                 # one TestPKI per data folder, cached
    tsa = pki.timestamper()                # PAdES B-T, in process
    ctx = pki.validation_context           # a factory for verify_pdf

Revocations (``pki.revoke``, e.g. a scenario's revoked certificate) are kept in
``<data_dir>/signing/ca/revoked.json`` so the grader, the CLI and every server process list
them in their CRLs.

With PostgreSQL (several machines, each with its own data folder, on one database) the keys
and the revocations live in the database instead (the kernel's ``shared_files``: one row per
CA key, ``signing/ca/<name>.pem``, created once, the first writer winning; one row per
revoked serial, ``signing/ca/revoked/<serial>``), so every process of every machine issues
and verifies with the same CA and lists the same revocations (:class:`DatabaseKeyPool`,
:class:`DatabasePKI`). A data folder's existing CA files are what is stored first.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import weakref
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sandbox.kernel import shared

from .pki import DEFAULT_POOL, KeyPool, TestPKI

__all__ = ["pki_for", "FileKeyPool", "InstallationPKI", "DatabaseKeyPool", "DatabasePKI"]

_CA_PREFIXES = ("root:", "ca:", "tsa:")
_CACHE: dict[str, TestPKI] = {}
#: one PKI per Database object (a test's fresh database must not get an older one's keys)
_DB_CACHE: "weakref.WeakKeyDictionary[object, TestPKI]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
#: the names under which the database keeps the CA's files
DB_PREFIX = "signing/ca/"
DB_REVOKED = DB_PREFIX + "revoked/"


def _key_file_name(label: str, key_type) -> str:
    return hashlib.sha256(f"{key_type}|{label}".encode()).hexdigest()[:24] + ".pem"


class FileKeyPool(KeyPool):
    """CA keys (labels ``root:``, ``ca:``, ``tsa:``) kept as PEM files in ``folder``; every
    other label is served by ``fallback`` (the process pool)."""

    def __init__(self, folder: Path, fallback: KeyPool = DEFAULT_POOL) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.fallback = fallback

    def __bool__(self) -> bool:  # TestPKI does ``pool or DEFAULT_POOL``; never look empty
        return True

    def get(self, label: str, key_type="rsa2048"):
        if not label.startswith(_CA_PREFIXES):
            return self.fallback.get(label, key_type)
        path = self.folder / _key_file_name(label, key_type)
        with self._lock:
            if path.is_file():
                return serialization.load_pem_private_key(path.read_bytes(), password=None)
            key = self.generate(key_type)
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
            try:
                os.link(tmp, path)  # first writer wins when processes race
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
            return serialization.load_pem_private_key(path.read_bytes(), password=None)


class InstallationPKI(TestPKI):
    """A TestPKI whose revocations persist in ``revoked.json`` next to the CA keys."""

    def __init__(self, folder: Path) -> None:
        super().__init__(pool=FileKeyPool(folder))
        self.folder = Path(folder)
        self._load_revoked()

    @property
    def _revoked_file(self) -> Path:
        return self.folder / "revoked.json"

    def _load_revoked(self) -> None:
        try:
            rows = json.loads(self._revoked_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        for serial, when in rows.items():
            self._revoked.setdefault(int(serial), (dt.datetime.fromisoformat(when), None))

    def revoke(self, cert_or_serial, **kw) -> int:
        serial = super().revoke(cert_or_serial, **kw)
        with _LOCK:
            rows = {}
            if self._revoked_file.is_file():
                rows = json.loads(self._revoked_file.read_text(encoding="utf-8"))
            rows[str(serial)] = self._revoked[serial][0].isoformat()
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._revoked_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(rows, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._revoked_file)
        return serial

    def crl(self, **kw):
        self._load_revoked()  # another process may have revoked since
        return super().crl(**kw)


class DatabaseKeyPool(KeyPool):
    """CA keys (labels ``root:``, ``ca:``, ``tsa:``) kept as PEM in the installation's database
    (``shared_files``, ``signing/ca/<name>.pem``): made by the first process that needs one,
    every other process of every machine reading the same. ``seed_folder``: a data folder's
    CA files, stored when the database has none yet (an installation keeps its root). Every
    other label is served by ``fallback`` (the process pool)."""

    def __init__(self, db, fallback: KeyPool = DEFAULT_POOL, seed_folder: Path | None = None) -> None:
        super().__init__()
        self.db = db
        shared.track(db)
        self.fallback = fallback
        self.seed_folder = Path(seed_folder) if seed_folder is not None else None

    def __bool__(self) -> bool:
        return True

    def get(self, label: str, key_type="rsa2048"):
        if not label.startswith(_CA_PREFIXES):
            return self.fallback.get(label, key_type)
        name = _key_file_name(label, key_type)

        def make() -> bytes:
            if self.seed_folder is not None and (self.seed_folder / name).is_file():
                return (self.seed_folder / name).read_bytes()
            return self.generate(key_type).private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())

        with self._lock:
            pem = shared.get_or_create(self.db, DB_PREFIX + name, make)
        return serialization.load_pem_private_key(pem, password=None)


class DatabasePKI(TestPKI):
    """A TestPKI whose CA keys and revocations live in the installation's database, read
    afresh by every CRL (another process, on another machine, may have revoked since)."""

    def __init__(self, db, seed_folder: Path | None = None) -> None:
        self.db = db
        super().__init__(pool=DatabaseKeyPool(db, seed_folder=seed_folder))
        if seed_folder is not None:
            self._seed_revocations(Path(seed_folder) / "revoked.json")
        self._load_revoked()

    def _seed_revocations(self, path: Path) -> None:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return
        for serial, when in rows.items():
            shared.put_if_absent(self.db, f"{DB_REVOKED}{int(serial)}", str(when).encode())

    def _load_revoked(self) -> None:
        for name, when in shared.files_under(self.db, DB_REVOKED).items():
            serial = int(name[len(DB_REVOKED):])
            self._revoked.setdefault(serial, (dt.datetime.fromisoformat(when.decode()), None))

    def revoke(self, cert_or_serial, **kw) -> int:
        serial = super().revoke(cert_or_serial, **kw)
        shared.put_if_absent(self.db, f"{DB_REVOKED}{serial}", self._revoked[serial][0].isoformat().encode())
        return serial

    @property
    def revoked_serials(self) -> frozenset[int]:
        self._load_revoked()
        return frozenset(self._revoked)

    def crl(self, **kw):
        self._load_revoked()
        return super().crl(**kw)


def _in_database(runtime) -> bool:
    """Where the installation keeps its CA: the database on PostgreSQL (machines share it),
    the data folder on SQLite (one machine)."""
    return not runtime.db.is_sqlite


def pki_for(runtime) -> TestPKI:
    """The installation's TestPKI (root, issuing CA, TSA): one per data folder per process
    (SQLite), one per database per process (PostgreSQL, :class:`DatabasePKI`)."""
    folder = Path(runtime.settings.data_dir) / "signing" / "ca"
    if _in_database(runtime):
        with _LOCK:
            pki = _DB_CACHE.get(runtime.db)
            if pki is None:
                pki = _DB_CACHE[runtime.db] = DatabasePKI(runtime.db, seed_folder=folder)
            return pki
    key = str(folder)
    with _LOCK:
        pki = _CACHE.get(key)
        if pki is None:
            pki = _CACHE[key] = InstallationPKI(folder)
        return pki
