"""Acceptance 1 (incoming): directive + forwarding, exactly one xử lý chính, deadlines,
progress by assignees, the tracking view with overdue flags."""
from __future__ import annotations

from datetime import date

import pytest

from docflow import api
from sandbox.kernel.errors import Forbidden

from .factories import an_incoming, forward_to_clerk
from .test_outgoing import refused


def forward(w, doc, rows=None, directive="Giao Phòng VH-XH chủ trì, Văn phòng phối hợp; báo cáo trước 20/3."):
    rows = rows if rows is not None else [
        {"unit_id": w.units["VX"], "role": "xlc", "deadline": "2025-03-20"},
        {"unit_id": w.units["VP"], "role": "ph", "deadline": date(2025, 3, 18)},
        {"person_id": w.person_ids["vice"], "role": "db"},
    ]
    return api.direct(w.rt, w.sandbox_id, w.a("leader"), doc, directive, rows)


def test_register_direct_progress_done(dw):
    rt, sb = dw.rt, dw.sandbox_id
    doc = an_incoming(dw)
    d = api.incoming_doc(rt, sb, dw.a("clerk"), doc)
    assert d.arrival_number == 1 and d.status == "registered" and d.urgency_label == "Khẩn"
    lst = api.incoming_list(rt, sb, dw.a("leader"), tab="cho_xu_ly")
    assert [r.id for r in lst.items] == [doc] and lst.counts == {"cho_xu_ly": 1, "dang_xu_ly": 0, "da_xu_ly": 0,
                                                                  "all": 1}
    res = forward(dw, doc)
    assert res["status"] == "assigned" and len(res["assignment_ids"]) == 3
    d = api.incoming_doc(rt, sb, dw.a("head"), doc)
    assert d.directive.startswith("Giao Phòng") and d.directive_by == dw.a("leader") and d.due_date == date(2025, 3, 20)
    assert [(a.role, a.target_label, a.status) for a in d.assignments] == [
        ("xlc", "Phòng Văn hóa - Xã hội", "unread"), ("ph", "Văn phòng HĐND và UBND", "unread"),
        ("db", "Trần Thị Bình (Phó Chủ tịch)", "unread")]
    # the head of VX and the VX specialist see it waiting; the VP staff too (phối hợp)
    for who in ("head", "specialist", "staff_vp"):
        assert api.incoming_list(rt, sb, dw.a(who), tab="cho_xu_ly").total == 1
    assert api.mark_read(rt, sb, dw.a("specialist"), doc) == [d.assignments[0].id]
    xlc = d.assignments[0].id
    api.progress(rt, sb, dw.a("specialist"), xlc, "processing", "Đang tổng hợp số liệu.")
    assert api.incoming_list(rt, sb, dw.a("head"), tab="dang_xu_ly").total == 1
    assert api.incoming_doc(rt, sb, None, doc).status == "in_progress"
    api.progress(rt, sb, dw.a("head"), xlc, "completed", "Đã gửi báo cáo.")
    d = api.incoming_doc(rt, sb, None, doc)
    assert d.status == "done" and d.assignments[0].completed_at is not None
    assert [n["text"] for n in d.assignments[0].notes] == ["Đang tổng hợp số liệu.", "Đã gửi báo cáo."]
    assert api.incoming_list(rt, sb, dw.a("leader"), tab="da_xu_ly").total == 1
    assert [e.what for e in d.history][-1].endswith("Hoàn thành - Đã gửi báo cáo.")


def test_second_xlc_is_refused(dw):
    doc = an_incoming(dw)
    two = [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "2025-03-20"},
           {"unit_id": dw.units["VP"], "role": "xlc", "deadline": "2025-03-20"}]
    refused(dw, forward, dw, doc, two, contains="chỉ có một đơn vị hoặc cá nhân xử lý chính")
    forward(dw, doc)
    refused(dw, forward, dw, doc, [{"person_id": dw.person_ids["staff_vp"], "role": "xlc",
                                    "deadline": "2025-03-20"}], contains="chỉ có một")
    none = [{"unit_id": dw.units["VP"], "role": "ph", "deadline": "2025-03-20"}]
    doc2 = an_incoming(dw)
    refused(dw, forward, dw, doc2, none, contains="đúng một đơn vị hoặc cá nhân xử lý chính")


def test_deadline_in_the_past_is_refused(dw, clock):
    doc = an_incoming(dw)
    msg = refused(dw, forward, dw, doc, [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "13/03/2025"}],
                  contains="đã qua")
    assert "13/03/2025" in msg and "14/03/2025" in msg
    refused(dw, forward, dw, doc, [{"unit_id": dw.units["VX"], "role": "xlc"}], contains="Hãy chọn hạn xử lý")
    refused(dw, forward, dw, doc, [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "31/02/2025"}],
            contains="không hợp lệ")
    # Today (Vietnam time) is allowed: 14 March 2025, 09:00 in Cần Thơ
    forward(dw, doc, [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "14/03/2025"}])


