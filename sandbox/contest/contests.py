"""Contests: creating one (parts, points, duration, rules), reading it back, its event log
(every organiser action with who, when and why). The other organiser modules (roster, shifts,
provisioning, slips, scores) build on these; ``sandbox.contest.api`` re-exports them."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from sandbox.kernel.errors import NotFound, SandboxError

from .models import Contest, ContestEvent, ContestPart


# --- contests ----------------------------------------------------------------------------

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def part_kind(name: str) -> str:
    """The kind of a part from its Vietnamese name: theory, practical or imported."""
    key = unicodedata.normalize("NFC", name).strip().casefold()
    if key.startswith("lý thuyết") or key.startswith("trắc nghiệm"):
        return "theory"
    if key.startswith("thực hành"):
        return "practical"
    return "imported"


def parse_part(spec: str) -> tuple[str, float]:
    """``"Lý thuyết=60"`` → ("Lý thuyết", 60.0); Vietnamese decimal comma accepted."""
    name, sep, pts = (spec or "").rpartition("=")
    name = unicodedata.normalize("NFC", name.strip())
    if not sep or not name:
        raise SandboxError(f"Phần thi «{spec}» không đúng dạng TÊN=ĐIỂM (ví dụ: \"Lý thuyết=60\").")
    try:
        points = float(pts.strip().replace(",", "."))
    except ValueError:
        raise SandboxError(f"Điểm của phần thi «{name}» phải là một số (nhận được «{pts.strip()}»).") from None
    if not 0 < points <= 1000:
        raise SandboxError(f"Điểm của phần thi «{name}» phải lớn hơn 0 (nhận được «{pts.strip()}»).")
    return name, points


def get_contest(session, code: str) -> Contest:
    c = session.scalar(select(Contest).where(Contest.code == code))
    if c is None:
        raise NotFound(f"Không có cuộc thi «{code}». Xem danh sách bằng lệnh: sandbox contest list",
                       f"no contest {code!r}")
    return c


@dataclass(frozen=True)
class PartInfo:
    id: int
    name: str
    kind: str
    points: float


@dataclass(frozen=True)
class ContestInfo:
    id: int
    code: str
    name: str
    year: int
    duration_minutes: int
    rules: dict
    parts: tuple[PartInfo, ...]

    @property
    def total_points(self) -> float:
        return sum(p.points for p in self.parts)


def contest_info(runtime, code: str) -> ContestInfo:
    with runtime.db.read() as s:
        return _info(s, get_contest(s, code))


def _info(s, c: Contest) -> ContestInfo:
    parts = s.scalars(select(ContestPart).where(ContestPart.contest_id == c.id).order_by(ContestPart.position))
    return ContestInfo(c.id, c.code, c.name, c.year, c.duration_minutes, dict(c.rules or {}),
                       tuple(PartInfo(p.id, p.name, p.kind, p.points) for p in parts))


def list_contests(runtime) -> list[ContestInfo]:
    with runtime.db.read() as s:
        return [_info(s, c) for c in s.scalars(select(Contest).order_by(Contest.year.desc(), Contest.code))]


def create_contest(runtime, code: str, name: str, year: int, parts: list[str] | list[tuple[str, float]],
                   duration_minutes: int = 60, rules: dict | list[str] | None = None, actor: str = "cli") -> ContestInfo:
    """Create a contest. ``parts``: "Lý thuyết=60" strings or (name, points) pairs, in order;
    ``rules``: overrides of ``DEFAULT_RULES`` as "key=value" strings or a dict (validated)."""
    code = (code or "").strip()
    if not _CODE_RE.match(code):
        raise SandboxError(f"Mã cuộc thi «{code}» không hợp lệ (chữ không dấu, số, '-', '_'; tối đa 40 ký tự; "
                           "ví dụ: cds2023).")
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise SandboxError("Tên cuộc thi không được để trống.")
    if not 2000 <= int(year) <= 2100:
        raise SandboxError(f"Năm tổ chức «{year}» không hợp lệ.")
    if not 1 <= int(duration_minutes) <= 600:
        raise SandboxError(f"Thời gian làm bài phải từ 1 đến 600 phút (nhận được {duration_minutes}).")
    parsed = [parse_part(p) if isinstance(p, str) else (unicodedata.normalize("NFC", p[0]), float(p[1])) for p in parts]
    if not parsed:
        raise SandboxError("Cuộc thi cần ít nhất một phần thi (ví dụ: --part \"Lý thuyết=60\" --part \"Thực hành=40\").")
    seen = set()
    for pname, _ in parsed:
        if pname.casefold() in seen:
            raise SandboxError(f"Phần thi «{pname}» được khai báo hai lần.")
        seen.add(pname.casefold())
    merged = parse_rules(rules)
    with runtime.db.write() as s:
        if s.scalar(select(Contest.id).where(Contest.code == code)) is not None:
            raise SandboxError(f"Cuộc thi «{code}» đã có. Hãy chọn mã khác.")
        c = Contest(code=code, name=name, year=int(year), duration_minutes=int(duration_minutes), rules=merged,
                    created_at=runtime.clock.now())
        s.add(c)
        s.flush()
        for i, (pname, pts) in enumerate(parsed):
            s.add(ContestPart(contest_id=c.id, name=pname, kind=part_kind(pname), points=pts, position=i, settings={}))
        s.add(ContestEvent(contest_id=c.id, at=runtime.clock.now(), actor=actor, kind="create",
                           detail={"parts": [[n, p] for n, p in parsed], "duration": int(duration_minutes),
                                   "rules": merged}))
        s.flush()
        return _info(s, c)


def record_event(s, runtime, contest_id: int, kind: str, actor: str, *, candidate_id: int | None = None,
                 detail: dict | None = None, reason: str = "") -> None:
    s.add(ContestEvent(contest_id=contest_id, candidate_id=candidate_id, at=runtime.clock.now(), actor=actor,
                       kind=kind, detail=detail or {}, reason=reason))


def events(runtime, code: str, kind: str | None = None) -> list[ContestEvent]:
    with runtime.db.read() as s:
        c = get_contest(s, code)
        q = select(ContestEvent).where(ContestEvent.contest_id == c.id)
        if kind:
            q = q.where(ContestEvent.kind == kind)
        return list(s.scalars(q.order_by(ContestEvent.id)))


_WORDS = {"có": "true", "không": "false", "co": "true", "khong": "false"}


def parse_rules(overrides: dict | list[str] | None) -> dict:
    """The rules a contest stores (only what differs from ``DEFAULT_RULES``): "key=value"
    strings as on the CLI (``--rule zero_part_fails=false``, ``--rule awards.city.first=2``;
    "có"/"không" accepted for true/false) or a dict; checked by ``rules.check_rules``."""
    from .rules import apply_rule_option, check_rules
    stored: dict = {}
    if isinstance(overrides, dict):
        stored = dict(overrides)
    else:
        for spec in overrides or []:
            key, sep, value = spec.partition("=")
            value = _WORDS.get(value.strip().casefold(), value.strip())
            if sep and "," in value and value.replace(",", "", 1).replace(".", "", 1).strip().isdigit():
                value = value.replace(",", ".")   # Vietnamese decimal comma: 0,5
            stored = apply_rule_option(stored, f"{key}{sep}{value}")
    check_rules(stored)
    return stored


def rules_vi(info: "ContestInfo") -> list[str]:
    """Every rule of the contest in plain Vietnamese (one sentence a rule)."""
    from .rules import describe_rules
    return describe_rules(info.rules, info.total_points, [(p.name, p.points) for p in info.parts])
