"""A contest's results, computed from the database state alone (no clock, no randomness): the
same rows give the same results, whoever asks and whenever.

Per candidate: each part's points (from ``PartScore``, whatever wrote it: the theory paper,
the grader, an import, an examiner), the total, the band, "điểm liệt", whether the candidate
may be commended, absence with its reason. Per unit: the collective score, its band, its rank
in its award group, whether it may receive an award. Per tier: counts per band. The award
list follows the declared rules (``sandbox.contest.rules``), ties explained in words.

Only this package queries the contest tables (DESIGN.md §2)."""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.kernel import vnformat
from sandbox.kernel.errors import NotFound

from .models import Candidate, Contest, ContestPart, ContestUnit, PartScore
from .rules import GROUP_VI, LEVEL_VI, LEVELS, TIER_VI, effective_rules

TIER_ORDER = ("so", "huyen", "xa")
FAIL_LABEL = "Không đạt yêu cầu"


# --- Vietnamese numbers (the report's style: 13,43%; 20%; 02 bài) ----------------------------
vn_num = vnformat.score  # a score: ``7,5``, ``100``


def vn_percent(x: float) -> str:
    """A share as the 2023 report writes it: two decimals (``16,60%``), none when whole (``20%``)."""
    x = round(float(x), 2)
    if x.is_integer():
        return f"{int(x)}%"
    return f"{x:.2f}".replace(".", ",") + "%"


def vn_count(n: int) -> str:
    """A count as official reports write it: ``01`` … ``09``, then ``10``; zero is ``0``."""
    return f"{n:02d}" if 0 < n < 10 else str(n)


def share(n: int, of: int) -> float:
    return round(n * 100 / of, 2) if of else 0.0


def grader_errors(report: dict | None) -> list[tuple[str, str]]:
    """(criterion, reason) for every criterion of a score report the grader could not judge;
    read from the criteria, so one an examiner has since scored by hand no longer counts."""
    return [(c["id"], c.get("error", "")) for c in (report or {}).get("criteria", []) if c.get("verdict") == "error"]


# --- the result objects ------------------------------------------------------------------------
@dataclass
class PartResult:
    part_id: int
    name: str
    kind: str
    max: float
    points: float | None          # None: no score recorded
    source: str = ""
    report: dict | None = None    # the grader's score report (criteria with evidence), if graded


