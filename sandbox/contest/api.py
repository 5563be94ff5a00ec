"""The organiser's service functions (issue 7): admin users, contests, units and roster,
shifts and rooms, seating, attendance, the backup set, provisioning and slips.

Everything other code (web pages, CLI, the portal, results) needs from the organiser side
goes through here; see docs/contest.md for the list."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from sandbox.kernel.errors import SandboxError
from sandbox.kernel.passwords import hash_password, verify_nobody, verify_password

from .admin_models import ADMIN_ROLES, AdminUser

_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9_.@-]{1,99}$")



# --- contests (sandbox.contest.contests) ------------------------------------------------
from .contests import (ContestInfo, PartInfo, _info, contest_info, create_contest, events,  # noqa: E402,F401
                       get_contest, list_contests, parse_part, parse_rules, part_kind, record_event, rules_vi)


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
        if u is None or u.disabled:
            ok = verify_nobody(password)   # the same work as a real check: the time tells nothing
        else:
            ok = verify_password(u.password_hash, password or "")
        ref = _ref(u) if ok else None
    if ref is None:
        runtime.throttle.failed(key, client_address)
    else:
        runtime.throttle.succeeded(key, client_address)
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
