"""Results from the rows: totals, bands, điểm liệt, commendation, units, tiers, awards and
ties explained."""
from __future__ import annotations

import pytest

from sandbox.contest.results import (FAIL_LABEL, UnitResult, assign_awards, results_for, vn_count, vn_num,
                                     vn_percent)

from .results_factory import add_candidates, add_units, make_contest, scored

UNITS = [("Sở Tư pháp", "so"), ("Sở Y tế", "so"), ("Sở Tài chính", "so"), ("Sở Xây dựng", "so"),
         ("UBND quận Ninh Kiều", "huyen"), ("UBND huyện Phong Điền", "huyen"),
         ("UBND phường An Hòa", "xa"), ("UBND xã Nhơn Ái", "xa")]

ROWS = [
    # number, name, unit, scores, absent
    ("SBD001", "Nguyễn Văn An", "Sở Tư pháp", scored(60, 40), None),          # 100
    ("SBD002", "Trần Thị Bình", "Sở Tư pháp", scored(56, 40), None),          # 96
    ("SBD003", "Lê Văn Cường", "Sở Y tế", scored(58, 40), None),              # 98
    ("SBD004", "Phạm Thị Dung", "Sở Y tế", scored(50, 30), None),             # 80
    ("SBD005", "Hoàng Văn Em", "Sở Tài chính", scored(60, 29), None),         # 89 -> unit 89
    ("SBD006", "Võ Thị Giang", "Sở Xây dựng", scored(60, 40), None),          # 100 (unit 100, absentee)
    ("SBD007", "Đặng Văn Hải", "Sở Xây dựng", None, "Đi công tác (Công văn 12/SXD)"),
    ("SBD008", "Bùi Thị Hoa", "UBND quận Ninh Kiều", scored(54, 38), None),   # 92
    ("SBD009", "Đỗ Văn Khoa", "UBND quận Ninh Kiều", scored(40, 34), None),   # 74
    ("SBD010", "Ngô Thị Lan", "UBND huyện Phong Điền", scored(50, 34), None),  # 84
    ("SBD011", "Dương Văn Minh", "UBND phường An Hòa", scored(45, 0), None),   # 45, điểm liệt
    ("SBD012", "Lý Thị Ngọc", "UBND phường An Hòa", scored(30, 25), None),     # 55
    ("SBD013", "Trịnh Văn Phúc", "UBND xã Nhơn Ái", scored(20, 15), None),     # 35 < 50
]


@pytest.fixture
def contest(sqlite_runtime):
    rt = sqlite_runtime
    c = make_contest(rt)
    add_candidates(rt, c, add_units(rt, c, UNITS), ROWS)
    return c


def test_numbers_in_vietnamese():
    assert vn_percent(13.4328) == "13,43%" and vn_percent(20.0) == "20%" and vn_percent(16.6) == "16,60%"
    assert vn_num(82.5) == "82,5" and vn_num(100.0) == "100" and vn_num(83.333) == "83,33"
    assert [vn_count(n) for n in (0, 1, 9, 10, 72)] == ["0", "01", "09", "10", "72"]


def test_candidates_totals_bands_and_zero_part(sqlite_runtime, contest):
    res = results_for(sqlite_runtime, "cds2023")
    assert res.max_total == 100
    by = {c.number: c for c in res.candidates}
    assert [by[n].total for n in ("SBD001", "SBD002", "SBD005", "SBD011")] == [100, 96, 89, 45]
    assert by["SBD001"].band_label == "100" and by["SBD002"].band_label == "90 - <100"
    assert by["SBD005"].band_label == "80 - <90" and by["SBD012"].band_label == "50 - <70"
    assert by["SBD011"].failed and by["SBD011"].band_label == FAIL_LABEL
    assert by["SBD011"].fail_reason == "phần thi thực hành đạt 0 điểm"
    assert by["SBD013"].failed and by["SBD013"].fail_reason == "dưới 50 điểm"
    assert by["SBD012"].commendable and not by["SBD013"].commendable and not by["SBD011"].commendable
    assert by["SBD007"].absent and by["SBD007"].total is None and by["SBD007"].absence_reason.startswith("Đi công tác")
    assert by["SBD001"].rank == 1 and by["SBD006"].rank == 1 and by["SBD003"].rank == 3
    tiers = {t.tier: t for t in res.tiers}
    assert tiers["so"].band_counts == [2, 2, 2, 0, 0, 0] and tiers["so"].absent == 1
    assert tiers["huyen"].band_counts == [0, 1, 1, 1, 0, 0]
    assert tiers["xa"].band_counts == [0, 0, 0, 0, 1, 2]
    assert [res.band_total(i) for i in range(6)] == [2, 3, 3, 1, 1, 2]


