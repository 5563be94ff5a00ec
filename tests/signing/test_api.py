"""The public facade: the installation's PKI, token owner vs holder, sign_with_token."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox.kernel.errors import NotFound
from sandbox.kernel.models import Action
from sandbox.kernel.sandboxes import get_or_create_sandbox
from signing import api
from signing.sandbox_pki import FileKeyPool

ORG = "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"


def test_the_installation_pki_is_the_same_in_every_process(sqlite_runtime, tmp_path):
    pki = api.pki_for(sqlite_runtime)
    assert api.pki_for(sqlite_runtime) is pki
    again = api.TestPKI(pool=FileKeyPool(sqlite_runtime.settings.data_dir / "signing" / "ca"))
    assert again.root.sha256 == pki.root.sha256 and again.tsa.sha256 == pki.tsa.sha256
    other = api.TestPKI(pool=FileKeyPool(tmp_path / "elsewhere"))
    assert other.root.sha256 != pki.root.sha256


@pytest.fixture
def tokens(runtime):
    sid = get_or_create_sandbox(runtime.db, runtime.clock, "ts001")
    pki = api.pki_for(runtime)
    leader = pki.issue_personal("Nguyễn Văn An", title="Chủ tịch", organisation=ORG)
    spec = pki.issue_personal("Trần Thị Bình", title="Chuyên viên", organisation=ORG)
    d = runtime.dispatcher
    return sid, {
        "leader": api.provision(d, sid, "lanhdao@cantho.gov.vn", leader, "123456"),
        "spec_at_leader": api.provision(d, sid, "LanhDao@cantho.gov.vn", spec, "123456",
                                        owner="ChuyenVien@cantho.gov.vn"),
        "spec": api.provision(d, sid, "chuyenvien@cantho.gov.vn", spec, "111111"),
    }, leader, spec


def test_owner_vs_holder(runtime, tokens):
    sid, ids, leader, spec = tokens
    with runtime.db.read() as s:
        mine = api.certificates_for(s, sid, "lanhdao@cantho.gov.vn")
        assert [(c.common_name, c.owner) for c in mine] == [
            ("Nguyễn Văn An", "lanhdao@cantho.gov.vn"), ("Trần Thị Bình", "chuyenvien@cantho.gov.vn")]
        assert mine[1].title == "Chuyên viên" and mine[1].kind_vi == "cá nhân"
        assert api.holders_by_fingerprint(s, sid) == {leader.sha256: "lanhdao@cantho.gov.vn",
                                                      spec.sha256: "chuyenvien@cantho.gov.vn"}
        assert api.people_of(s, sid)[spec.sha256] == "Trần Thị Bình (chuyenvien@cantho.gov.vn)"


def test_sign_with_token_signs_the_leader_field(runtime, tokens):
    sid, ids, leader, spec = tokens
    draft = api.sample_draft("Nguyễn Văn An")
    with pytest.raises(api.SigningError) as e:
        api.sign_with_token(runtime, sid, ids["leader"], "000000", draft, actor="lanhdao@cantho.gov.vn")
    assert e.value.message_vi == "Sai mã PIN. Còn 2 lần thử."
    signed = api.sign_with_token(runtime, sid, ids["spec_at_leader"], "123456", draft,
                                 actor="lanhdao@cantho.gov.vn")
    with runtime.db.read() as s:
        people = api.people_of(s, sid)
    report = api.verify_pdf(signed, validation_context=api.pki_for(runtime).validation_context,
                            people=people, expected_leader_fingerprint=leader.sha256)
    (sig,) = report.signatures
    assert sig.field == "SigLanhDao" and sig.trusted and sig.timestamp_ok
    assert sig.person == "Trần Thị Bình (chuyenvien@cantho.gov.vn)"
    v = report.verdict("leader_is_expected_person")
    assert not v.ok and "Trần Thị Bình" in v.message and "Nguyễn Văn An" in v.message
    # a PDF that cannot be signed costs no PIN try
    with pytest.raises(api.SigningError) as e:
        api.sign_with_token(runtime, sid, ids["leader"], "000000", signed, actor="lanhdao@cantho.gov.vn")
    assert "đã được ký" in e.value.message_vi
    with runtime.db.read() as s:
        assert [c.tries_left for c in api.certificates_for(s, sid, "lanhdao@cantho.gov.vn")] == [2, 3]
        names = [a.name for a in s.scalars(select(Action).where(Action.sandbox_id == sid))]
    assert names.count("signing.pin_failed") == 1


def test_sign_with_token_of_another_sandbox_is_not_found(runtime, tokens):
    sid, ids, *_ = tokens
    other = get_or_create_sandbox(runtime.db, runtime.clock, "ts002")
    with pytest.raises(NotFound):
        api.sign_with_token(runtime, other, ids["leader"], "123456", api.sample_draft("A"),
                            actor="lanhdao@cantho.gov.vn")


def test_the_demo_world_has_tokens_for_the_dialog(sqlite_runtime):
    from sandbox.demo.world import DEMO_SANDBOX, build_demo
    from sandbox.kernel.sandboxes import find_sandbox

    build_demo(sqlite_runtime)
    with sqlite_runtime.db.read() as s:
        sid = find_sandbox(s, DEMO_SANDBOX).id
        leader = api.certificates_for(s, sid, "lanhdao@sonoivu.cantho.gov.vn")
        assert [(c.common_name, c.kind) for c in leader] == [("Nguyễn Văn An", "personal"),
                                                             ("Trần Minh Khoa", "personal")]
        clerk = api.certificates_for(s, sid, "vanthu@sonoivu.cantho.gov.vn", role="clerk")
        assert [c.kind for c in clerk] == ["organisation"]


def test_revocations_persist_for_every_process_of_the_installation(sqlite_runtime):
    from signing.sandbox_pki import InstallationPKI

    pki = api.pki_for(sqlite_runtime)
    bundle = pki.issue_personal("Lê Văn Cường", title="Chuyên viên", organisation=ORG)
    serial = pki.revoke(bundle)
    other_process = InstallationPKI(sqlite_runtime.settings.data_dir / "signing" / "ca")
    assert serial in other_process.revoked_serials
    assert other_process.crl().get_revoked_certificate_by_serial_number(serial) is not None
    report = api.verify_pdf(api.sign_leader(api.sample_draft("Lê Văn Cường"), None, bundle,
                                            api.signature_png("Lê Văn Cường")),
                            validation_context=other_process.validation_context)
    assert report.signatures[0].revoked
