"""Declared rules: checked with Vietnamese messages, described in plain Vietnamese."""
from __future__ import annotations

import pytest

from sandbox.contest.rules import (DEFAULT_RULES, apply_rule_option, check_rules, describe_rules, effective_rules,
                                   validate_rules)
from sandbox.kernel.errors import SandboxError


def test_defaults_are_valid_and_follow_the_seeds():
    assert validate_rules({}) == [] and validate_rules(DEFAULT_RULES) == []
    r = effective_rules({})
    assert r["zero_part_fails"] and r["commendation_min_ratio"] == 0.5 and r["exclude_units_with_absentees"]
    assert r["awards"]["city"] == {"tiers": ["so"], "first": 1, "second": 1, "third": 1}


def test_overrides_merge_award_groups():
    r = effective_rules({"awards": {"city": {"second": 2}}, "ties": "extend"})
    assert r["awards"]["city"]["second"] == 2 and r["awards"]["city"]["tiers"] == ["so"]
    assert r["awards"]["district"]["first"] == 1 and r["ties"] == "extend"


def test_every_problem_is_listed_in_vietnamese():
    errors = validate_rules({"zero_part_fail": True, "commendation_min_ratio": 50, "unit_score": "sum",
                             "ties": "random", "bands": [["100", 100, None], ["80 - <90", 80, 90]],
                             "awards": {"city": {"tiers": ["so", "tinh"], "first": -1},
                                        "district": {"tiers": ["so", "xa"]}}})
    assert errors == [
        "Quy định «zero_part_fail» không được hỗ trợ (các quy định: " + ", ".join(DEFAULT_RULES) + ").",
        "«commendation_min_ratio» phải là tỷ lệ từ 0 đến 1 (ví dụ 0.5 là 50% tổng điểm).",
        "«unit_score» phải là một trong: mean, median.",
        "«ties» phải là một trong: consume, extend.",
        "«bands», mức thứ 2: phải liền kề mức trước (giới hạn trên 100%, các mức xếp từ cao xuống thấp).",
        "Nhóm giải «city»: cấp «tinh» không hợp lệ (so, huyen, xa).",
        "Nhóm giải «city»: số giải Nhất phải là số nguyên không âm.",
        "Cấp «so» thuộc hai nhóm giải: «city» và «district».",
    ]
    with pytest.raises(SandboxError) as exc:
        check_rules({"ties": "random"})
    assert exc.value.message_vi.startswith("Quy định của cuộc thi chưa hợp lệ: «ties»")


def test_rule_options_from_the_command_line():
    r = apply_rule_option({}, "zero_part_fails=false")
    r = apply_rule_option(r, "awards.city.second=2")
    r = apply_rule_option(r, "ties=extend")
    assert r == {"zero_part_fails": False, "awards": {"city": {"second": 2}}, "ties": "extend"}
    assert validate_rules(r) == []
    with pytest.raises(SandboxError):
        apply_rule_option({}, "zero_part_fails")


def test_described_in_plain_vietnamese():
    lines = describe_rules({}, 100, [("Lý thuyết", 60), ("Thực hành", 40)])
    assert lines[0] == "Bài thi gồm phần Lý thuyết (60 điểm) và phần Thực hành (40 điểm); tổng điểm tối đa 100 điểm."
    assert lines[1].startswith("Điểm liệt: thí sinh có một phần thi đạt 0 điểm")
    assert "Thí sinh đạt dưới 50% tổng điểm (50 điểm) chưa được xem xét khen thưởng." in lines
    assert "Giải tập thể cấp thành phố (đơn vị cấp sở): 01 giải Nhất, 01 giải Nhì, 01 giải Ba." in lines
    assert any("2 đơn vị đồng hạng Nhì thì không xét giải Ba" in x for x in lines)
    off = describe_rules({"zero_part_fails": False, "exclude_units_with_absentees": False}, 55)
    assert "Không áp dụng điểm liệt: kết quả tính theo tổng điểm các phần thi." in off
    assert "Thí sinh đạt dưới 50% tổng điểm (27,5 điểm) chưa được xem xét khen thưởng." in off
    assert "Đơn vị có thí sinh vắng mặt vẫn được xét giải tập thể." in off
