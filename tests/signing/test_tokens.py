"""Virtual tokens: PIN, tries left, lockout, examiner unlock, the clerk-only organisation key."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.kernel.actions import verify_chain
from sandbox.kernel.errors import NotFound
from sandbox.kernel.models import Action
from sandbox.kernel.sandboxes import get_or_create_sandbox
from signing.errors import SigningError
from signing.pki import TestPKI, fingerprint
from signing.tokens import open_token, provision, tokens_of

ORG = "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"


@pytest.fixture(scope="module")
def pki():
    p = TestPKI()
    return p, p.issue_personal("Nguyễn Văn An", title="Chủ tịch", unit="Lãnh đạo", organisation=ORG), \
        p.issue_organisation(ORG)


def test_wrong_pin_counts_down_locks_and_the_examiner_unlocks(runtime, pki):
    _, leader, _ = pki
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts001")
    tok = provision(runtime.dispatcher, sid, "lanhdao@cantho.gov.vn", leader, "123456", label="Token của lãnh đạo")
    cert, key = open_token(runtime, sid, tok, "123456", actor="lanhdao@cantho.gov.vn")
    assert fingerprint(cert) == leader.sha256 and key.key_size == 2048
    for left in (2, 1):
        with pytest.raises(SigningError) as e:
            open_token(runtime, sid, tok, "000000", actor="lanhdao@cantho.gov.vn")
        assert e.value.message_vi == f"Sai mã PIN. Còn {left} lần thử."
    with pytest.raises(SigningError) as e:
        open_token(runtime, sid, tok, "000000", actor="lanhdao@cantho.gov.vn")
    assert "đã bị khoá" in e.value.message_vi
    with pytest.raises(SigningError) as e:  # locked: even the right PIN waits for the examiner
        open_token(runtime, sid, tok, "123456", actor="lanhdao@cantho.gov.vn")
    assert "báo giám khảo" in e.value.message_vi
    runtime.dispatcher.dispatch(sid, "giamkhao", "signing.unlock", {"token_id": tok})
    assert open_token(runtime, sid, tok, "123456", actor="lanhdao@cantho.gov.vn")[0] == cert
    with runtime.db.read() as s:
        names = [a.name for a in s.scalars(select(Action).where(Action.sandbox_id == sid).order_by(Action.seq))]
        assert names == ["signing.issue_token"] + ["signing.pin_failed"] * 3 + ["signing.unlock"]
        assert verify_chain(s, sid) == (True, None)
        assert [t.kind for t in tokens_of(s, sid, "LanhDao@cantho.gov.vn")] == ["personal"]


def test_a_right_pin_restores_the_tries(runtime, pki):
    _, leader, _ = pki
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts001")
    tok = provision(runtime.dispatcher, sid, "lanhdao@cantho.gov.vn", leader, "123456")
    with pytest.raises(SigningError):
        open_token(runtime, sid, tok, "999999", actor="x")
    open_token(runtime, sid, tok, "123456", actor="x")
    with pytest.raises(SigningError) as e:
        open_token(runtime, sid, tok, "999999", actor="x")
    assert e.value.message_vi == "Sai mã PIN. Còn 2 lần thử."


def test_organisation_token_is_for_the_clerk_only(runtime, pki):
    _, _, org = pki
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts001")
    tok = provision(runtime.dispatcher, sid, "vanthu@cantho.gov.vn", org, "654321", role_required="clerk")
    with pytest.raises(SigningError) as e:
        open_token(runtime, sid, tok, "654321", actor="lanhdao@cantho.gov.vn", role="leader")
    assert e.value.message_vi == "Chứng thư số của cơ quan chỉ văn thư được sử dụng."
    cert, _ = open_token(runtime, sid, tok, "654321", actor="vanthu@cantho.gov.vn", role="clerk")
    assert fingerprint(cert) == org.sha256


def test_a_token_of_another_sandbox_is_out_of_reach(runtime, pki):
    _, leader, _ = pki
    a = get_or_create_sandbox(runtime.db, runtime.clock, "ts001")
    b = get_or_create_sandbox(runtime.db, runtime.clock, "ts002")
    tok_b = provision(runtime.dispatcher, b, "lanhdao@cantho.gov.vn", leader, "123456")
    with pytest.raises(NotFound):
        open_token(runtime, a, tok_b, "123456", actor="lanhdao@cantho.gov.vn")
    with pytest.raises(NotFound):
        runtime.dispatcher.dispatch(a, "giamkhao", "signing.unlock", {"token_id": tok_b})
