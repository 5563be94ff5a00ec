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
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from .pki import DEFAULT_POOL, KeyPool, TestPKI

__all__ = ["pki_for", "FileKeyPool", "InstallationPKI"]

_CA_PREFIXES = ("root:", "ca:", "tsa:")
_CACHE: dict[str, TestPKI] = {}
_LOCK = threading.Lock()


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
        name = hashlib.sha256(f"{key_type}|{label}".encode()).hexdigest()[:24] + ".pem"
        path = self.folder / name
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


def pki_for(runtime) -> TestPKI:
    """The installation's TestPKI (root, issuing CA, TSA), one per data folder per process."""
    folder = Path(runtime.settings.data_dir) / "signing" / "ca"
    key = str(folder)
    with _LOCK:
        pki = _CACHE.get(key)
        if pki is None:
            pki = _CACHE[key] = InstallationPKI(folder)
        return pki
