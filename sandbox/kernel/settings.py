"""Settings of one running installation: where its data lives and which database it uses."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "./sandbox-data"


@dataclass
class Settings:
    """Everything configurable, from command-line options or ``SANDBOX_*`` variables.

    ``database_url`` defaults to SQLite (WAL) inside ``data_dir``.
    """

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("SANDBOX_DATA_DIR", DEFAULT_DATA_DIR)))
    database_url: str | None = None
    max_message_size: int = 25 * 1024 * 1024
    secret_key: str | None = None
    #: the web server (waitress): worker threads and open connections (a whole shift keeps
    #: hundreds of browsers' connections alive); ``SANDBOX_WEB_THREADS``, ``SANDBOX_WEB_CONNECTIONS``
    web_threads: int = 8
    web_connection_limit: int = 1000
    #: where blobs live: "files" (the data folder) or "database" (the ``blobs`` table);
    #: ``SANDBOX_BLOBS``; None: files on SQLite, the database on PostgreSQL (sandbox.kernel.blobs)
    blobs: str | None = None
    #: logging (``sandbox.kernel.logs``): level and ``plain``/``json`` lines; ``SANDBOX_LOG_LEVEL``,
    #: ``SANDBOX_LOG_FORMAT``; the rotating file is ``data-dir/logs/sandbox.log``
    log_level: str = "INFO"
    log_format: str = "plain"
    #: web worker processes (gunicorn, ``serve web --workers N``, ``SANDBOX_WEB_WORKERS``); None:
    #: the web app runs in the ``sandbox serve`` process itself (waitress, threads)
    web_workers: int | None = None
    #: proxies in front of the web app whose X-Forwarded-For/-Proto/-Host are believed
    #: (``SANDBOX_PROXY_HOPS``; 0: none, a client's own X-Forwarded-For is ignored; 1: nginx)
    proxy_hops: int = 0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if self.database_url is None:
            self.database_url = os.environ.get("SANDBOX_DATABASE_URL") or f"sqlite:///{self.data_dir / 'sandbox.db'}"
        if self.secret_key is None:
            self.secret_key = os.environ.get("SANDBOX_SECRET_KEY") or None
        if self.blobs is None:
            self.blobs = os.environ.get("SANDBOX_BLOBS") or None
        env_size = os.environ.get("SANDBOX_MAX_MESSAGE_SIZE")
        if env_size:
            self.max_message_size = int(env_size)
        for name, attr in (("SANDBOX_WEB_THREADS", "web_threads"), ("SANDBOX_WEB_CONNECTIONS", "web_connection_limit")):
            value = os.environ.get(name)
            if value:
                setattr(self, attr, max(1, int(value)))
        self.log_level = os.environ.get("SANDBOX_LOG_LEVEL") or self.log_level
        self.log_format = os.environ.get("SANDBOX_LOG_FORMAT") or self.log_format
        if os.environ.get("SANDBOX_WEB_WORKERS") and self.web_workers is None:
            self.web_workers = max(1, int(os.environ["SANDBOX_WEB_WORKERS"]))
        if os.environ.get("SANDBOX_PROXY_HOPS") and not self.proxy_hops:
            self.proxy_hops = max(0, int(os.environ["SANDBOX_PROXY_HOPS"]))

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def get_secret_key(self) -> str:
        """The installation's secret (sessions, CSRF, password tags, derived passwords):
        ``SANDBOX_SECRET_KEY``, else made once. SQLite: kept in ``data-dir/secret.key``
        (mode 600). PostgreSQL: kept in the database (``shared_files``), so every machine of
        the installation has the same one whatever its data folder; the first process to
        store it wins (a data folder's existing ``secret.key`` is the one stored)."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.data_dir / "secret.key"
        if not str(self.database_url).startswith("sqlite"):
            self.secret_key = self._shared_secret(path)
            return self.secret_key
        try:
            self.secret_key = path.read_text().strip()
        except FileNotFoundError:
            key = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key)
            self.secret_key = key
        return self.secret_key

    def _shared_secret(self, local: Path) -> str:
        from sandbox.kernel import migrations, shared
        from sandbox.kernel.db import Database

        def make() -> bytes:
            try:
                return local.read_text().strip().encode() or secrets.token_hex(32).encode()
            except FileNotFoundError:
                return secrets.token_hex(32).encode()

        db = Database(self.database_url)
        try:
            migrations.prepare(self.database_url)  # shared_files is made by the migrations (0002)
            return shared.get_or_create(db, "secret.key", make).decode().strip()
        finally:
            db.dispose()
