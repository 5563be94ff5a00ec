"""The contest's declared rules: what a zero in one part means, who may be commended, how a
unit's collective score is computed, the score bands and the award counts. Each rule is
shown on the contest page and applied by ``sandbox.contest.results``."""
from __future__ import annotations

#: the defaults follow the 2023 results report (seed 000) and the 2024 plan (seed 002)
DEFAULT_RULES: dict = {
    # a part scoring 0 fails the candidate ("điểm liệt")
    "zero_part_fails": True,
    # below this share of the total: not considered for commendation
    "commendation_min_ratio": 0.5,
    # a unit's collective score: the mean of its candidates' totals
    "unit_score": "mean",
    # a unit with an absent candidate is excluded from collective awards
    "exclude_units_with_absentees": True,
    # score bands in percent of the total, highest first: [label, lower bound inclusive, upper bound exclusive]
    "bands": [["100", 100, None], ["90 - <100", 90, 100], ["80 - <90", 80, 90], ["70 - <80", 70, 80],
              ["50 - <70", 50, 70]],
    # award counts per level for collective (unit) awards, by group of tiers
    "awards": {"city": {"tiers": ["so"], "first": 1, "second": 2, "third": 3},
               "district": {"tiers": ["huyen", "xa"], "first": 1, "second": 2, "third": 3}},
}
