"""Acceptance 5 at the API level: no id of one sandbox reaches another sandbox's documents."""
from __future__ import annotations

import pytest

from docflow import api
from sandbox.kernel.errors import NotFound, SandboxError

from .factories import LEADER_PIN, a_draft, an_incoming, make_docworld, snapshot


def test_ids_of_another_sandbox_reach_nothing(runtime, clock):
    a = make_docworld(runtime, "ts001")
    b = make_docworld(runtime, "ts002")
    rt = runtime
    out_a, in_a = a_draft(a), an_incoming(a)
    api.direct(rt, a.sandbox_id, a.a("leader"), in_a, "Giao VX",
               [{"unit_id": a.units["VX"], "role": "xlc", "deadline": "2025-03-20"}])
    asg_a = api.assignments_of(rt, a.sandbox_id, in_a)[0].id
    before = snapshot(rt, b.sandbox_id)
    # B's people, with A's ids (the same addresses exist in both worlds)
    with pytest.raises(NotFound):
        api.outgoing_doc(rt, b.sandbox_id, b.a("leader"), out_a)
    with pytest.raises(NotFound):
        api.incoming_doc(rt, b.sandbox_id, b.a("leader"), in_a)
    with pytest.raises(NotFound):
        api.pdf_of(rt, b.sandbox_id, None, "out", out_a)
    with pytest.raises(NotFound):
        api.signatures_of(rt, b.sandbox_id, out_a)
    assert api.assignments_of(rt, b.sandbox_id, in_a) == []
    assert api.history(rt, b.sandbox_id, "out", out_a) == []
    assert api.incoming_list(rt, b.sandbox_id, b.a("leader")).total == 0
    assert api.outgoing_list(rt, b.sandbox_id, b.a("leader")).total == 0
    assert api.search(rt, b.sandbox_id, b.a("clerk"), "chuyển đổi số") == {"incoming": [], "outgoing": []}
    assert api.tracking(rt, b.sandbox_id, b.a("leader")) == []
    for step, args in [(api.approve, (out_a,)), (api.submit, (out_a,)), (api.return_draft, (out_a, "x")),
                       (api.forward_to_clerk, (out_a,)), (api.number, (out_a,)), (api.issue, (out_a,)),
                       (api.comment, (out_a, "Ý kiến")), (api.progress, (asg_a, "read")),
                       (api.direct, (in_a, "Giao", [{"unit_id": b.units["VX"], "role": "xlc",
                                                      "deadline": "2025-03-20"}])),
                       (api.sign_as_leader, (out_a, b.tokens["leader"], LEADER_PIN))]:
        with pytest.raises(SandboxError):
            step(rt, b.sandbox_id, b.a("leader"), *args)
    # a token of A used in B
    doc_b = a_draft(b)
    before = snapshot(rt, b.sandbox_id)
    with pytest.raises(NotFound):
        api.sign_as_leader(rt, b.sandbox_id, b.a("leader"), doc_b, a.tokens["leader"], LEADER_PIN)
    # A's unit / org in B's forms
    with pytest.raises(SandboxError):
        api.direct(rt, b.sandbox_id, b.a("leader"), an_incoming(b), "Giao",
                   [{"unit_id": a.units["VX"], "role": "xlc", "deadline": "2025-03-20"}])
    with pytest.raises(SandboxError):
        api.create_draft(rt, b.sandbox_id, b.a("specialist"), type_code="CV", summary="x",
                         signer_id=b.person_ids["leader"], signer_title="CHỦ TỊCH",
                         recipients=[{"kind": "org", "id": a.other_org}])
    after = snapshot(rt, b.sandbox_id)
    assert [r["id"] for r in after["docflow_outgoing"]] == [r["id"] for r in before["docflow_outgoing"]]
    # A is untouched by all of it
    assert api.outgoing_doc(rt, a.sandbox_id, a.a("leader"), out_a).status == "submitted"
    assert api.assignments_of(rt, a.sandbox_id, in_a)[0].status == "unread"
