"""The contest's declared rules: what a zero in one part means, who may be commended, how a
unit's collective score is computed, the score bands, the award counts and what a tie does to
them. Each rule is shown on the contest page (``describe_rules``), checked before it is saved
(``validate_rules``) and applied by ``sandbox.contest.results``.

A contest stores only what it changes (``Contest.rules``); ``effective_rules`` lays it over
``DEFAULT_RULES``."""
from __future__ import annotations

import copy
import json
from typing import Any

from sandbox.kernel import vnformat
from sandbox.kernel.errors import SandboxError

#: the defaults follow the 2023 results report (seed 000) and the 2024 plan (seed 002)
DEFAULT_RULES: dict = {
    # a part scoring 0 fails the candidate ("điểm liệt")
    "zero_part_fails": True,
    # below this share of the total: not considered for commendation
    "commendation_min_ratio": 0.5,
    # a unit's collective score: the mean of its candidates' totals ("mean") or the median
    "unit_score": "mean",
    # whether an absent candidate counts as 0 in the unit's score (else left out of it)
    "absent_counts_as_zero": False,
    # a unit with an absent candidate is excluded from collective awards
    "exclude_units_with_absentees": True,
    # score bands in percent of the total, highest first: [label, lower bound inclusive, upper bound exclusive]
    # below the lowest band (or failed by a zero part): "không đạt yêu cầu"
    "bands": [["100", 100, None], ["90 - <100", 90, 100], ["80 - <90", 80, 90], ["70 - <80", 70, 80],
              ["50 - <70", 50, 70]],
    # the units' (collective) bands, as the 2023 report grouped them
    "unit_bands": [["≥90", 90, None], ["80 - <90", 80, 90], ["70 - <80", 70, 80], ["50 - <70", 50, 70]],
    # award counts per level for collective (unit) awards, by group of tiers (2024 plan: one of each)
    "awards": {"city": {"tiers": ["so"], "first": 1, "second": 1, "third": 1},
               "district": {"tiers": ["huyen", "xa"], "first": 1, "second": 1, "third": 1}},
    # equal scores share a rank. "consume": the tied units take up the places of the levels
    # below (2 units tied for second with one second and one third prize: no third prize);
    # "extend": every tied unit gets the level and the next level is still awarded
    "ties": "consume",
}

LEVELS = ("first", "second", "third")
LEVEL_VI = {"first": "Nhất", "second": "Nhì", "third": "Ba"}
GROUP_VI = {"city": "cấp thành phố", "district": "cấp huyện"}
TIER_VI = {"so": "cấp sở", "huyen": "cấp huyện", "xa": "cấp xã"}
UNIT_SCORES = {"mean": "trung bình cộng", "median": "trung vị"}
TIE_RULES = ("consume", "extend")


def effective_rules(stored: dict | None) -> dict:
    """The defaults overlaid with what a contest declares (``awards`` group by group)."""
    rules = copy.deepcopy(DEFAULT_RULES)
    for key, value in (stored or {}).items():
        if key == "awards" and isinstance(value, dict):
            awards = copy.deepcopy(DEFAULT_RULES["awards"])   # group by group; a group's counts may be 0
            for group, spec in value.items():
                base = copy.deepcopy(DEFAULT_RULES["awards"].get(group, {"tiers": [], "first": 0, "second": 0,
                                                                           "third": 0}))
                if isinstance(spec, dict):
                    base.update(spec)
                    awards[group] = base
                else:
                    awards[group] = spec
            rules["awards"] = awards
        else:
            rules[key] = copy.deepcopy(value)
    return rules


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_bands(name: str, bands: Any, errors: list[str]) -> None:
    if not isinstance(bands, list) or not bands:
        errors.append(f"«{name}» phải là danh sách các mức điểm [nhãn, từ, dưới], không được rỗng.")
        return
    previous_low = None
    for i, band in enumerate(bands, 1):
        if not (isinstance(band, (list, tuple)) and len(band) == 3 and isinstance(band[0], str) and _number(band[1])
                and (band[2] is None or _number(band[2]))):
            errors.append(f"«{name}», mức thứ {i}: phải có dạng [nhãn, từ (%), dưới (%) hoặc null].")
            continue
        _, low, high = band
        if not 0 <= low <= 100 or (high is not None and not low < high <= 100):
            errors.append(f"«{name}», mức thứ {i}: giới hạn phải nằm trong 0–100% và «từ» nhỏ hơn «dưới».")
        if i == 1 and high is not None and high != 100:
            errors.append(f"«{name}»: mức cao nhất phải không có giới hạn trên (null) hoặc kết thúc ở 100%.")
        if previous_low is not None and high != previous_low:
            errors.append(f"«{name}», mức thứ {i}: phải liền kề mức trước (giới hạn trên {previous_low}%, "
                          "các mức xếp từ cao xuống thấp).")
        previous_low = low


