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

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if self.database_url is None:
            self.database_url = os.environ.get("SANDBOX_DATABASE_URL") or f"sqlite:///{self.data_dir / 'sandbox.db'}"
        env_size = os.environ.get("SANDBOX_MAX_MESSAGE_SIZE")
        if env_size:
            self.max_message_size = int(env_size)
        for name, attr in (("SANDBOX_WEB_THREADS", "web_threads"), ("SANDBOX_WEB_CONNECTIONS", "web_connection_limit")):
            value = os.environ.get(name)
            if value:
                setattr(self, attr, max(1, int(value)))

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    def get_secret_key(self) -> str:
        """The installation's secret (sessions, CSRF, password tags), made once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.data_dir / "secret.key"
        try:
            self.secret_key = path.read_text().strip()
        except FileNotFoundError:
            key = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key)
            self.secret_key = key
        return self.secret_key