@dataclass
class CandidateResult:
    id: int
    number: str
    full_name: str
    title: str
    unit_id: int
    unit: str
    tier: str
    parts: list[PartResult]
    absent: bool = False
    absence_reason: str = ""
    backup_reason: str = ""
    scenario_id: str = ""
    total: float | None = None    # None when absent
    max: float = 0.0
    percent: float | None = None
    band: int | None = None       # index into the bands; len(bands) is "không đạt yêu cầu"
    band_label: str = ""
    failed: bool = False
    fail_reason: str = ""
    commendable: bool = False
    rank: int | None = None       # among all present candidates (equal totals share a rank)
    #: [part, criterion, reason] the grader could not judge (the exam's fault): the points are not final
    grader_errors: list[list[str]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return not self.grader_errors


@dataclass
class UnitResult:
    id: int
    name: str
    tier: str
    group: str | None
    registered: int
    present: int
    absent: int
    score: float | None = None
    percent: float | None = None
    band: int | None = None       # index into unit bands; len(unit_bands) is below the lowest
    band_label: str = ""
    rank: int | None = None       # in its award group, among units with a score
    eligible: bool = False
    exclusion_reason: str = ""
    award: str | None = None      # first | second | third


@dataclass
class TierResult:
    tier: str
    label: str
    registered: int
    present: int
    absent: int
    band_counts: list[int]        # candidates per band, the last one "không đạt yêu cầu"
    units: int = 0
    unit_band_counts: list[int] = field(default_factory=list)


@dataclass
class AwardGroup:
    key: str
    label: str
    tiers: list[str]
    counts: dict[str, int]
    winners: list[dict]           # {"level", "unit_id", "unit", "tier", "score", "rank"} best first
    notes: list[str]              # ties and exclusions, in words
    given: dict[str, int] = field(default_factory=dict)


@dataclass
class ContestResults:
    contest_id: int
    code: str
    name: str
    year: int
    rules: dict
    parts: list[dict]             # {"id", "name", "kind", "points"}
    max_total: float
    bands: list                   # [label, low %, high % | None]
    unit_bands: list
    candidates: list[CandidateResult]
    units: list[UnitResult]
    tiers: list[TierResult]
    awards: list[AwardGroup]
    warnings: list[str]

    @property
    def present(self) -> list[CandidateResult]:
        return [c for c in self.candidates if not c.absent]

    @property
    def absentees(self) -> list[CandidateResult]:
        return [c for c in self.candidates if c.absent]

    @property
    def not_final(self) -> list[CandidateResult]:
        """Candidates with criteria the grader could not judge (see :func:`grader_errors`)."""
        return [c for c in self.candidates if c.grader_errors]

    @property
    def not_final_warnings(self) -> list[str]:
        """Their lines of :attr:`warnings` (a page with its own banner for them leaves these out)."""
        return [not_final_warning(c) for c in self.not_final]

    def band_total(self, index: int) -> int:
        return sum(t.band_counts[index] for t in self.tiers)

    def to_dict(self) -> dict:
        return asdict(self)


def not_final_warning(c: CandidateResult) -> str:
    parts = ", ".join(dict.fromkeys(part for part, _cid, _why in c.grader_errors))
    return (f"Thí sinh {c.number} ({c.full_name}) có tiêu chí chưa chấm được do lỗi của đề thi "
            f"({', '.join(cid for _part, cid, _why in c.grader_errors)}): điểm phần {parts} chưa phải điểm chính "
            "thức, cần sửa đề và chấm lại.")


# --- computation ---------------------------------------------------------------------------------
def _band_of(percent: float, bands: list) -> int:
    for i, (_, low, high) in enumerate(bands):
        if percent >= low and (high is None or percent < high):
            return i
    return len(bands)


def _competition_ranks(scores: list[float]) -> list[int]:
    """Equal scores share a rank; the next one skips (1, 2, 2, 4)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ranks = [0] * len(scores)
    for pos, i in enumerate(order):
        if pos and scores[order[pos - 1]] == scores[i]:
            ranks[i] = ranks[order[pos - 1]]
        else:
            ranks[i] = pos + 1
    return ranks


def _group_of(tier: str, awards: dict) -> str | None:
    for key, spec in awards.items():
        if tier in spec.get("tiers", []):
            return key
    return None


def _levels_text(levels: list[str]) -> str:
    names = [f"giải {LEVEL_VI[lv]}" for lv in levels]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " và " + names[-1]


def assign_awards(units: list[UnitResult], counts: dict[str, int], ties: str) -> tuple[list[dict], list[str],
                                                                                        dict[str, int]]:
    """Awards for one group's eligible units (already sorted best first, with scores): the
    winners, the notes that explain ties, and how many of each level were given.

    "consume": a unit whose competition rank falls in a level's places gets that level, and
    units tied with it too; tied units use up the places after them (2 tied for second with
    one second and one third prize: both second, no third). "extend": each level's count is in
    places (distinct scores): every unit at a place gets the level and the next level is
    still given."""
    levels = [lv for lv in LEVELS if counts.get(lv, 0) > 0]
    winners: list[dict] = []
    notes: list[str] = []
    given = {lv: 0 for lv in LEVELS}
    if not units or not levels:
        return winners, notes, given
    # groups of tied units, best first
    groups: list[list[UnitResult]] = []
    for u in units:
        if groups and groups[-1][0].score == u.score:
            groups[-1].append(u)
        else:
            groups.append([u])
    places: list[str] = []
    for lv in LEVELS:
        places += [lv] * counts.get(lv, 0)
    first_at = {x: places.index(x) + 1 for x in set(places)}
    last_at = {x: len(places) - places[::-1].index(x) for x in set(places)}
    lost: set[str] = set()

    def tied(g: list[UnitResult], lv: str) -> str:
        return (f"{vn_count(len(g))} đơn vị đồng hạng {LEVEL_VI[lv]} ({vn_num(g[0].score)} điểm: "
                f"{', '.join(u.name for u in g)}) cùng nhận giải {LEVEL_VI[lv]}")

    pos = 1
    for k, g in enumerate(groups, 1):
        slot = pos if ties == "consume" else k
        if slot > len(places):
            break
        lv = places[slot - 1]
        for u in g:
            u.award = lv
            winners.append({"level": lv, "unit_id": u.id, "unit": u.name, "tier": u.tier, "score": u.score,
                            "rank": pos})
        given[lv] += len(g)
        end = pos + len(g) - 1
        if len(g) > 1 and ties == "consume":
            whole = [x for x in LEVELS if x in first_at and x != lv and pos < first_at[x] and last_at[x] <= end]
            part = [x for x in LEVELS if x in first_at and x != lv and pos < first_at[x] <= end < last_at[x]]
            lost.update(whole)
            bits = []
            if whole:
                bits.append(f"không xét {_levels_text(whole)}")
            if part:
                bits.append("giảm số " + _levels_text(part))
            if end > len(places):
                bits.append(f"số giải {LEVEL_VI[lv]} nhiều hơn số đã công bố")
            notes.append(tied(g, lv) + (" nên " + ", ".join(bits) if bits else "") + ".")
        elif len(g) > 1:
            notes.append(tied(g, lv) + "; các giải tiếp theo vẫn được xét (quy tắc đồng hạng «extend»).")
        pos = end + 1
    for lv in levels:
        if given[lv] == 0 and lv not in lost:
            notes.append(f"Không đủ đơn vị được xét để trao giải {LEVEL_VI[lv]}.")
    return winners, notes, given


def compute(session: Session, contest_code: str) -> ContestResults:
    """The results of contest ``contest_code`` from the rows as they are now."""
    contest = session.scalar(select(Contest).where(Contest.code == contest_code))
    if contest is None:
        raise NotFound(f"Không tìm thấy cuộc thi «{contest_code}».", f"contest {contest_code!r}")
    rules = effective_rules(contest.rules)
    parts = session.scalars(select(ContestPart).where(ContestPart.contest_id == contest.id)
                            .order_by(ContestPart.position, ContestPart.id)).all()
    units = session.scalars(select(ContestUnit).where(ContestUnit.contest_id == contest.id)
                            .order_by(ContestUnit.id)).all()
    cands = session.scalars(select(Candidate).where(Candidate.contest_id == contest.id)
                            .order_by(Candidate.number, Candidate.id)).all()
    scores: dict[tuple[int, int], PartScore] = {}
    if cands:
        for ps in session.scalars(select(PartScore).join(Candidate, Candidate.id == PartScore.candidate_id)
                                  .where(Candidate.contest_id == contest.id)):
            scores[(ps.candidate_id, ps.part_id)] = ps
    return _compute(contest, rules, list(parts), list(units), list(cands), scores)


def _compute(contest, rules, parts, units, cands, scores) -> ContestResults:
    bands, unit_bands = rules["bands"], rules["unit_bands"]
    max_total = round(sum(p.points for p in parts), 2)
    unit_by_id = {u.id: u for u in units}
    warnings: list[str] = []
    results = [_candidate_result(c, unit_by_id[c.unit_id], parts, scores, rules, max_total, warnings) for c in cands]
    present = [r for r in results if not r.absent]
    for r, rank in zip(present, _competition_ranks([r.total for r in present])):
        r.rank = rank
    unit_results = _unit_results(units, results, rules, max_total)
    award_groups = [_award_group(key, spec, unit_results, rules) for key, spec in rules["awards"].items()]
    tier_results = _tier_results(units, results, unit_results, bands, unit_bands)
    return ContestResults(contest.id, contest.code, contest.name, contest.year, rules,
                          [{"id": p.id, "name": p.name, "kind": p.kind, "points": p.points} for p in parts],
                          max_total, bands, unit_bands, results, unit_results, tier_results, award_groups, warnings)


# --- one candidate -------------------------------------------------------------------------------
def _candidate_result(c, unit, parts, scores, rules, max_total: float, warnings: list[str]) -> CandidateResult:
    """The candidate's parts and, when present, total, band and "điểm liệt"; what is missing
    or not final is added to ``warnings``."""
    prs = []
    for p in parts:
        ps = scores.get((c.id, p.id))
        prs.append(PartResult(p.id, p.name, p.kind, p.points, None if ps is None else round(ps.points, 2),
                              "" if ps is None else ps.source, None if ps is None else ps.report))
    r = CandidateResult(c.id, c.number, c.full_name, c.title, unit.id, unit.name, unit.tier, prs,
                        absent=c.attendance == "absent", absence_reason=c.absence_reason or "",
                        backup_reason=c.backup_reason or "", scenario_id=c.scenario_id or "", max=max_total)
    r.grader_errors = [[p.name, cid, why] for p in prs for cid, why in grader_errors(p.report)]
    if r.grader_errors:
        warnings.append(not_final_warning(r))
    if not r.absent:
        missing = [p.name for p in prs if p.points is None]
        if missing and len(missing) == len(prs):
            warnings.append(f"Thí sinh {c.number} ({c.full_name}) chưa có điểm phần nào.")
        elif missing:
            warnings.append(f"Thí sinh {c.number} ({c.full_name}) chưa có điểm phần {', '.join(missing)}.")
        _score(r, rules, max_total)
    return r


def _score(r: CandidateResult, rules: dict, max_total: float) -> None:
    """A present candidate's total, percent, band (or failure, and why) and commendation."""
    bands = rules["bands"]
    prs = r.parts
    r.total = round(sum(p.points or 0 for p in prs), 2)
    r.percent = round(r.total * 100 / max_total, 4) if max_total else 0.0
    zero = [p for p in prs if not p.points]
    if rules["zero_part_fails"] and zero:
        r.failed = True
        r.fail_reason = "; ".join(("không có điểm phần thi " if p.points is None else "phần thi ")
                                  + p.name.lower() + ("" if p.points is None else " đạt 0 điểm")
                                  for p in zero)
        r.band = len(bands)
    else:
        r.band = _band_of(round(r.percent, 2), bands)
        if r.band == len(bands):
            r.failed = True
            r.fail_reason = f"dưới {vn_num(bands[-1][1] * max_total / 100)} điểm"
    r.band_label = FAIL_LABEL if r.band == len(bands) else bands[r.band][0]
    r.commendable = not r.failed and r.percent + 1e-9 >= rules["commendation_min_ratio"] * 100


# --- units ---------------------------------------------------------------------------------------
def _unit_results(units, results: list[CandidateResult], rules: dict, max_total: float) -> list[UnitResult]:
    by_unit: dict[int, list[CandidateResult]] = {}
    for r in results:
        by_unit.setdefault(r.unit_id, []).append(r)
    return [_unit_result(u, by_unit.get(u.id, []), rules, max_total) for u in units]


def _unit_result(u, rs: list[CandidateResult], rules: dict, max_total: float) -> UnitResult:
    """The unit's collective score (mean or median of its candidates', absentees as zero when
    the rules say so), its band, and whether it may receive an award (and if not, why)."""
    unit_bands = rules["unit_bands"]
    pres = [r for r in rs if not r.absent]
    ur = UnitResult(u.id, u.name, u.tier, _group_of(u.tier, rules["awards"]), len(rs), len(pres),
                    len(rs) - len(pres))
    values = [r.total for r in pres] + ([0.0] * ur.absent if rules["absent_counts_as_zero"] else [])
    if values:
        ur.score = round(statistics.fmean(values) if rules["unit_score"] == "mean" else statistics.median(values), 2)
        ur.percent = round(ur.score * 100 / max_total, 4) if max_total else 0.0
        ur.band = _band_of(round(ur.percent, 2), unit_bands)
        ur.band_label = (unit_bands[ur.band][0] if ur.band < len(unit_bands)
                         else f"<{vn_num(unit_bands[-1][1])}")
    if ur.score is None:
        ur.exclusion_reason = "không có thí sinh dự thi"
    elif ur.group is None:
        ur.exclusion_reason = "cấp của đơn vị không thuộc nhóm giải nào"
    elif ur.absent and rules["exclude_units_with_absentees"]:
        ur.exclusion_reason = f"có {vn_count(ur.absent)} thí sinh vắng mặt"
    else:
        ur.eligible = True
    return ur


def _award_group(key: str, spec: dict, unit_results: list[UnitResult], rules: dict) -> AwardGroup:
    """One award group: its units ranked (sets ``rank``), the awards given to the eligible
    ones (sets ``award``), and a note for each excluded unit that scored as well as a winner."""
    members = [u for u in unit_results if u.group == key and u.score is not None]
    for u, rank in zip(members, _competition_ranks([u.score for u in members])):
        u.rank = rank
    eligible = sorted([u for u in members if u.eligible], key=lambda u: (-u.score, u.name))
    counts = {lv: int(spec.get(lv, 0)) for lv in LEVELS}
    winners, notes, given = assign_awards(eligible, counts, rules["ties"])
    lowest = min((w["score"] for w in winners), default=None)
    for u in sorted(members, key=lambda u: (-u.score, u.name)):
        if not u.eligible and (lowest is None or u.score >= lowest):
            notes.append(f"{u.name} ({vn_num(u.score)} điểm) {u.exclusion_reason} nên không được xét giải "
                         "tập thể.")
    return AwardGroup(key, spec.get("label") or GROUP_VI.get(key, key), list(spec["tiers"]),
                      counts, winners, notes, given)


# --- tiers ---------------------------------------------------------------------------------------
def _tier_results(units, results: list[CandidateResult], unit_results: list[UnitResult], bands: list,
                  unit_bands: list) -> list[TierResult]:
    """Per tier (the known ones in their order, then any other): candidates and units per band."""
    tiers_seen = [t for t in TIER_ORDER if any(u.tier == t for u in units)]
    tiers_seen += sorted({u.tier for u in units} - set(tiers_seen))
    tier_results = []
    for t in tiers_seen:
        rs = [r for r in results if r.tier == t]
        pres = [r for r in rs if not r.absent]
        counts = [0] * (len(bands) + 1)
        for r in pres:
            counts[r.band] += 1
        scored_units = [u for u in unit_results if u.tier == t and u.band is not None]
        ucounts = [0] * (len(unit_bands) + 1)
        for u in scored_units:
            ucounts[u.band] += 1
        tier_results.append(TierResult(t, TIER_VI.get(t, t), len(rs), len(pres), len(rs) - len(pres), counts,
                                       len(scored_units), ucounts))
    return tier_results


def results_for(runtime, contest_code: str) -> ContestResults:
    with runtime.db.read() as session:
        return compute(session, contest_code)


__all__ = ["ContestResults", "CandidateResult", "UnitResult", "TierResult", "AwardGroup", "PartResult", "compute",
           "grader_errors", "results_for", "assign_awards", "vn_num", "vn_percent", "vn_count", "share", "FAIL_LABEL", "TIER_ORDER"]
