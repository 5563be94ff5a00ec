"""The organiser's service functions (issue 7): admin users, contests, units and roster,
shifts and rooms, seating, attendance, the backup set, provisioning and slips.

Everything other code (web pages, CLI, the portal, results) needs from the organiser side
goes through here; see docs/contest.md for the list."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.passwords import hash_password, verify_password

from .admin_models import ADMIN_ROLES, AdminUser
from .models import Contest, ContestEvent, ContestPart

_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,99}$")



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


# --- admin users --------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminRef:
    id: int
    login: str
    full_name: str
    role: str

    @property
    def role_vi(self) -> str:
        return ADMIN_ROLES.get(self.role, self.role)


def _ref(u: AdminUser) -> AdminRef:
    return AdminRef(u.id, u.login, u.full_name, u.role)


def add_admin(runtime, login: str, full_name: str, role: str, password: str) -> AdminRef:
    """Create an organiser/examiner/trainer account, or reset its name, role and password."""
    login = (login or "").strip().lower()
    full_name = unicodedata.normalize("NFC", (full_name or "").strip())
    if not _LOGIN_RE.match(login):
        raise SandboxError(f"Tên đăng nhập không hợp lệ: «{login}» (chữ thường không dấu, số, '.', '_', '-', '@').")
    if role not in ADMIN_ROLES:
        raise SandboxError(f"Vai trò không hợp lệ: «{role}» (chọn một trong: {', '.join(ADMIN_ROLES)}).")
    if not full_name:
        raise SandboxError("Họ và tên không được để trống.")
    if len(password or "") < 8:
        raise SandboxError("Mật khẩu phải có ít nhất 8 ký tự.")
    with runtime.db.write() as s:
        u = s.scalar(select(AdminUser).where(AdminUser.login == login))
        if u is None:
            u = AdminUser(login=login, created_at=runtime.clock.now())
            s.add(u)
        u.full_name, u.role, u.password_hash, u.disabled = full_name, role, hash_password(password), False
        s.flush()
        return _ref(u)


def admin_ref(runtime, admin_id: int) -> AdminRef | None:
    with runtime.db.read() as s:
        u = s.get(AdminUser, admin_id)
        return None if u is None or u.disabled else _ref(u)


def list_admins(runtime) -> list[AdminRef]:
    with runtime.db.read() as s:
        return [_ref(u) for u in s.scalars(select(AdminUser).order_by(AdminUser.login))]


def admin_login(runtime, login: str, password: str, client_address: str | None) -> AdminRef | None:
    """Check an admin login through the installation's login throttle: the user, or None when
    wrong; raises ``RateLimited`` after too many failures (same limits as the mail login)."""
    key = "admin:" + (login or "").strip().lower()
    runtime.throttle.check(key, client_address)
    with runtime.db.read() as s:
        u = s.scalar(select(AdminUser).where(AdminUser.login == (login or "").strip().lower()))
        ok = u is not None and not u.disabled and verify_password(u.password_hash, password or "")
        ref = _ref(u) if ok else None
    if ref is None:
        runtime.throttle.failed(key, client_address)
    else:
        runtime.throttle.succeeded(key)
    return ref



# --- the rest of the organiser's API, from its modules -------------------------------------
from .provision import (JobView, ProvisionResult, candidate_seed, job_view, provision_shift,  # noqa: E402,F401
                        sandbox_name_for, start_provision_job)
from .roster import ImportReport, add_unit, import_roster, import_units  # noqa: E402,F401
from .scores_import import import_scores  # noqa: E402,F401
from .shifts import (CandidateView, SeatingResult, add_room, add_shift, assign_seat,  # noqa: E402,F401
                     candidate_by_number, list_candidates, list_rooms, list_shifts, list_units, mark_attendance,
                     seat_candidates, switch_to_backup)
from .slips import slips_pdf  # noqa: E402,F401
from .tables import ImportFileError, Problem  # noqa: E402,F401
