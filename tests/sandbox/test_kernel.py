"""The kernel: blob store, clock, Vietnamese formats, passwords, throttle and the action log."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from sandbox.kernel import vnformat
from sandbox.kernel.actions import ACTIONS, action, verify_chain
from sandbox.kernel.blobs import BlobStore
from sandbox.kernel.clock import FixedClock
from sandbox.kernel.errors import RateLimited, SandboxError
from sandbox.kernel.models import Action
from sandbox.kernel.passwords import hash_password, password_tag, verify_password
from sandbox.kernel.sandboxes import get_or_create_sandbox
from sandbox.kernel.settings import Settings
from sandbox.kernel.throttle import LoginThrottle


@action("test.note", ids={}, result_ids={})
def _note(ctx, *, text: str, fail: bool = False) -> dict:
    if fail:
        raise SandboxError("Thao tác thử bị từ chối.", "test failure")
    return {"text": text, "seq_before": ctx.sandbox.log_seq}


def test_blob_store_is_content_addressed(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    a = store.put("Công văn".encode())
    assert store.put("Công văn".encode()) == a
    assert store.get(a) == "Công văn".encode()
    assert store.size(a) == len("Công văn".encode())
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")


def test_settings_default_to_sqlite_in_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("SANDBOX_DATABASE_URL", raising=False)
    s = Settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'sandbox.db'}"
    key = s.get_secret_key()
    assert Settings().get_secret_key() == key and len(key) == 64


def test_vietnamese_formats():
    assert vnformat.number(1234567.891, 2) == "1.234.567,89"
    assert vnformat.percent(13.4321) == "13,43%"
    d = datetime(2024, 1, 4, 20, 5, tzinfo=timezone.utc)  # 03:05 on the 5th in Vietnam
    assert vnformat.long_date(d) == "ngày 05 tháng 01 năm 2024"
    assert vnformat.date_time(d) == "03:05 05/01/2024"
    assert vnformat.file_size(2048) == "2,0 KB"


def test_passwords_and_tags():
    h = hash_password("Mật khẩu 1")
    assert verify_password(h, "Mật khẩu 1") and not verify_password(h, "mật khẩu 1")
    assert not verify_password("garbage", "x")
    assert password_tag("k", "a") == password_tag("k", "a") != password_tag("k2", "a")


def test_throttle_counts_failures_only():
    t = LoginThrottle(per_login="3/minute", per_address="100/minute")
    for _ in range(3):
        t.check("a@x.vn", "10.0.0.1")
        t.failed("a@x.vn", "10.0.0.1")
    with pytest.raises(RateLimited) as e:
        t.check("A@x.vn ", "10.0.0.1")
    assert "Đăng nhập sai quá nhiều lần" in e.value.message_vi
    t.check("a@x.vn", "10.0.0.2")  # the same name from another address is not locked out
    t.check("b@x.vn", "10.0.0.1")  # another login from the same room is still served


def test_action_log_chains_and_detects_edits(runtime):
    runtime.clock = FixedClock()
    runtime.dispatcher.clock = runtime.clock
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "chain")
    for i in range(3):
        runtime.dispatcher.dispatch(sid, "tester", "test.note", {"text": f"ghi chú {i}"})
        runtime.clock.advance(minutes=1)
    with pytest.raises(SandboxError):
        runtime.dispatcher.dispatch(sid, "tester", "test.note", {"text": "x", "fail": True})
    with runtime.db.read() as s:
        entries = s.scalars(select(Action).where(Action.sandbox_id == sid).order_by(Action.seq)).all()
        assert [e.seq for e in entries] == [1, 2, 3]  # the refused action left no entry
        assert entries[1].prev_hash == entries[0].hash
        assert entries[2].result["seq_before"] == 2
        assert verify_chain(s, sid) == (True, None)
    with runtime.db.write() as s:
        s.execute(update(Action).where(Action.sandbox_id == sid, Action.seq == 2).values(args={"text": "sửa lén"}))
    with runtime.db.read() as s:
        assert verify_chain(s, sid) == (False, 2)


def test_unknown_action_is_refused(runtime):
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "x1")
    with pytest.raises(SandboxError):
        runtime.dispatcher.dispatch(sid, "tester", "no.such.action", {})
    assert "test.note" in ACTIONS


def test_bad_sandbox_name_is_refused(runtime):
    with pytest.raises(SandboxError) as e:
        get_or_create_sandbox(runtime.db, runtime.clock, "../etc")
    assert "Tên sandbox không hợp lệ" in e.value.message_vi


@action("test.tuple_result", ids={}, result_ids={})
def _tuple_result(ctx) -> dict:
    return {"pairs": [(1, 2)], "by_id": {7: "x"}}


def test_results_that_json_reshapes_still_verify(runtime):
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "shapes")
    result = runtime.dispatcher.dispatch(sid, "tester", "test.tuple_result", {})
    assert result == {"pairs": [[1, 2]], "by_id": {"7": "x"}}
    with runtime.db.read() as s:
        assert verify_chain(s, sid) == (True, None)


def test_batch_is_one_transaction_with_every_action_logged(runtime):
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts-batch")
    fired = []
    with runtime.db.batch():
        runtime.dispatcher.dispatch(sid, "system", "test.note", {"text": "một"})
        runtime.dispatcher.dispatch(sid, "system", "test.note", {"text": "hai"})
        runtime.db.after_commit([lambda: fired.append("sau")])
        with runtime.db.read() as s:  # reads in the batch see its own writes
            assert len(s.scalars(select(Action).where(Action.sandbox_id == sid)).all()) == 2
        assert fired == []  # after-commit work waits for the commit
    assert fired == ["sau"]
    with runtime.db.read() as s:
        assert [a.seq for a in s.scalars(select(Action).where(Action.sandbox_id == sid))] == [1, 2]
        assert verify_chain(s, sid) == (True, None)


def test_a_failed_batch_leaves_nothing(runtime):
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts-batch2")
    with pytest.raises(SandboxError):
        with runtime.db.batch():
            runtime.dispatcher.dispatch(sid, "system", "test.note", {"text": "một"})
            runtime.dispatcher.dispatch(sid, "system", "test.note", {"text": "hai", "fail": True})
    with runtime.db.read() as s:
        assert s.scalars(select(Action).where(Action.sandbox_id == sid)).all() == []


def test_a_closed_sandbox_refuses_people_but_not_the_system(runtime):
    from datetime import timedelta

    from sandbox.kernel.errors import Forbidden
    from sandbox.kernel.models import Sandbox

    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts-closed")
    runtime.dispatcher.dispatch(sid, "lanhdao@cantho.gov.vn", "test.note", {"text": "trước giờ"})
    with runtime.db.write() as s:
        s.get(Sandbox, sid).closes_at = runtime.clock.now() - timedelta(seconds=1)
    with pytest.raises(Forbidden) as refused:
        runtime.dispatcher.dispatch(sid, "lanhdao@cantho.gov.vn", "test.note", {"text": "sau giờ"})
    assert refused.value.message_vi.startswith("Đã hết thời gian làm bài")
    runtime.dispatcher.dispatch(sid, "giamkhao:nguyenvana", "test.note", {"text": "giám khảo"})
    runtime.dispatcher.dispatch(sid, "system", "test.note", {"text": "hệ thống"})
    with runtime.db.read() as s:
        assert [a.args["text"] for a in s.scalars(select(Action).where(Action.sandbox_id == sid))] == \
            ["trước giờ", "giám khảo", "hệ thống"]
