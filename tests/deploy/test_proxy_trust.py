"""Issue 15 without nginx: the app believes exactly the configured proxy hops (a client's own
X-Forwarded-For is ignored with 0), the nginx configuration ``sandbox deploy nginx`` writes,
gunicorn's settings, the WSGI entry point and the ``serve`` options."""
from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import select

from sandbox.contest.models import Attempt
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.settings import Settings

from ..contest.portal_factory import AT, make_portal_world
from ..contest.test_portal import Seat


def _portal(rt, hops: int):
    from sandbox.web import create_app

    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    rt.settings.proxy_hops = hops
    world = make_portal_world(rt, n=1, questions=4)
    return create_app(rt), world


def _seat_after_start(rt, app, world, address: str, headers: dict) -> str:
    seat = Seat(app, address=address)
    seat.client.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    assert seat.login("TS001", world.passwords["TS001"]).status_code == 302
    assert seat.post("/thi/bat-dau").status_code == 302
    with rt.db.read() as s:
        return s.scalar(select(Attempt.last_seat).where(Attempt.candidate_id == world.candidates["TS001"]))


def test_without_proxy_hops_a_spoofed_forwarded_for_does_not_change_the_recorded_address(sqlite_runtime):
    app, world = _portal(sqlite_runtime, 0)
    seat = _seat_after_start(sqlite_runtime, app, world, "10.0.0.7",
                             {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https",
                              "X-Forwarded-Host": "evil.example"})
    assert seat == "10.0.0.7"


def test_one_proxy_hop_believes_the_last_forwarded_address_only(sqlite_runtime):
    app, world = _portal(sqlite_runtime, 1)
    # the client sent its own X-Forwarded-For (6.6.6.6); nginx appended the address it saw
    seat = _seat_after_start(sqlite_runtime, app, world, "127.0.0.1", {"X-Forwarded-For": "6.6.6.6, 10.1.1.1"})
    assert seat == "10.1.1.1"


def test_forwarded_proto_and_host_with_one_hop(sqlite_runtime):
    from flask import request

    app, _world = _portal(sqlite_runtime, 1)
    seen = {}

    @app.before_request
    def look():
        seen.update(addr=request.remote_addr, scheme=request.scheme, host=request.host)

    app.test_client().get("/login", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                          headers={"X-Forwarded-For": "10.2.2.2", "X-Forwarded-Proto": "https",
                                   "X-Forwarded-Host": "thi.cantho.gov.vn"})
    assert seen == {"addr": "10.2.2.2", "scheme": "https", "host": "thi.cantho.gov.vn"}


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SANDBOX_PROXY_HOPS", "1")
    monkeypatch.setenv("SANDBOX_WEB_WORKERS", "3")
    s = Settings(data_dir=tmp_path)
    assert (s.proxy_hops, s.web_workers) == (1, 3)
    monkeypatch.delenv("SANDBOX_PROXY_HOPS")
    monkeypatch.delenv("SANDBOX_WEB_WORKERS")
    s = Settings(data_dir=tmp_path)
    assert (s.proxy_hops, s.web_workers) == (0, None)


def _deploy(tmp_path, *args) -> tuple[int, str, str]:
    from sandbox.cli import main

    out = tmp_path / "nginx.conf"
    r = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "deploy", "nginx", *args,
                                  "--out", str(out)])
    return r.exit_code, (out.read_text() if out.exists() else ""), r.output


def test_deploy_nginx_writes_upstream_headers_and_the_apps_upload_limit(tmp_path, sqlite_runtime):
    from sandbox.web import create_app

    code, conf, _ = _deploy(tmp_path, "--web", "127.0.0.1:8001", "--web", "127.0.0.1:8002", "--listen-http", "80")
    assert code == 0
    assert "upstream sandbox_web {" in conf
    assert "server 127.0.0.1:8001 " in conf and "server 127.0.0.1:8002 " in conf
    assert "proxy_next_upstream error timeout http_502;" in conf and "non_idempotent" not in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "listen 80;" in conf and "user www-data;" in conf
    limit = create_app(sqlite_runtime).config["MAX_CONTENT_LENGTH"]
    assert f"client_max_body_size {limit};" in conf
    assert "stream {" not in conf        # only when asked (Debian's nginx-light has no stream module)


def test_deploy_nginx_streams_when_asked_and_refuses_bad_addresses(tmp_path):
    code, conf, _ = _deploy(tmp_path, "--web", "127.0.0.1:8001", "--smtp", "127.0.0.1:2526", "--imap",
                            "127.0.0.1:1144", "--listen-smtp", "25", "--listen-imap", "143")
    assert code == 0
    stream = conf[conf.index("stream {"):]
    assert "listen 25;" in stream and "proxy_pass 127.0.0.1:2526;" in stream
    assert "listen 143;" in stream and "proxy_pass 127.0.0.1:1144;" in stream
    code, _conf, output = _deploy(tmp_path, "--web", "nowhere")
    assert code == 2 and "địa chỉ web không hợp lệ" in output


def test_the_written_config_passes_nginx_t(tmp_path):
    from bench.load_deploy import NGINX
    from sandbox.deploy.nginx import stream_support

    from .conftest import need_nginx
    need_nginx()
    run = tmp_path / "run"
    run.mkdir()
    user = ["--user", "root" if os.geteuid() == 0 else ""]
    asks = [[]]
    if stream_support(NGINX) != "missing":     # nginx-light: no stream module, the HTTP part only
        asks.append(["--smtp", "127.0.0.1:2526", "--imap", "127.0.0.1:1144"])
    for extra in asks:
        code, _conf, _ = _deploy(tmp_path, "--web", "127.0.0.1:8001", "--listen-http", "127.0.0.1:18080",
                                 "--run-dir", str(run), "--modules-include", "", *user, *extra)
        assert code == 0
        r = subprocess.run([NGINX, "-t", "-p", str(run), "-c", str(tmp_path / "nginx.conf"),
                            "-g", f"pid {run / 'nginx.pid'};"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_gunicorn_settings_no_preload_gthread_and_no_forwarded_headers_of_its_own(tmp_path):
    from sandbox.server import gunicorn_options

    opts = gunicorn_options(Settings(data_dir=tmp_path), "127.0.0.1", 8001, 2, 8)
    assert opts["preload_app"] is False and opts["worker_class"] == "gthread"
    assert (opts["workers"], opts["threads"], opts["bind"]) == (2, 8, ["127.0.0.1:8001"])
    assert opts["forwarded_allow_ips"] == "" and opts["secure_scheme_headers"] == {}
    assert opts["control_socket_disable"] is True


def test_the_wsgi_entry_point_opens_nothing_until_its_first_request(tmp_path):
    code = ("import sandbox.wsgi as w, sys; assert w._built is None; "
            "from werkzeug.test import Client; r = Client(w.app).get('/login'); "
            "assert r.status_code == 200, r.status_code; assert w._built is not None; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path),
                       env={**os.environ, "SANDBOX_DATA_DIR": str(tmp_path / "data")})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_workers_only_with_web_alone(tmp_path):
    from sandbox.cli import main

    r = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "serve", "web", "smtp", "--workers", "2"])
    assert r.exit_code == 2 and "--workers chỉ dùng với `sandbox serve web`" in r.output