def test_units_scores_ranks_and_awards(sqlite_runtime, contest):
    res = results_for(sqlite_runtime, "cds2023")
    units = {u.name: u for u in res.units}
    assert units["Sở Tư pháp"].score == 98 and units["Sở Y tế"].score == 89
    assert units["Sở Xây dựng"].score == 100 and not units["Sở Xây dựng"].eligible
    assert units["Sở Xây dựng"].exclusion_reason == "có 01 thí sinh vắng mặt"
    assert units["UBND quận Ninh Kiều"].score == 83 and units["UBND phường An Hòa"].score == 50
    assert [units[n].rank for n in ("Sở Xây dựng", "Sở Tư pháp", "Sở Y tế", "Sở Tài chính")] == [1, 2, 3, 3]
    city, district = res.awards
    assert [(w["level"], w["unit"]) for w in city.winners] == [
        ("first", "Sở Tư pháp"), ("second", "Sở Tài chính"), ("second", "Sở Y tế")]
    assert "02 đơn vị đồng hạng Nhì (89 điểm: Sở Tài chính, Sở Y tế) cùng nhận giải Nhì nên không xét giải Ba." \
        in city.notes
    assert any(n.startswith("Sở Xây dựng (100 điểm) có 01 thí sinh vắng mặt nên không được xét") for n in city.notes)
    assert [(w["level"], w["unit"]) for w in district.winners] == [
        ("first", "UBND huyện Phong Điền"), ("second", "UBND quận Ninh Kiều"), ("third", "UBND phường An Hòa")]
    assert units["UBND xã Nhơn Ái"].band_label == "<50"


def test_rules_change_the_results(sqlite_runtime):
    rt = sqlite_runtime
    c = make_contest(rt, "cds-r", rules={"zero_part_fails": False, "exclude_units_with_absentees": False,
                                         "absent_counts_as_zero": True, "ties": "extend"})
    add_candidates(rt, c, add_units(rt, c, UNITS), ROWS)
    res = results_for(rt, "cds-r")
    by = {x.number: x for x in res.candidates}
    assert by["SBD011"].failed and by["SBD011"].fail_reason == "dưới 50 điểm"  # no điểm liệt, still < 50
    units = {u.name: u for u in res.units}
    assert units["Sở Xây dựng"].score == 50 and units["Sở Xây dựng"].eligible
    city = res.awards[0]
    assert [(w["level"], w["unit"]) for w in city.winners] == [
        ("first", "Sở Tư pháp"), ("second", "Sở Tài chính"), ("second", "Sở Y tế"), ("third", "Sở Xây dựng")]


def _units(scores):
    return [UnitResult(i, f"Đơn vị {chr(65 + i)}", "so", "city", 1, 1, 0, score=s, eligible=True)
            for i, s in enumerate(scores)]


def test_tie_rules():
    counts = {"first": 1, "second": 1, "third": 1}
    winners, notes, given = assign_awards(_units([95, 95, 90, 80]), counts, "consume")
    assert [w["level"] for w in winners] == ["first", "first", "third"]
    assert notes == ["02 đơn vị đồng hạng Nhất (95 điểm: Đơn vị A, Đơn vị B) cùng nhận giải Nhất nên không xét "
                     "giải Nhì."]
    winners, notes, _ = assign_awards(_units([95, 95, 95, 80]), counts, "consume")
    assert [w["level"] for w in winners] == ["first"] * 3
    assert "nên không xét giải Nhì và giải Ba." in notes[0]
    winners, notes, _ = assign_awards(_units([99, 90, 80, 80]), counts, "consume")
    assert [w["level"] for w in winners] == ["first", "second", "third", "third"]
    assert "số giải Ba nhiều hơn số đã công bố" in notes[0]
    winners, notes, _ = assign_awards(_units([95, 95, 90, 80]), counts, "extend")
    assert [w["level"] for w in winners] == ["first", "first", "second", "third"]
    winners, notes, _ = assign_awards(_units([95, 95, 90]), {"first": 1, "second": 2, "third": 0}, "consume")
    assert [w["level"] for w in winners] == ["first", "first", "second"]
    assert notes[0].endswith("nên giảm số giải Nhì.")
    winners, notes, _ = assign_awards(_units([95]), counts, "consume")
    assert notes == ["Không đủ đơn vị được xét để trao giải Nhì.", "Không đủ đơn vị được xét để trao giải Ba."]