def test_only_leaders_forward_and_only_assignees_report(dw):
    rt, sb = dw.rt, dw.sandbox_id
    doc = an_incoming(dw)
    refused(dw, api.direct, rt, sb, dw.a("specialist"), doc, "Giao",
            [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "2025-03-20"}], exc=Forbidden)
    refused(dw, api.direct, rt, sb, dw.a("leader"), doc, "  ",
            [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "2025-03-20"}], contains="ý kiến chỉ đạo")
    ids = forward(dw, doc)["assignment_ids"]
    refused(dw, api.progress, rt, sb, dw.a("staff_vp"), ids[0], "processing", exc=Forbidden)
    api.progress(rt, sb, dw.a("specialist"), ids[0], "completed")
    refused(dw, api.progress, rt, sb, dw.a("specialist"), ids[0], "processing", contains="Không thể chuyển")


def test_tracking_overdue(dw, clock):
    rt, sb = dw.rt, dw.sandbox_id
    doc = an_incoming(dw)
    ids = forward(dw, doc)["assignment_ids"]
    api.progress(rt, sb, dw.a("specialist"), ids[0], "completed", "Xong.")
    rows = api.tracking(rt, sb, dw.a("leader"))
    assert len(rows) == 1 and not rows[0].overdue
    clock.set(clock.now().replace(day=19))  # VP's phối hợp deadline (18/03) has passed
    rows = api.tracking(rt, sb, dw.a("leader"))
    flags = {a.role: a.overdue for a in rows[0].assignments}
    assert flags == {"xlc": False, "ph": True, "db": False} and rows[0].overdue
    assert [r.incoming.id for r in api.tracking(rt, sb, dw.a("leader"), only_overdue=True)] == [doc]
    who = api.assignments_of(rt, sb, doc)
    assert who[0].assigned_by == dw.a("leader") and who[0].completed_at is not None


def test_clerk_registers_and_others_may_not(dw):
    rt, sb = dw.rt, dw.sandbox_id
    res = api.register_incoming(rt, sb, dw.org, sender_name="Sở Tài chính", summary="V/v dự toán 2025",
                                actor=dw.a("clerk"))
    assert res["arrival_number"] == 1
    refused(dw, api.register_incoming, rt, sb, dw.org, sender_name="X", summary="Y", actor=dw.a("leader"),
            exc=Forbidden, contains="Chỉ văn thư")
    assert api.register_incoming(rt, sb, dw.org, sender_name="Sở Y tế", summary="V/v tiêm chủng",
                                 actor=dw.a("clerk"))["arrival_number"] == 2


@pytest.mark.parametrize("bad", [{"unit_id": 999999, "role": "xlc", "deadline": "2025-03-20"},
                                 {"unit_id": 1, "role": "chu_tri", "deadline": "2025-03-20"},
                                 {"role": "xlc", "deadline": "2025-03-20"}])
def test_bad_rows_are_refused(dw, bad):
    refused(dw, forward, dw, an_incoming(dw), [bad])


def test_unit_leader_passes_the_unit_assignment_on(dw):
    """Second level of the phiếu giải quyết: the head of VX gives the document to a VX
    specialist; the one-xử-lý-chính rule holds within his level; outsiders are refused."""
    rt, sb = dw.rt, dw.sandbox_id
    doc = an_incoming(dw)
    refused(dw, api.direct, rt, sb, dw.a("head"), doc, "Giao",
            [{"person_id": dw.person_ids["specialist"], "role": "xlc", "deadline": "2025-03-19"}],
            exc=Forbidden, contains="chưa được giao cho đơn vị")
    unit_row = forward(dw, doc)["assignment_ids"][0]
    refused(dw, api.direct, rt, sb, dw.a("head"), doc, "",
            [{"person_id": dw.person_ids["staff_vp"], "role": "xlc", "deadline": "2025-03-19"}],
            contains="không thuộc đơn vị của bạn")
    res = api.direct(rt, sb, dw.a("head"), doc, "Đồng chí Hoa dự thảo báo cáo.",
                     [{"person_id": dw.person_ids["specialist"], "role": "xlc", "deadline": "2025-03-19"}])
    refused(dw, api.direct, rt, sb, dw.a("head"), doc, "",
            [{"person_id": dw.person_ids["head"], "role": "xlc", "deadline": "2025-03-19"}], contains="chỉ có một")
    rows = {a.id: a for a in api.assignments_of(rt, sb, doc)}
    sub = rows[res["assignment_ids"][0]]
    assert sub.parent_id == unit_row and sub.role == "xlc" and sub.assigned_by == dw.a("head")
    assert rows[unit_row].status == "processing"
    d = api.incoming_doc(rt, sb, dw.a("specialist"), doc)
    assert d.directive.startswith("Giao Phòng") and d.my_role == "xlc" and sub.id in d.my_assignments
    api.progress(rt, sb, dw.a("specialist"), sub.id, "completed", "Đã dự thảo.")
    assert api.incoming_doc(rt, sb, None, doc).status == "in_progress"
    api.progress(rt, sb, dw.a("head"), unit_row, "completed", "Đã báo cáo lãnh đạo.")
    assert api.incoming_doc(rt, sb, None, doc).status == "done"