def validate_rules(stored: dict | None) -> list[str]:
    """Every problem of a contest's declared rules, in Vietnamese (empty when they are sound).
    Unknown keys are refused, so a misspelt rule is not silently ignored."""
    errors: list[str] = []
    stored = stored or {}
    if not isinstance(stored, dict):
        return ["Quy định của cuộc thi phải là một bảng khóa – giá trị."]
    for key in stored:
        if key not in DEFAULT_RULES:
            errors.append(f"Quy định «{key}» không được hỗ trợ (các quy định: {', '.join(DEFAULT_RULES)}).")
    r = effective_rules({k: v for k, v in stored.items() if k in DEFAULT_RULES})
    for key in ("zero_part_fails", "exclude_units_with_absentees", "absent_counts_as_zero"):
        if not isinstance(r[key], bool):
            errors.append(f"«{key}» phải là đúng/sai (true/false).")
    ratio = r["commendation_min_ratio"]
    if not _number(ratio) or not 0 <= ratio <= 1:
        errors.append("«commendation_min_ratio» phải là tỷ lệ từ 0 đến 1 (ví dụ 0.5 là 50% tổng điểm).")
    if r["unit_score"] not in UNIT_SCORES:
        errors.append(f"«unit_score» phải là một trong: {', '.join(UNIT_SCORES)}.")
    if r["ties"] not in TIE_RULES:
        errors.append(f"«ties» phải là một trong: {', '.join(TIE_RULES)}.")
    _check_bands("bands", r["bands"], errors)
    _check_bands("unit_bands", r["unit_bands"], errors)
    awards = r["awards"]
    if not isinstance(awards, dict):
        errors.append("«awards» phải là bảng các nhóm giải (city, district, …).")
        return errors
    seen: dict[str, str] = {}
    for group, spec in awards.items():
        if not isinstance(spec, dict):
            errors.append(f"Nhóm giải «{group}» phải có «tiers», «first», «second», «third».")
            continue
        tiers = spec.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            errors.append(f"Nhóm giải «{group}»: «tiers» phải liệt kê các cấp (so, huyen, xa).")
            tiers = []
        for t in tiers:
            if t not in TIER_VI:
                errors.append(f"Nhóm giải «{group}»: cấp «{t}» không hợp lệ (so, huyen, xa).")
            elif t in seen:
                errors.append(f"Cấp «{t}» thuộc hai nhóm giải: «{seen[t]}» và «{group}».")
            else:
                seen[t] = group
        for level in LEVELS:
            n = spec.get(level, 0)
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                errors.append(f"Nhóm giải «{group}»: số giải {LEVEL_VI[level]} phải là số nguyên không âm.")
        unknown = set(spec) - {"tiers", "label", *LEVELS}
        if unknown:
            errors.append(f"Nhóm giải «{group}»: khóa không được hỗ trợ: {', '.join(sorted(unknown))}.")
    return errors


def check_rules(stored: dict | None) -> dict:
    """The effective rules, or ``SandboxError`` listing every problem."""
    errors = validate_rules(stored)
    if errors:
        raise SandboxError("Quy định của cuộc thi chưa hợp lệ: " + " ".join(errors), "invalid contest rules")
    return effective_rules(stored)


def apply_rule_option(stored: dict | None, text: str) -> dict:
    """``--rule KEY=VALUE`` on the command line: VALUE is JSON (``true``, ``0.5``,
    ``[["100",100,null]]``) or a bare word; ``awards.city.first=2`` sets one award count.
    Returns the new stored rules (not yet validated)."""
    if "=" not in text:
        raise SandboxError(f"Quy định «{text}» phải có dạng KHÓA=GIÁ_TRỊ.", f"bad rule option {text!r}")
    key, raw = (x.strip() for x in text.split("=", 1))
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    out = copy.deepcopy(stored or {})
    path = key.split(".")
    if path[0] == "awards" and len(path) == 3:
        awards = out.setdefault("awards", {})
        awards.setdefault(path[1], {})[path[2]] = value
    elif len(path) == 1:
        out[key] = value
    else:
        raise SandboxError(f"Quy định «{key}» không được hỗ trợ.", f"bad rule key {key!r}")
    return out


