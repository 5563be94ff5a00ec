"""Logs (issue 15): one configuration (stderr + data-dir/logs/sandbox.log, plain or JSON), a
request id in every line of a request, in the X-Request-ID header and on the error page, the
request's sandbox in the context, and no traceback lost (requests, threads, event loops)."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

import pytest
from flask import Blueprint

from sandbox.kernel import logs
from tests.factories import make_world


@pytest.fixture
def logged(sqlite_runtime):
    """Logging configured into the runtime's data folder (and a captured stderr), undone after."""
    stream = io.StringIO()

    def setup(fmt: str = "plain"):
        path = logs.configure(sqlite_runtime.settings, fmt=fmt, level="INFO", stream=stream)
        return path, stream

    yield setup
    logs.reset()


def _app(rt):
    """The real app with a test-only blueprint whose route fails."""
    from sandbox.web import create_app

    app = create_app(rt)
    bp = Blueprint("test_failures", __name__)

    @bp.get("/_test/boom")
    def boom():
        logging.getLogger("tests.boom").info("about to fail")
        raise RuntimeError("kaboom for the log")

    @bp.get("/_test/hello")
    def hello():
        logging.getLogger("tests.hello").warning("hello from a request")
        return "ok"

    app.register_blueprint(bp)
    return app


def test_the_error_page_shows_the_request_id_and_the_log_has_the_traceback(sqlite_runtime, logged):
    path, stream = logged()
    assert path == sqlite_runtime.settings.data_dir / "logs" / "sandbox.log"
    resp = _app(sqlite_runtime).test_client().get("/_test/boom")
    assert resp.status_code == 500
    rid = resp.headers["X-Request-ID"]
    page = resp.get_data(as_text=True)
    assert "Lỗi hệ thống" in page and rid in page and "báo mã lỗi" in page
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    ours = [i for i, line in enumerate(lines) if f"[{rid} " in line]
    assert len(ours) >= 3   # the view's own line, Flask's "Exception on …", the 500 handler's
    assert any("about to fail" in lines[i] for i in ours)
    first_exc = next(i for i in ours if "Exception on /_test/boom" in lines[i])
    assert lines[first_exc + 1].startswith("Traceback (most recent call last):")
    assert "RuntimeError: kaboom for the log" in text
    assert text.count("Traceback (most recent call last):") == 1   # once, the 500 handler refers to it
    assert "door=web" in lines[first_exc] and "path=/_test/boom" in lines[first_exc]
    assert rid in stream.getvalue() and "RuntimeError: kaboom for the log" in stream.getvalue()


def test_json_lines_parse_and_carry_the_request_id(sqlite_runtime, logged):
    path, _stream = logged("json")
    resp = _app(sqlite_runtime).test_client().get("/_test/boom", headers={"X-Request-ID": "nginx-0123abcd"})
    assert resp.headers["X-Request-ID"] == "nginx-0123abcd"
    assert "nginx-0123abcd" in resp.get_data(as_text=True)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    mine = [r for r in records if r.get("request_id") == "nginx-0123abcd"]
    assert {r["logger"] for r in mine} >= {"tests.boom", "sandbox.web"}
    failed = next(r for r in mine if r["message"].startswith("Exception on"))
    assert "RuntimeError: kaboom for the log" in failed["exc"] and failed["level"] == "ERROR"
    assert failed["door"] == "web" and failed["path"] == "/_test/boom" and failed["method"] == "GET"


@pytest.mark.parametrize("header", ["", "has space", "x" * 65, "<script>", "a;b", "ümlaut"])
def test_an_insane_incoming_request_id_is_replaced(sqlite_runtime, header):
    client = _app(sqlite_runtime).test_client()
    resp = client.get("/healthz", headers={"X-Request-ID": header} if header else {})
    rid = resp.headers["X-Request-ID"]
    assert rid != header and len(rid) == 16 and all(c in "0123456789abcdef" for c in rid)
    assert client.get("/healthz").headers["X-Request-ID"] != rid   # a fresh one per request


