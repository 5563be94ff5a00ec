"""A world for the signing dialog: the ts001 people plus the specialist Trần Thị Bình, with
tokens issued by the installation's PKI (signing.api.pki_for)."""
from __future__ import annotations

from signing import api
from tests.factories import PEOPLE, make_world

ORG = "ỦY BAN NHÂN DÂN THÀNH PHỐ CẦN THƠ"
SPECIALIST = ("chuyenvien", "chuyenvien@cantho.gov.vn", "Trần Thị Bình")
LEADER_PIN, SPECIALIST_PIN, ORG_PIN = "123456", "246810", "654321"


def signing_world(rt, name: str = "ts001"):
    """The world with tokens: ``world.tokens`` = leader, specialist_at_leader (the
    specialist's certificate in the leader's list), specialist, org (clerk only)."""
    world = make_world(rt, name, people=PEOPLE + [SPECIALIST])
    pki = api.pki_for(rt)
    leader = pki.issue_personal("Nguyễn Văn An", title="Chủ tịch", unit="Lãnh đạo UBND thành phố",
                                organisation=ORG, email="lanhdao@cantho.gov.vn")
    spec = pki.issue_personal("Trần Thị Bình", title="Chuyên viên", unit="Văn phòng UBND thành phố",
                              organisation=ORG, email="chuyenvien@cantho.gov.vn")
    org = pki.issue_organisation(ORG, locality="Cần Thơ")
    d, sid = rt.dispatcher, world.sandbox_id
    world.tokens = {
        "leader": api.provision(d, sid, "lanhdao@cantho.gov.vn", leader, LEADER_PIN,
                                label="Thiết bị ký số của lãnh đạo"),
        "specialist_at_leader": api.provision(d, sid, "lanhdao@cantho.gov.vn", spec, LEADER_PIN,
                                              label="Chứng thư số của chuyên viên",
                                              owner="chuyenvien@cantho.gov.vn"),
        "specialist": api.provision(d, sid, "chuyenvien@cantho.gov.vn", spec, SPECIALIST_PIN),
        "org": api.provision(d, sid, "vanthu@cantho.gov.vn", org, ORG_PIN, role_required="clerk",
                             label="Chứng thư số của cơ quan"),
    }
    world.bundles = {"leader": leader, "specialist": spec, "org": org}
    return world