# --- plain Vietnamese -----------------------------------------------------------------------
def _pts(percent: float, max_total: float) -> str:
    return vnformat.score(percent * max_total / 100)


def band_phrase(low: float, high: float | None, max_total: float, *, top_open: bool = False) -> str:
    """``đạt điểm tối đa 100 điểm``, ``từ 90 đến dưới 100 điểm``, ``từ 90 điểm trở lên``."""
    if high is None and low >= 100 and not top_open:
        return f"điểm tối đa {_pts(100, max_total)} điểm"
    if high is None:
        return f"từ {_pts(low, max_total)} điểm trở lên"
    return f"từ {_pts(low, max_total)} đến dưới {_pts(high, max_total)} điểm"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


def describe_rules(stored: dict | None, max_total: float = 100, parts: list[tuple[str, float]] | None = None
                   ) -> list[str]:
    """The rules as sentences for the contest page and the report (one rule a line)."""
    vn_num = vnformat.score
    r = effective_rules(stored)
    lines: list[str] = []
    if parts:
        lines.append("Bài thi gồm " + _join([f"phần {n} ({vn_num(p)} điểm)" for n, p in parts])
                     + f"; tổng điểm tối đa {vn_num(max_total)} điểm.")
    if r["zero_part_fails"]:
        lines.append("Điểm liệt: thí sinh có một phần thi đạt 0 điểm (hoặc không có điểm) thì bài thi không đạt yêu "
                     "cầu, dù tổng điểm bao nhiêu.")
    else:
        lines.append("Không áp dụng điểm liệt: kết quả tính theo tổng điểm các phần thi.")
    ratio = r["commendation_min_ratio"]
    lines.append(f"Thí sinh đạt dưới {vn_num(ratio * 100)}% tổng điểm ({_pts(ratio * 100, max_total)} điểm) chưa được "
                 "xem xét khen thưởng.")
    bands = [band_phrase(lo, hi, max_total) for _, lo, hi in r["bands"]]
    lowest = r["bands"][-1][1]
    lines.append("Xếp loại bài thi cá nhân: " + "; ".join(bands)
                 + f"; dưới {_pts(lowest, max_total)} điểm là không đạt yêu cầu.")
    how = UNIT_SCORES[r["unit_score"]]
    absent = ("thí sinh vắng mặt được tính 0 điểm" if r["absent_counts_as_zero"]
              else "thí sinh vắng mặt không được tính vào điểm đơn vị")
    lines.append(f"Điểm tập thể của mỗi đơn vị là {how} tổng điểm các thí sinh dự thi của đơn vị ({absent}).")
    lines.append("Xếp loại tập thể: " + "; ".join(band_phrase(lo, hi, max_total, top_open=True)
                                                   for _, lo, hi in r["unit_bands"]) + ".")
    if r["exclude_units_with_absentees"]:
        lines.append("Đơn vị có thí sinh vắng mặt (kể cả vắng có lý do) không được xét giải tập thể.")
    else:
        lines.append("Đơn vị có thí sinh vắng mặt vẫn được xét giải tập thể.")
    for group, spec in r["awards"].items():
        label = spec.get("label") or GROUP_VI.get(group, group)
        tiers = ", ".join(TIER_VI.get(t, t) for t in spec["tiers"])
        counts = ", ".join(f"{spec.get(lv, 0):02d} giải {LEVEL_VI[lv]}" for lv in LEVELS)
        lines.append(f"Giải tập thể {label} (đơn vị {tiers}): {counts}.")
    if r["ties"] == "consume":
        lines.append("Đơn vị bằng điểm nhau thì đồng hạng; các đơn vị đồng hạng cùng nhận mức giải của hạng đó và "
                     "chiếm chỗ các giải tiếp theo (ví dụ: 2 đơn vị đồng hạng Nhì thì không xét giải Ba).")
    else:
        lines.append("Đơn vị bằng điểm nhau thì đồng hạng; các đơn vị đồng hạng cùng nhận mức giải của hạng đó và "
                     "các giải tiếp theo vẫn được xét (số giải mỗi mức tính theo số hạng).")
    return lines


__all__ = ["DEFAULT_RULES", "LEVELS", "LEVEL_VI", "TIER_VI", "effective_rules", "validate_rules", "check_rules",
           "apply_rule_option", "describe_rules", "band_phrase"]