def test_opening_the_tracking_view_is_recorded(dw):
    rt, sb = dw.rt, dw.sandbox_id
    doc = an_incoming(dw)
    api.record_view(rt, sb, dw.a("leader"), "tracking")
    api.record_view(rt, sb, dw.a("leader"), "incoming_doc", "in", doc)
    seen = api.views(rt, sb, dw.a("leader"))
    assert [(v["page"], v["doc_id"]) for v in seen] == [("tracking", None), ("incoming_doc", doc)]
    assert api.views(rt, sb, page="tracking")[0]["actor"] == dw.a("leader")
    refused(dw, api.record_view, rt, sb, dw.a("leader"), "admin")
    refused(dw, api.record_view, rt, sb, dw.a("leader"), "incoming_doc", "in", 99999)


def test_report_and_lien_thong_codes(dw, clock):
    from .factories import LEADER_PIN, a_draft

    rt, sb = dw.rt, dw.sandbox_id
    a, b = an_incoming(dw), an_incoming(dw, "V/v kiểm tra công vụ")
    ids_a = forward(dw, a)["assignment_ids"]
    forward(dw, b, [{"unit_id": dw.units["VX"], "role": "xlc", "deadline": "2025-03-15"}])
    api.progress(rt, sb, dw.a("specialist"), ids_a[0], "completed", "Xong.")
    clock.set(clock.now().replace(day=17))
    rep = api.report(rt, sb, dw.a("leader"))
    assert rep["total"] == 2 and rep["documents"]["done"] == 1 and rep["documents"]["assigned"] == 1
    vx = next(r for r in rep["rows"] if r.target_label == "Phòng Văn hóa - Xã hội")
    assert (vx.total, vx.completed_on_time, vx.overdue, vx.in_progress) == (2, 1, 1, 0)
    # the sender sees the receiving organisation's progress as liên thông codes
    doc = a_draft(dw, recipients=[{"kind": "org", "id": dw.other_org}, {"kind": "email", "address":
                                                                          "phongtiepnhan@soxaydung.cantho.gov.vn"}])
    api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, dw.a("leader"), doc)
    assert [x["lien_thong"] for x in api.outgoing_doc(rt, sb, None, doc).deliveries] == ["03", "01"]


def test_clerk_returns_a_document_to_an_in_world_sender(dw):
    from .factories import LEADER_PIN, OTHER_CLERK, a_draft

    rt, sb = dw.rt, dw.sandbox_id
    doc = a_draft(dw, recipients=[{"kind": "org", "id": dw.other_org}])
    api.sign_as_leader(rt, sb, dw.a("leader"), doc, dw.tokens["leader"], LEADER_PIN)
    forward_to_clerk(rt, sb, dw.a("leader"), doc)
    inc = api.incoming_list(rt, sb, OTHER_CLERK).items[0].id
    refused(dw, api.reject_incoming, rt, sb, dw.a("clerk"), inc, "Không đúng thẩm quyền", exc=Forbidden)
    refused(dw, api.reject_incoming, rt, sb, OTHER_CLERK, inc, " ", contains="lý do")
    api.reject_incoming(rt, sb, OTHER_CLERK, inc, "Văn bản không thuộc thẩm quyền giải quyết của Sở.")
    got = api.incoming_doc(rt, sb, OTHER_CLERK, inc)
    assert got.status == "rejected" and got.status_label == "Đã trả lại"
    out = api.outgoing_doc(rt, sb, dw.a("leader"), doc)
    assert [(x["status"], x["lien_thong"]) for x in out.deliveries] == [("rejected", "02")]
    assert "trả lại văn bản: Văn bản không thuộc thẩm quyền" in out.history[-1].what
    refused(dw, api.reject_incoming, rt, sb, OTHER_CLERK, inc, "lần nữa", contains="Chỉ trả lại được")
