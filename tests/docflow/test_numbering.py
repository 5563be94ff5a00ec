"""Acceptance 4: numbering restarts at 01 on 1 January (Vietnam time); symbols and date lines
follow Decree 30 (DOMAIN.md §1)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from docflow import api, rules

from .factories import LEADER_PIN, a_draft, an_incoming, forward_to_clerk


def release(w, **kw) -> str:
    doc = a_draft(w, **kw)
    api.sign_as_leader(w.rt, w.sandbox_id, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    res = forward_to_clerk(w.rt, w.sandbox_id, w.a("leader"), doc)
    assert res["released"], res
    return res["symbol"]


def test_symbols_and_date_lines():
    assert rules.symbol(5, "QĐ", "UBND") == "05/QĐ-UBND"
    assert rules.symbol(15, "QĐ", "BNV") == "15/QĐ-BNV"
    assert rules.symbol(123, "QĐ", "UBND") == "123/QĐ-UBND"
    assert rules.symbol(12, "CV", "UBND", "VX") == "12/UBND-VX"
    assert rules.symbol(1, "CV", "UBND") == "01/UBND"
    assert rules.date_line("Hà Nội", date(2020, 1, 5)) == "Hà Nội, ngày 05 tháng 01 năm 2020"
    assert rules.date_line("Sơn Hà", date(2025, 3, 15)) == "Sơn Hà, ngày 15 tháng 3 năm 2025"
    assert rules.date_line("Cần Thơ", date(2025, 2, 1)) == "Cần Thơ, ngày 01 tháng 02 năm 2025"
    assert rules.date_line("Cần Thơ", date(2025, 12, 31)) == "Cần Thơ, ngày 31 tháng 12 năm 2025"


def test_year_roll_over_restarts_at_01(dw, clock):
    # 31 December 2024, 23:00 in Cần Thơ (16:00 UTC)
    clock.set(datetime(2024, 12, 31, 16, 0, tzinfo=timezone.utc))
    assert release(dw) == "01/UBND-VX"
    assert release(dw, type_code="QĐ", summary="Về việc khen thưởng") == "02/QĐ-UBND"
    assert an_incoming(dw) and api.incoming_list(dw.rt, dw.sandbox_id, dw.a("clerk")).items[0].arrival_number == 1
    # 1 January 2025, 00:30 in Cần Thơ is still 31 December 17:30 UTC: the new year has begun
    clock.set(datetime(2024, 12, 31, 17, 30, tzinfo=timezone.utc))
    assert release(dw, type_code="TB", summary="Thông báo lịch nghỉ Tết") == "01/TB-UBND"
    assert release(dw) == "02/UBND-VX"
    inc = an_incoming(dw)
    assert api.incoming_doc(dw.rt, dw.sandbox_id, None, inc).arrival_number == 1
    assert [e["symbol"] for e in api.register(dw.rt, dw.sandbox_id, dw.org, "di", 2024)] == ["01/UBND-VX",
                                                                                            "02/QĐ-UBND"]
    assert [e["symbol"] for e in api.register(dw.rt, dw.sandbox_id, dw.org, "di", 2025)] == ["01/TB-UBND",
                                                                                            "02/UBND-VX"]
    d = api.outgoing_list(dw.rt, dw.sandbox_id, dw.a("clerk"), q="02/UBND-VX").items[0]
    assert d.issued_date == date(2025, 1, 1)
    hist = api.history(dw.rt, dw.sandbox_id, "out", d.id)
    assert any("Cần Thơ, ngày 01 tháng 01 năm 2025" in e.what for e in hist)


def test_ten_and_above_have_no_leading_zero(dw_person_clerk):
    w = dw_person_clerk
    doc = a_draft(w)
    api.sign_as_leader(w.rt, w.sandbox_id, w.a("leader"), doc, w.tokens["leader"], LEADER_PIN)
    forward_to_clerk(w.rt, w.sandbox_id, w.a("leader"), doc)
    assert api.number(w.rt, w.sandbox_id, w.a("clerk"), doc, number=10)["symbol"] == "10/UBND-VX"
