"""Fixtures of the IMAP tests: a private Dovecot (the reference), our IMAP server on a
Runtime (SQLite, PostgreSQL when ``make test`` started it), and ``sandbox serve`` as a
subprocess with web + SMTP + IMAP and two sandboxes holding the same address."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import cli_env, free_port, open_runtime, served_process
from mailserver.imap.server import IMAPController
from tests.factories import PASSWORD, make_world

from . import dovecot as dv

USER = "lanhdao@cantho.gov.vn"
OTHER_PASSWORD = "MatKhauKhac@456"   # the same address in sandbox ts002
ADDRESSES = ["lanhdao@cantho.gov.vn", "vanthu@cantho.gov.vn", "truongphong@cantho.gov.vn",
             "chanhvanphong@cantho.gov.vn"]

__all__ = ["USER", "PASSWORD", "OTHER_PASSWORD"]


@pytest.fixture(scope="session")
def dovecot_server():
    """Dovecot on a free loopback port, users = the world's addresses, password MatKhau@123."""
    if not dv.available():
        if os.environ.get("CI"):  # make deps installs it: in CI its absence is a failure
            pytest.fail("dovecot-imapd is not installed")
        pytest.skip("dovecot-imapd is not installed (make deps installs it)")
    server = dv.Dovecot({a: PASSWORD for a in ADDRESSES})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def our_imap(request, tmp_path_factory):
    """Our IMAP server on a fresh Runtime with the ts001 world (module scope: the
    differential script runs once per database)."""
    rt = open_runtime(tmp_path_factory.mktemp("imap-" + request.param), request.param)  # skips/fails without PG
    world = make_world(rt)
    ctl = IMAPController(rt, host="127.0.0.1", port=free_port())
    ctl.start()
    ctl.rt = rt
    ctl.world = world
    yield ctl
    ctl.stop()
    rt.close()


SERVED_PEOPLE = [("ts001", "lanhdao@cantho.gov.vn", PASSWORD, "Nguyễn Văn An"),
                 ("ts001", "vanthu@cantho.gov.vn", PASSWORD, "Lê Thị Thư"),
                 ("ts001", "truongphong@cantho.gov.vn", PASSWORD, "Trần Minh Khoa"),
                 ("ts002", "lanhdao@cantho.gov.vn", OTHER_PASSWORD, "Nguyễn Văn An"),
                 ("ts002", "vanthu@cantho.gov.vn", OTHER_PASSWORD, "Lê Thị Thư")]


@pytest.fixture(scope="session")
def served_template(tmp_path_factory):
    """A data dir with the accounts made by the CLI, once; each test serves a copy."""
    data = tmp_path_factory.mktemp("served-template") / "data"
    cli = [sys.executable, "-m", "sandbox.cli"]
    for sandbox, address, password, name in SERVED_PEOPLE:
        subprocess.run(cli + ["account", "add", sandbox, address, "--password", password, "--name", name],
                       env=cli_env(data), check=True, capture_output=True)
    return data


@pytest.fixture
def served(tmp_path, served_template):
    """``sandbox serve`` (web + SMTP + IMAP) as a subprocess on a fresh copy of the template
    data dir: sandbox ts001 has lanhdao, vanthu, truongphong with MatKhau@123, sandbox
    ts002 has lanhdao and vanthu again with another password."""
    data = tmp_path / "served"
    shutil.copytree(served_template, data)
    with served_process(tmp_path, data, cli_env(data), password=PASSWORD, other_password=OTHER_PASSWORD) as served:
        yield served
