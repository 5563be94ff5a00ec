"""The deployment tests (issue 15): nginx started by the suite on loopback (its own prefix in the
test's folder) in front of ``sandbox serve web --workers 2`` (gunicorn), with ``serve smtp
imap`` and ``serve worker`` beside it (``bench.load_deploy``). Skipped, saying why, only when
nginx is not installed (``/usr/sbin/nginx``, Debian's nginx-light: ``scripts/sysdeps.sh``)."""
from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path
import urllib.error
import urllib.parse
import urllib.request

import pytest

from bench.common import free_port, stop_process
from bench.load_deploy import CLI, NGINX, Deployment, _env, nginx_available

from ..conftest import _database_url, wait_port

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def need_nginx():
    if not nginx_available():
        if os.environ.get("CI"):  # scripts/sysdeps.sh installs it: in CI its absence is a failure
            pytest.fail(f"nginx is not installed ({NGINX}); scripts/sysdeps.sh should have installed nginx-light")
        pytest.skip(f"nginx is not installed ({NGINX}; Debian's nginx-light, see scripts/sysdeps.sh)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """SQLite in the data folder, and the throwaway PostgreSQL when the suite started one."""
    return _database_url(request.param, tmp_path)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One browser: its cookies, the last CSRF token seen, no redirects followed (a 302 is the
    answer to a form). ``headers``: sent with every request (e.g. a spoofed X-Forwarded-For)."""

    def __init__(self, base: str, headers: dict | None = None, timeout: float = 30.0):
        self.base = base
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.token = None
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = None
        if data is not None:
            data = dict(data)
            data.setdefault("csrf_token", self.token or "")
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=self.headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                status, text, headers = resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers)
        except urllib.error.HTTPError as e:
            status, text, headers = e.code, e.read().decode("utf-8", "replace"), dict(e.headers)
        m = CSRF_FIELD.search(text)
        if m:
            self.token = m.group(1)
        return status, text, headers

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data)


@pytest.fixture
def deployment_factory(tmp_path):
    """Starts a :class:`bench.load_deploy.Deployment` on a data folder; stops it afterwards."""
    need_nginx()
    started = []

    def start(data, **kw) -> Deployment:
        d = Deployment(data, **kw)
        started.append(d)
        d.start()
        return d

    yield start
    for d in started:
        d.stop()


@contextmanager
def serve_web(data: Path, database_url: str):
    """``sandbox serve web`` (one process, waitress) on the data folder ``data``: yields its URL."""
    Path(data).mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = Path(data) / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(CLI + ["serve", "web", "--http-port", str(port)],
                                env=_env(Path(data), {"SANDBOX_DATABASE_URL": database_url}),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_port(port, timeout=60.0, proc=proc)
        except Exception as e:
            raise RuntimeError(f"sandbox serve web did not start ({e}):\n" + log_path.read_text(errors="replace"))
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