def test_the_log_context_names_the_sandbox_of_the_logged_in_person(sqlite_runtime, logged):
    from tests.web.conftest import WebClient

    path, _stream = logged()
    world = make_world(sqlite_runtime, name="ts-log")
    web = WebClient(_app(sqlite_runtime), sqlite_runtime).login(world["lanhdao"])
    resp = web.get("/_test/hello")
    rid = resp.headers["X-Request-ID"]
    line = next(line for line in path.read_text(encoding="utf-8").splitlines() if "hello from a request" in line)
    assert f"[{rid} door=web sandbox=ts-log method=GET path=/_test/hello]" in line
    # outside the request nothing of it is left in the context
    logging.getLogger("tests.after").warning("after the request")
    after = next(line for line in path.read_text(encoding="utf-8").splitlines() if "after the request" in line)
    assert "[- " in after and rid not in after and "sandbox=" not in after


def test_bind_adds_fields(sqlite_runtime, logged):
    path, _ = logged("json")
    with logs.bind(sandbox="sb1", candidate="TS001"):
        logging.getLogger("tests.bind").warning("bound")
    logging.getLogger("tests.bind").warning("unbound")
    records = {r["message"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    assert records["bound"]["sandbox"] == "sb1" and records["bound"]["candidate"] == "TS001"
    assert "sandbox" not in records["unbound"]


def test_an_exception_in_a_thread_is_logged_with_its_traceback(sqlite_runtime, logged):
    path, _ = logged()

    def fail():
        raise ValueError("thread went wrong")

    t = threading.Thread(target=fail, name="worker-x")
    t.start()
    t.join()
    text = path.read_text(encoding="utf-8")
    assert "uncaught exception in thread worker-x" in text
    assert "Traceback (most recent call last):" in text and "ValueError: thread went wrong" in text


def test_an_exception_in_an_event_loop_is_logged_with_its_traceback(sqlite_runtime, logged):
    """SMTP and IMAP run on asyncio loops: a callback's failure reaches the log (asyncio's
    default handler logs to ``asyncio``), and so does one through ``loop_exception_handler``."""
    path, _ = logged()

    def fail():
        raise KeyError("loop went wrong")

    loop = asyncio.new_event_loop()
    try:
        loop.call_soon(fail)
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.set_exception_handler(logs.loop_exception_handler)
        loop.call_soon(fail)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    text = path.read_text(encoding="utf-8")
    assert text.count("KeyError: 'loop went wrong'") == 2
    assert " asyncio [" in text and " sandbox.asyncio [" in text


def test_a_failing_job_is_logged_with_its_traceback(sqlite_runtime, logged):
    """The job worker's failures (``sandbox.kernel.jobs``) go to the log with the traceback."""
    path, _ = logged()
    try:
        raise OSError("job failed for the test")
    except OSError:
        logging.getLogger("sandbox.kernel.jobs").exception("job %s (%s) failed", 1, "test.kind")
    text = path.read_text(encoding="utf-8")
    assert "job 1 (test.kind) failed" in text and "OSError: job failed for the test" in text


def test_level_and_format_come_from_the_environment(sqlite_runtime, monkeypatch, tmp_path):
    from sandbox.kernel.settings import Settings

    monkeypatch.setenv("SANDBOX_LOG_LEVEL", "warning")
    monkeypatch.setenv("SANDBOX_LOG_FORMAT", "json")
    settings = Settings(data_dir=tmp_path / "env")
    assert (settings.log_level, settings.log_format) == ("warning", "json")
    stream = io.StringIO()
    try:
        path = logs.configure(settings, stream=stream)
        logging.getLogger("tests.env").info("not shown")
        logging.getLogger("tests.env").warning("shown")
    finally:
        logs.reset()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["message"] for r in records if r["logger"] == "tests.env"] == ["shown"]
    assert json.loads(stream.getvalue().splitlines()[-1])["message"] == "shown"
