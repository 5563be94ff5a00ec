"""``GET /healthz`` (issue 15): JSON, no login, 200 when the database and the blob store work,
503 otherwise; the job queue's depth; nothing secret in it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from sandbox.web import create_app


def _health(rt):
    resp = create_app(rt).test_client().get("/healthz")
    return resp, json.loads(resp.get_data(as_text=True))


def test_healthy(runtime):
    resp, body = _health(runtime)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Request-ID"]
    assert body["status"] == "ok" and body["ok"] is True and body["version"]
    assert body["checks"]["database"] == {"ok": True, "kind": "sqlite" if runtime.db.is_sqlite else "postgresql",
                                          "ms": body["checks"]["database"]["ms"]}
    assert body["checks"]["blobs"]["ok"] is True
    assert body["checks"]["jobs"] == {"ok": True, "waiting": 0, "failed": 0}
    text = resp.get_data(as_text=True)
    for secret in (runtime.secret, runtime.settings.database_url, str(runtime.settings.data_dir)):
        assert secret not in text
    assert not list(runtime.settings.blob_dir.glob(".health-*"))   # the probe is removed


def test_the_queue_depth_is_reported(sqlite_runtime):
    from sandbox.kernel import jobs
    from sandbox.kernel.sandboxes import get_or_create_sandbox

    sid = get_or_create_sandbox(sqlite_runtime.db, sqlite_runtime.clock, "q")
    with sqlite_runtime.db.write() as s:
        now = sqlite_runtime.clock.now()
        s.add(jobs.Job(sandbox_id=sid, kind="test.kind", args={}, key="k1", status=jobs.PENDING, run_after=now,
                       queued_at=now, queued_seq=1))
        s.add(jobs.Job(sandbox_id=sid, kind="test.kind", args={}, key="k2", status=jobs.FAILED, run_after=now,
                       queued_at=now, queued_seq=2))
    resp, body = _health(sqlite_runtime)
    assert resp.status_code == 200   # failed jobs wait for an operator; the process still serves
    assert body["checks"]["jobs"] == {"ok": True, "waiting": 1, "failed": 1}


def test_unreachable_database_gives_503(runtime, monkeypatch, tmp_path):
    bad = (f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'x.db'}" if runtime.db.is_sqlite
           else "postgresql+psycopg://nobody:pw-secret@127.0.0.1:1/nothing")
    engine = create_engine(bad)
    monkeypatch.setattr(runtime.db, "engine", engine)
    try:
        resp, body = _health(runtime)
    finally:
        engine.dispose()
    assert resp.status_code == 503
    assert body["status"] == "fail" and body["ok"] is False
    assert body["checks"]["database"]["ok"] is False and body["checks"]["database"]["error"] == "OperationalError"
    assert "jobs" not in body["checks"]   # not read without a database
    assert "pw-secret" not in resp.get_data(as_text=True) and "no/such" not in resp.get_data(as_text=True)


def test_unwritable_blob_store_gives_503(sqlite_runtime, monkeypatch, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setattr(sqlite_runtime.blobs, "root", not_a_folder)
    resp, body = _health(sqlite_runtime)
    assert resp.status_code == 503
    assert body["checks"]["blobs"]["ok"] is False and body["checks"]["database"]["ok"] is True


@pytest.mark.parametrize("path", ["/healthz"])
def test_no_login_needed_even_with_a_stale_session(sqlite_runtime, path):
    client = create_app(sqlite_runtime).test_client()
    with client.session_transaction() as sess:
        sess["account_id"] = 999
        sess["sandbox_id"] = 999
    assert client.get(path).status_code == 200
