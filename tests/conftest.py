"""Shared fixtures: a Runtime on SQLite and on the throwaway PostgreSQL of ``make test``,
worlds built through the real actions, our SMTP server and web app on loopback ports, a
``sandbox serve`` subprocess, and Playwright on Debian's Chromium."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox.runtime import Runtime
from sandbox.kernel.settings import Settings

from .factories import make_world

PG_URL = os.environ.get("SANDBOX_TEST_POSTGRES_URL")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


_WORKER_DBS: dict[str, str] = {}


def _postgres_url() -> str:
    """The throwaway PostgreSQL's database of this test process: with pytest-xdist each
    worker gets its own database (``sandbox_test_gw0``, …), created on first use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return PG_URL
    if worker not in _WORKER_DBS:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(PG_URL)
        name = f"{url.database}_{worker}"
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        _WORKER_DBS[worker] = url.set(database=name).render_as_string(hide_password=False)
    return _WORKER_DBS[worker]


def _database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sandbox.db'}"
    if not PG_URL:
        if os.environ.get("CI"):  # make test starts it: in CI its absence is a failure
            pytest.fail("PostgreSQL was not started (SANDBOX_TEST_POSTGRES_URL is not set)")
        pytest.skip("PostgreSQL not started (run through `make test`, which sets SANDBOX_TEST_POSTGRES_URL)")
    url = _postgres_url()
    _reset_postgres(url)
    return url


def open_runtime(tmp_path: Path, kind: str = "sqlite") -> Runtime:
    settings = Settings(data_dir=tmp_path / "data", database_url=_database_url(kind, tmp_path))
    settings.secret_key = "test-secret"
    return Runtime.open(settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    """A Runtime on each database the product supports."""
    rt = open_runtime(tmp_path, request.param)
    yield rt
    rt.close()


@pytest.fixture
def sqlite_runtime(tmp_path):
    rt = open_runtime(tmp_path, "sqlite")
    yield rt
    rt.close()


@pytest.fixture
def world(runtime):
    return make_world(runtime)


@pytest.fixture
def smtp_server(runtime):
    from mailserver.smtp import SubmissionController
    ctl = SubmissionController(runtime, "127.0.0.1", free_port())
    ctl.start()
    yield ctl
    ctl.stop()


@pytest.fixture
def live_server(sqlite_runtime):
    """The web app (threaded WSGI server), SMTP and the job worker on free loopback ports, SQLite."""
    from werkzeug.serving import make_server

    from mailserver.smtp import SubmissionController
    from sandbox.kernel.jobs import Worker
    from sandbox.web import create_app

    app = create_app(sqlite_runtime)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    smtp = SubmissionController(sqlite_runtime, "127.0.0.1", free_port())
    smtp.start()
    worker = Worker(sqlite_runtime).start()  # the automatic clerk's jobs, as in `sandbox serve`

    class Live:
        url = f"http://127.0.0.1:{srv.server_port}"
        runtime = sqlite_runtime
        smtp_port = smtp.port

    yield Live
    worker.stop()
    smtp.stop()
    srv.shutdown()


@contextlib.contextmanager
def served_process(tmp_path: Path, data: Path, env: dict, **attrs):
    """``sandbox serve`` (web, SMTP, IMAP) as a subprocess on ``data``, on free ports; yields
    an object with ``http_url``, ``smtp``, ``imap``, ``data_dir``, ``process``, ``log`` and
    ``attrs``. Stops it afterwards."""
    cli = [sys.executable, "-m", "sandbox.cli"]
    http_port, smtp_port, imap_port = free_port(), free_port(), free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cli + ["serve", "--http-port", str(http_port), "--smtp-port", str(smtp_port),
                                       "--imap-port", str(imap_port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for port in (smtp_port, http_port, imap_port):
                wait_port(port, proc=proc)
        except Exception:
            proc.kill()
            proc.wait()
            pytest.fail("sandbox serve did not start:\n" + log_path.read_text(errors="replace"))
        served = type("Served", (), dict(http_url=f"http://127.0.0.1:{http_port}", smtp=smtp_port, imap=imap_port,
                                         data_dir=data, process=proc, log=log_path, **attrs))
        try:
            yield served
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cli_env(data: Path) -> dict:
    env = {**os.environ, "SANDBOX_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("SANDBOX_DATABASE_URL", None)
    return env


@pytest.fixture
def serve_process(tmp_path):
    """`sandbox serve` as a subprocess on free ports, with a world made by the CLI."""
    data = tmp_path / "served"
    env = cli_env(data)
    cli = [sys.executable, "-m", "sandbox.cli"]
    for address, name in [("lanhdao@cantho.gov.vn", "Nguyễn Văn An"), ("vanthu@cantho.gov.vn", "Lê Thị Thư"),
                          ("truongphong@cantho.gov.vn", "Trần Minh Khoa")]:
        subprocess.run(cli + ["account", "add", "ts001", address, "--password", "MatKhau@123", "--name", name],
                       env=env, check=True, capture_output=True)
    with served_process(tmp_path, data, env, password="MatKhau@123") as served:
        yield served


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _no_event_loop_left_by_the_browser(request):
    """pytest-playwright's sync API keeps its event loop marked as running in the main thread
    for the rest of the session once a browser test ran; code under test that calls
    ``asyncio.run`` (pyHanko's synchronous wrappers, the SMTP group commit, the load
    generator) would then fail depending on which test files a worker ran before. Outside the
    browser tests, the loop is set aside for the test and put back after it."""
    if "playwright" in request.fixturenames:
        yield
        return
    import asyncio

    loop = asyncio.events._get_running_loop()
    if loop is None:
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


#: The longest test files (seconds of one worker each, measured in `make test`), started first:
#: xdist's ``--dist loadfile`` hands out files in collection order, and the Chromium library
#: file (about 250 s) collected near the end left the other worker idle for minutes.
SLOW_FILES_FIRST = (
    "tests/web/test_library_browser.py",
    "tests/test_load.py",
    "tests/deploy/test_load_behind_nginx.py",
    "tests/test_golden_grades.py",
    "tests/grader/test_cli.py",
    "tests/deploy/test_two_data_folders.py",
    "tests/mailserver/test_smtp_clients.py",
    "tests/contest/test_parallel_provision.py",
    "tests/deploy/test_nginx.py",
    "tests/test_wheel.py",
    "tests/contest/test_dry_run.py",
    "tests/docflow/test_background_clerk.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    last = len(SLOW_FILES_FIRST)

    def key(pair):
        index, item = pair
        path = item.nodeid.split("::", 1)[0]
        return (rank.get(path, last), index)

    items[:] = [item for _i, item in sorted(enumerate(items), key=key)]
