"""Read functions the UI starts from: the person behind an address, the organisation tree."""
from __future__ import annotations

import pytest

from docflow import api
from sandbox.kernel.errors import Forbidden, NotFound


def test_person_and_tree(dw):
    rt, sb = dw.rt, dw.sandbox_id
    me = api.person(rt, sb, " ChuTich@NinhKieu.CanTho.gov.vn ")
    assert (me.full_name, me.role, me.role_label, me.leads, me.org_code, me.unit_id, me.clerk_mode) == (
        "Nguyễn Văn An", "lanh_dao", "Lãnh đạo", "org", "UBND", None, "npc")
    spec = api.person(rt, sb, dw.a("specialist"))
    assert (spec.unit_code, spec.unit_name) == ("VX", "Phòng Văn hóa - Xã hội")
    assert api.person(rt, sb, "khongco@ninhkieu.cantho.gov.vn") is None
    tree = api.org_tree(rt, sb, dw.org)
    assert tree.org.code == "UBND" and tree.org.place == "Cần Thơ"
    assert [p.full_name for p in tree.leaders] == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Thị Thư"]
    assert [(u.code, [p.full_name for p in u.people]) for u in tree.units] == [
        ("VX", ["Trần Minh Khoa", "Phạm Thị Hoa"]), ("VP", ["Võ Văn Tài"])]
    assert [o.code for o in api.organisations(rt, sb)] == ["UBND", "STTTT"]
    with pytest.raises(NotFound):
        api.org_tree(rt, sb, 999999)
    with pytest.raises(Forbidden):
        api.incoming_list(rt, sb, "khongco@ninhkieu.cantho.gov.vn")
    certs = api.tokens_for(rt, sb, dw.a("leader"))
    assert [(c.common_name, c.kind) for c in certs] == [("Nguyễn Văn An", "personal")]
