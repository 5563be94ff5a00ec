"""Tokens for the demo world (``make demo``): the leader's own certificate, a head of office's
certificate also in the leader's list (the classic mistake, to try in the dialog), and the
organisation's certificate for the clerk. Certificates come from the installation's PKI."""
from __future__ import annotations

from .sandbox_pki import pki_for
from .tokens import provision

DEMO_PIN = "123456"
DEMO_ORG_PIN = "654321"


def provision_demo_tokens(runtime, sandbox_id: int, *, org: str, leader: tuple[str, str, str],
                          clerk: str, other: tuple[str, str, str]) -> dict[str, int]:
    """``leader`` and ``other`` are (address, full name, title); returns token ids by role."""
    pki = pki_for(runtime)
    d = runtime.dispatcher
    lead = pki.issue_personal(leader[1], title=leader[2], organisation=org, email=leader[0])
    oth = pki.issue_personal(other[1], title=other[2], organisation=org, email=other[0])
    org_bundle = pki.issue_organisation(org, locality="Cần Thơ")
    return {
        "leader": provision(d, sandbox_id, leader[0], lead, DEMO_PIN, label="Thiết bị ký số cá nhân"),
        "other_at_leader": provision(d, sandbox_id, leader[0], oth, DEMO_PIN, owner=other[0],
                                     label=f"Chứng thư số của {other[1]} (nhờ ký hộ: sai quy định)"),
        "other": provision(d, sandbox_id, other[0], oth, DEMO_PIN, label="Thiết bị ký số cá nhân"),
        "org": provision(d, sandbox_id, clerk, org_bundle, DEMO_ORG_PIN, role_required="clerk",
                         label="Chứng thư số của cơ quan"),
    }
