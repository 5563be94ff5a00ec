"""The deployment shape of ``docs/deployment.md`` on one machine, for the load generator
(``python -m bench load --behind-nginx [--web-workers N]``) and the deployment tests
(``tests/deploy/``): nginx on a loopback port (its config written by ``sandbox deploy nginx``)
in front of ``sandbox serve web --workers N --proxy-hops 1`` (gunicorn), beside ``sandbox serve
smtp imap`` and ``sandbox serve worker``, each its own process.

nginx runs as this user on loopback with its own prefix (``nginx -p DIR -c DIR/nginx.conf -g
'daemon off; pid DIR/nginx.pid;'``), logs and temporary files in ``DIR``; as root its workers
run as root too (``user root``), since the worker's default user (nobody) could not write
into a test's private temporary folder. The SMTP/IMAP streams are not proxied here: Debian's
nginx-light has no stream module, so mail clients connect to ``serve smtp imap`` directly."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import wait_port

from .common import free_port, stop_process

NGINX = os.environ.get("SANDBOX_TEST_NGINX", "/usr/sbin/nginx")
CLI = [sys.executable, "-m", "sandbox.cli"]


def nginx_available() -> bool:
    return Path(NGINX).exists() or shutil.which(NGINX) is not None


def _env(data: Path, extra: dict | None = None) -> dict:
    env = {**os.environ, "SANDBOX_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("SANDBOX_DATABASE_URL", None)
    env.update(extra or {})
    return env


class Nginx:
    """nginx in front of the given web addresses, listening on ``port`` of loopback."""

    def __init__(self, folder: Path, webs: list[str], *, port: int | None = None, env: dict | None = None):
        self.folder = Path(folder)
        self.webs = webs
        self.port = port or free_port()
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.conf = self.folder / "nginx.conf"
        self.log = self.folder / "nginx.out"

    def write_config(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        cmd = CLI + ["deploy", "nginx", "--listen-http", f"127.0.0.1:{self.port}", "--run-dir", str(self.folder),
                     "--modules-include", "", "--user", "root" if os.geteuid() == 0 else "",
                     "--out", str(self.conf)]
        for w in self.webs:
            cmd += ["--web", w]
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"sandbox deploy nginx failed: {r.stdout}{r.stderr}")
        return self.conf.read_text()

    def start(self) -> "Nginx":
        self.write_config()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([NGINX, "-p", str(self.folder), "-c", str(self.conf),
                                          "-g", f"daemon off; pid {self.folder / 'nginx.pid'};"],
                                         stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout=20.0, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError("nginx did not start:\n" + self.logs())
        return self

    def logs(self) -> str:
        out = []
        for name in ("nginx.out", "error.log"):
            p = self.folder / name
            if p.exists():
                out.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)      # graceful: finish the requests in flight
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Deployment:
    """nginx → ``serve web --workers N --proxy-hops 1``; ``serve smtp imap``; ``serve worker``.
    ``http`` is nginx's port (the candidates' way in), ``web`` gunicorn's, ``smtp``/``imap``
    the mail servers'. ``env``: extra variables (e.g. ``SANDBOX_DATABASE_URL``)."""

    def __init__(self, data: Path, *, workers: int = 2, threads: int | None = None, env: dict | None = None):
        self.data = Path(data)
        self.workers, self.threads = workers, threads
        self.env = _env(self.data, env)
        self.web, self.smtp, self.imap = free_port(), free_port(), free_port()
        self.nginx = Nginx(self.data / "nginx", [f"127.0.0.1:{self.web}"], env=self.env)
        self.http = self.nginx.port
        self.log = self.data / "web.log"
        self.web_proc = self.mail_proc = self.worker_proc = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        with open(self.data / log_name, "wb") as log:
            return subprocess.Popen(CLI + ["serve"] + args, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> float:
        t0 = time.perf_counter()
        web = ["web", "--workers", str(self.workers), "--proxy-hops", "1", "--http-port", str(self.web)]
        if self.threads:
            web += ["--threads", str(self.threads)]
        self.web_proc = self._spawn(web, "web.log")
        try:        # the master makes the schema and the secret before its workers start
            wait_port(self.web, timeout=60.0, proc=self.web_proc)
            self.mail_proc = self._spawn(["smtp", "imap", "--smtp-port", str(self.smtp), "--imap-port",
                                          str(self.imap)], "mail.log")
            self.worker_proc = self._spawn(["worker"], "worker.log")
            for port in (self.smtp, self.imap):
                wait_port(port, timeout=60.0, proc=self.mail_proc)
            self.nginx.start()
        except Exception as e:
            self.stop()
            raise RuntimeError(f"the deployment did not start ({e}):\n{self.logs()}") from e
        return time.perf_counter() - t0

    def logs(self) -> str:
        out = []
        for name in ("web.log", "mail.log", "worker.log"):
            p = self.data / name
            if p.exists():
                out.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(out + [self.nginx.logs()])

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the web process (gunicorn's master)."""
        return children(self.web_proc.pid) if self.web_proc is not None else []

    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.web_proc, self.mail_proc, self.worker_proc, self.nginx.proc) if p is not None]

    def stop(self) -> None:
        self.nginx.stop()
        for proc in (self.web_proc, self.mail_proc, self.worker_proc):
            stop_process(proc, 40)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


class DeployedServer(Deployment):
    """The load generator's ``Server`` in the deployment shape (``--behind-nginx``)."""

    def __init__(self, data: Path, *, workers: int = 2, database_url: str | None = None):
        super().__init__(data, workers=workers, env={"SANDBOX_DATABASE_URL": database_url} if database_url else None)
        self.shape = f"nginx → gunicorn {workers} workers; smtp+imap; worker apart"

    def cpu_seconds(self) -> float:
        from .load import _tree_cpu
        return sum(_tree_cpu(p.pid) for p in self.processes())
