"""Drill classes (lớp luyện tập): a trainer picks drills (or a full exam set) in practice
mode and lets trainees join by a code or from a roster; every trainee gets one practice
sandbox per drill, named ``<class slug>.hv<NNN>.<position>``. The live board grades all of
them (``grader.batch.grade_many``) and shows, per trainee and criterion, passed / failed /
not yet, and the class's most common mistakes. The trainer can reset a trainee's drill
(``scenarios.build.restart``), recorded with who and when.

"Not yet" means the trainee has not acted on that task: either nothing of theirs is in the
log since the build, or every criterion of the task still has the outcome it had on the
untouched sandbox (its *baseline*, graded right after the build).

Composition layer: it uses scenarios, the grader and the mail accounts' read API."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
import unicodedata
import weakref
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sandbox.kernel.clock import as_utc
from sandbox.kernel.errors import NotFound, SandboxError
from sandbox.kernel.models import Action, Sandbox
from sandbox.training.models import Trainee, TrainingClass, TrainingReset, TrainingSlot

STATUS_VI = {"passed": "Đạt", "failed": "Chưa đạt", "not_yet": "Chưa làm", "missing": "Chưa có bài",
             "error": "Lỗi chấm"}
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,19}$")
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
TRAINER_ACTOR = "trainer:"


# --- small helpers ----------------------------------------------------------------------------
def nfc(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def slugify(text: str, limit: int = 24) -> str:
    """ASCII, lower case, '-' between words: «Lớp Quận Ninh Kiều» → ``lop-quan-ninh-kieu``."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_ = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:limit].strip("-")
    return slug or "lop"


def sandbox_name(slug: str, number: int, position: int) -> str:
    return f"{slug}.hv{number:03d}.{position}"


def seed_for(name: str) -> int:
    """A trainee's seed for one drill: deterministic, different from their classmates'."""
    return int(hashlib.sha256(f"training:{name}".encode()).hexdigest()[:8], 16) % 1_000_000


def normalize_code(code: str | None) -> str:
    return (code or "").strip().upper()


def _now(runtime) -> dt.datetime:
    return as_utc(runtime.clock.now())   # stored as UTC (SQLite hands back naive datetimes)


# --- records handed out -------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    slug: str
    join_code: str | None
    items: list
    created_by: str
    created_at: dt.datetime
    closed: bool


@dataclass(frozen=True)
class TraineeLogin:
    position: int
    scenario_ref: str
    title: str
    sandbox_name: str
    login: str          # ``sandbox/address``: unique even when classmates share the address
    address: str
    password: str
    pin: str | None
    person: str         # who the trainee plays in the drill


@dataclass
class Joined:
    trainee_id: int
    class_id: int
    number: int
    name: str
    email: str
    logins: list[TraineeLogin] = field(default_factory=list)


def _info(c: TrainingClass) -> ClassInfo:
    return ClassInfo(c.id, c.name, c.slug, c.join_code, list(c.items), c.created_by, as_utc(c.created_at),
                     c.closed_at is not None)


# --- scenarios ----------------------------------------------------------------------------------
_LOADED: dict[str, tuple[float, Any]] = {}
_LOAD_LOCK = threading.Lock()


def load_item(ref: str):
    """``scenarios.library.load`` with the grader's check validation, cached per file version."""
    from grader.checks import validate_check
    from scenarios.library import find, load

    path = find(ref)
    mtime = path.stat().st_mtime
    with _LOAD_LOCK:
        hit = _LOADED.get(ref)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    loaded = load(ref, validate_check)
    with _LOAD_LOCK:
        _LOADED[ref] = (mtime, loaded)
    return loaded


def library_choices() -> dict[str, list[tuple[str, str]]]:
    """The shipped drills and exam sets as (id, title), for the trainer's form."""
    from scenarios.library import library_paths, scenario_id

    out: dict[str, list[tuple[str, str]]] = {"drills": [], "exams": []}
    for path in library_paths():
        sid = scenario_id(path)
        try:
            title = load_item(sid).scenario.title
        except SandboxError:
            continue
        out["drills" if sid.startswith("luyen-") else "exams"].append((sid, title))
    return out


def _check_items(items: Iterable[str]) -> list[str]:
    from scenarios.library import InvalidScenario

    refs: list[str] = []
    for raw in items:
        ref = (raw or "").strip()
        if not ref or ref in refs:
            continue
        try:
            load_item(ref)
        except InvalidScenario:
            raise SandboxError(f"Bài «{ref}» có lỗi trong tệp đề nên chưa dùng được; hãy chọn bài khác.",
                               f"invalid scenario {ref!r}") from None
        except NotFound:
            raise SandboxError(f"Không tìm thấy bài luyện hay đề thi «{ref}».", f"no scenario {ref!r}") from None
        refs.append(ref)
    if not refs:
        raise SandboxError("Hãy chọn ít nhất một bài luyện hoặc một đề thi.", "no items")
    if len(refs) > 20:
        raise SandboxError("Một lớp có tối đa 20 bài.", "too many items")
    return refs


# --- classes ------------------------------------------------------------------------------------
def parse_roster(text: str) -> list[tuple[str, str]]:
    """One trainee a line: ``Họ và tên, email`` (comma, semicolon or tab). Blank lines skipped."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, line in enumerate((text or "").splitlines(), 1):
        line = nfc(line.replace("\t", ","))
        if not line:
            continue
        parts = re.split(r"\s*[,;]\s*", line)
        if len(parts) < 2 or not parts[0] or not parts[-1]:
            raise SandboxError(f"Dòng {i} của danh sách học viên cần có họ tên và thư điện tử, "
                               f"cách nhau bởi dấu phẩy: «{line}».", f"roster line {i}")
        name, email = ", ".join(parts[:-1]), parts[-1].lower()
        if not _EMAIL_RE.match(email):
            raise SandboxError(f"Dòng {i} của danh sách học viên: «{email}» không phải địa chỉ thư điện tử.",
                               f"roster line {i}: bad email")
        if email in seen:
            raise SandboxError(f"Dòng {i} của danh sách học viên: địa chỉ {email} bị lặp lại.",
                               f"roster line {i}: duplicate")
        _check_name(name)
        seen.add(email)
        rows.append((name, email))
    return rows


def _check_name(name: str) -> str:
    name = nfc(name)
    if not name:
        raise SandboxError("Hãy nhập họ và tên.", "empty name")
    if len(name) > 100:
        raise SandboxError("Họ và tên quá dài (tối đa 100 ký tự).", "name too long")
    if not any(ch.isalpha() for ch in name):
        raise SandboxError(f"Họ và tên «{name}» không hợp lệ.", "name without letters")
    return name


def _new_code(s) -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        if s.scalar(select(TrainingClass.id).where(TrainingClass.join_code == code)) is None:
            return code


def create_class(runtime, name: str, items: Iterable[str], *, code: str | None = None, use_code: bool = True,
                 roster: Iterable[tuple[str, str]] = (), actor: str = "") -> tuple[ClassInfo, list[Joined]]:
    """Create a class; ``code`` None (with ``use_code``) draws a join code. Roster trainees get
    their sandboxes now, and their logins are returned (they can be printed again)."""
    name = nfc(name)
    if not name:
        raise SandboxError("Tên lớp không được để trống.", "empty class name")
    if len(name) > 200:
        raise SandboxError("Tên lớp quá dài (tối đa 200 ký tự).", "class name too long")
    refs = _check_items(items)
    roster = list(roster)
    code = normalize_code(code) or None
    if code is not None and not _CODE_RE.match(code):
        raise SandboxError("Mã tham gia chỉ gồm chữ cái không dấu, chữ số và dấu '-', dài từ 4 đến 20 ký tự.",
                           f"bad code {code!r}")
    if not use_code and code is None and not roster:
        raise SandboxError("Hãy cho học viên tham gia bằng mã hoặc nhập danh sách học viên.", "nobody can join")
    with runtime.db.write() as s:
        if s.scalar(select(TrainingClass.id).where(TrainingClass.name == name)) is not None:
            raise SandboxError(f"Đã có lớp «{name}»; hãy chọn tên khác.", f"class {name!r} exists")
        if code is not None and s.scalar(select(TrainingClass.id).where(TrainingClass.join_code == code)) is not None:
            raise SandboxError(f"Mã tham gia «{code}» đã được lớp khác dùng; hãy chọn mã khác.", f"code {code} taken")
        if code is None and use_code:
            code = _new_code(s)
        base = slug = slugify(name)
        n = 1
        while s.scalar(select(TrainingClass.id).where(TrainingClass.slug == slug)) is not None:
            n += 1
            slug = f"{base}-{n}"
        c = TrainingClass(name=name, slug=slug, join_code=code, items=refs, created_by=actor,
                          created_at=_now(runtime))
        s.add(c)
        s.flush()
        info = _info(c)
    joined = [_add_trainee(runtime, info, person, email=email, via="roster", actor=actor)
              for person, email in roster]
    return info, joined


def add_roster(runtime, class_id: int, roster: Iterable[tuple[str, str]], *, actor: str = "") -> list[Joined]:
    info = get_class(runtime, class_id)
    with runtime.db.read() as s:
        known = set(s.scalars(select(Trainee.email).where(Trainee.class_id == class_id, Trainee.email != "")))
    out = []
    for person, email in roster:
        if email in known:
            raise SandboxError(f"Học viên có địa chỉ {email} đã có trong lớp.", f"{email} already in class")
        out.append(_add_trainee(runtime, info, person, email=email, via="roster", actor=actor))
    return out


def get_class(runtime, class_id: int) -> ClassInfo:
    with runtime.db.read() as s:
        c = s.get(TrainingClass, class_id)
        if c is None:
            raise NotFound("Không tìm thấy lớp luyện tập.", f"class {class_id}")
        return _info(c)


def class_by_name(runtime, name: str) -> ClassInfo:
    with runtime.db.read() as s:
        c = s.scalar(select(TrainingClass).where(TrainingClass.name == nfc(name)))
        if c is None:
            raise NotFound(f"Không có lớp luyện tập «{nfc(name)}».", f"no class {name!r}")
        return _info(c)


def list_classes(runtime) -> list[dict]:
    with runtime.db.read() as s:
        counts = dict(s.execute(select(Trainee.class_id, func.count(Trainee.id)).group_by(Trainee.class_id)).all())
        return [asdict(_info(c)) | {"trainees": counts.get(c.id, 0)}
                for c in s.scalars(select(TrainingClass).order_by(TrainingClass.created_at.desc(), TrainingClass.id.desc()))]


def set_closed(runtime, class_id: int, closed: bool) -> None:
    """Close a class to new trainees (joining by code is refused), or open it again."""
    with runtime.db.write() as s:
        c = s.get(TrainingClass, class_id)
        if c is None:
            raise NotFound("Không tìm thấy lớp luyện tập.", f"class {class_id}")
        c.closed_at = _now(runtime) if closed else None


# --- trainees -----------------------------------------------------------------------------------
def join(runtime, code: str, name: str) -> Joined:
    """A trainee joins with the class's code: their sandboxes are built and their logins returned."""
    code = normalize_code(code)
    if not code:
        raise SandboxError("Hãy nhập mã tham gia do giảng viên cung cấp.", "empty code")
    name = _check_name(name)
    with runtime.db.read() as s:
        c = s.scalar(select(TrainingClass).where(TrainingClass.join_code == code))
        info = _info(c) if c is not None else None
    if info is None:
        raise SandboxError(f"Mã tham gia «{code}» không đúng. Hãy kiểm tra lại mã do giảng viên cung cấp.",
                           f"no class with code {code!r}")
    if info.closed:
        raise SandboxError(f"Lớp «{info.name}» đã đóng, không nhận thêm học viên.", f"class {info.id} closed")
    with runtime.db.read() as s:
        if s.scalar(select(Trainee.id).where(Trainee.class_id == info.id, Trainee.name == name)) is not None:
            raise SandboxError(f"Trong lớp đã có học viên «{name}». Nếu bạn đã tham gia, hãy đăng nhập bằng tài "
                               "khoản đã được cấp; nếu là người khác trùng tên, hãy thêm tên đơn vị để phân biệt.",
                               "duplicate trainee name")
    return _add_trainee(runtime, info, name, email="", via="code", actor="")


def _add_trainee(runtime, info: ClassInfo, name: str, *, email: str, via: str, actor: str) -> Joined:
    name = _check_name(name)
    for attempt in range(5):
        try:
            with runtime.db.write() as s:
                number = 1 + (s.scalar(select(func.max(Trainee.number)).where(Trainee.class_id == info.id)) or 0)
                t = Trainee(class_id=info.id, number=number, name=name, email=email, via=via,
                            created_at=_now(runtime))
                s.add(t)
                s.flush()
                trainee_id = t.id
            break
        except IntegrityError:  # two joined at once: take the next number
            if attempt == 4:
                raise
    joined = Joined(trainee_id, info.id, number, name, email)
    for position, ref in enumerate(info.items, 1):
        joined.logins.append(_build_slot(runtime, info, trainee_id, number, position, ref, actor=actor))
    return joined


def _build_slot(runtime, info: ClassInfo, trainee_id: int, number: int, position: int, ref: str, *,
                actor: str) -> TraineeLogin:
    from scenarios.build import build

    name = sandbox_name(info.slug, number, position)
    seed = seed_for(name)
    loaded = load_item(ref)
    # the world is built by "system" (the tools refuse other builders); who asked is in our tables
    res = build(runtime, loaded, seed, name, practice=True, actor="system")
    with runtime.db.write() as s:
        slot = TrainingSlot(trainee_id=trainee_id, position=position, scenario_ref=ref, sandbox_name=name, seed=seed)
        s.add(slot)
        s.flush()
        slot_id = slot.id
    _store_baseline(runtime, slot_id, res.sandbox_id)
    c = res.candidate
    return TraineeLogin(position, ref, loaded.scenario.title, name, f"{name}/{c.address}", c.address, c.password,
                        c.pin, c.name)


def logins(runtime, trainee_id: int) -> list[TraineeLogin]:
    """A trainee's logins (derived again from the installation secret: they can be reprinted)."""
    from scenarios.build import derive_password, instance_of

    out = []
    with runtime.db.read() as s:
        slots = s.scalars(select(TrainingSlot).where(TrainingSlot.trainee_id == trainee_id)
                          .order_by(TrainingSlot.position)).all()
        rows = []
        for slot in slots:
            sb = _current(s, slot.sandbox_name)
            inst = instance_of(s, sb.id) if sb is not None else None
            if inst is not None:
                rows.append((slot.position, slot.scenario_ref, slot.sandbox_name, inst.candidate, inst.candidate_address))
    for position, ref, name, person_id, address in rows:
        sc = load_item(ref).scenario
        person = next(p for p in sc.world.people if p.id == person_id)
        out.append(TraineeLogin(position, ref, sc.title, name, f"{name}/{address}", address,
                                derive_password(runtime.secret, name, person_id),
                                person.pin if person.certificate else None, person.name))
    return out


def trainees(runtime, class_id: int) -> list[dict]:
    with runtime.db.read() as s:
        return [{"id": t.id, "number": t.number, "name": t.name, "email": t.email, "via": t.via}
                for t in s.scalars(select(Trainee).where(Trainee.class_id == class_id).order_by(Trainee.number))]


def _current(s, name: str) -> Sandbox | None:
    """The live sandbox of a slot (restarted ones were renamed ``name~n`` and archived)."""
    return s.scalar(select(Sandbox).where(Sandbox.name == name, Sandbox.archived_at.is_(None)))


def slot_of_sandbox(runtime, sandbox_name_: str) -> dict | None:
    """The trainee and class behind a sandbox (a live or set-aside attempt), or None."""
    base = sandbox_name_.split("~", 1)[0]
    with runtime.db.read() as s:
        row = s.execute(select(TrainingSlot, Trainee, TrainingClass)
                        .join(Trainee, Trainee.id == TrainingSlot.trainee_id)
                        .join(TrainingClass, TrainingClass.id == Trainee.class_id)
                        .where(TrainingSlot.sandbox_name == base)).first()
        if row is None:
            return None
        slot, t, c = row
        slots = s.scalars(select(TrainingSlot).where(TrainingSlot.trainee_id == t.id)
                          .order_by(TrainingSlot.position)).all()
        return {"class": _info(c), "trainee": {"id": t.id, "number": t.number, "name": t.name},
                "position": slot.position,
                "slots": [{"position": x.position, "ref": x.scenario_ref, "sandbox_name": x.sandbox_name}
                          for x in slots]}


def account_for_slot(runtime, trainee_id: int, position: int):
    """The trainee's in-world mail account (``AccountRef``) in their live sandbox of one drill."""
    from mailserver.api import account_by_address
    from scenarios.build import instance_of

    with runtime.db.read() as s:
        slot = s.scalar(select(TrainingSlot).where(TrainingSlot.trainee_id == trainee_id,
                                                   TrainingSlot.position == position))
        if slot is None:
            raise NotFound("Không tìm thấy bài luyện này của học viên.", f"trainee {trainee_id} slot {position}")
        sb = _current(s, slot.sandbox_name)
        inst = instance_of(s, sb.id) if sb is not None else None
        if inst is None:
            raise NotFound("Bài luyện này chưa được tạo.", f"no live sandbox {slot.sandbox_name}")
        return account_by_address(s, sb.id, inst.candidate_address)


# --- grading and the board ------------------------------------------------------------------------
_REPORTS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()   # per Database
_REPORTS_LOCK = threading.Lock()


def _reports(runtime, keys: list[tuple[int, str]], workers: int | None) -> dict[int, dict]:
    """Reports by sandbox id, from ``(sandbox id, log head)`` pairs; a report is kept while the
    sandbox's log does not move (grading is a pure function of the state, and the state only
    changes through logged actions)."""
    from grader.batch import grade_many

    with _REPORTS_LOCK:
        cache = _REPORTS.setdefault(runtime.db, {})
        have = {sid: cache[(sid, head)] for sid, head in keys if (sid, head) in cache}
    todo = [sid for sid, _ in keys if sid not in have]
    if todo:
        fresh = grade_many(runtime, todo, workers=workers)
        heads = dict(keys)
        with _REPORTS_LOCK:
            if len(cache) > 20000:
                cache.clear()
            for sid, rep in fresh.items():
                if "error" not in rep:
                    cache[(sid, heads[sid])] = rep
        have.update(fresh)
    return have


def _signature(row: dict) -> list:
    """What a criterion's outcome says about the state, without database ids (which differ
    between two builds of the same drill)."""
    ev = {k: v for k, v in (row.get("evidence") or {}).items() if not (k == "id" or k.endswith("_id"))}
    return [row.get("verdict"), row.get("awarded"), row.get("detail", ""), ev]


def _store_baseline(runtime, slot_id: int, sandbox_id: int, report: dict | None = None) -> None:
    if report is None:
        report = _reports(runtime, [(sandbox_id, _log_head(runtime, sandbox_id))], 1)[sandbox_id]
    if "error" in report:
        return
    with runtime.db.write() as s:
        slot = s.get(TrainingSlot, slot_id)
        slot.baseline = {r["id"]: _signature(r) for r in report["criteria"]}
        slot.baseline_sandbox_id = sandbox_id


def _log_head(runtime, sandbox_id: int) -> str:
    with runtime.db.read() as s:
        return s.get(Sandbox, sandbox_id).log_head


def _trainee_actions(s, sandbox_ids: list[int]) -> dict[int, dict]:
    """Per sandbox: how many actions the trainee made since the build, and when the last was."""
    if not sandbox_ids:
        return {}
    built = dict(s.execute(select(Action.sandbox_id, Action.seq).where(
        Action.sandbox_id.in_(sandbox_ids), Action.name == "scenario.instantiate")).all())
    builders = dict(s.execute(select(Action.sandbox_id, Action.actor).where(
        Action.sandbox_id.in_(sandbox_ids), Action.name == "scenario.instantiate")).all())
    out = {sid: {"count": 0, "last": None} for sid in sandbox_ids}
    rows = s.execute(select(Action.sandbox_id, Action.seq, Action.actor, Action.at)
                     .where(Action.sandbox_id.in_(sandbox_ids), Action.actor != "system",
                            Action.actor.not_like(TRAINER_ACTOR + "%"))).all()
    for sid, seq, actor, at in rows:
        if seq <= built.get(sid, 0) or actor in ("system", builders.get(sid)) or actor.startswith(TRAINER_ACTOR):
            continue
        o = out[sid]
        o["count"] += 1
        if o["last"] is None or at > o["last"]:
            o["last"] = at
    return out


def criterion_statuses(report: dict, baseline: dict, acted: int) -> dict[str, str]:
    """passed / failed / not_yet for each criterion of a report (see the module's docstring); error
    for one the grader could not judge (the drill's fault, never the trainee's)."""
    rows = report["criteria"]
    if not acted:
        return {r["id"]: "error" if r["verdict"] == "error" else "not_yet" for r in rows}
    touched: dict[str, bool] = {}
    for r in rows:
        base = baseline.get(r["id"])
        changed = base is None or _signature(r) != base
        touched[r["task"]] = touched.get(r["task"], False) or changed
    return {r["id"]: ("error" if r["verdict"] == "error"   # the drill's fault: never "failed" for the trainee
                      else "not_yet" if not touched[r["task"]] else "passed" if r["verdict"] == "pass" else "failed")
            for r in rows}


def _iso(value) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def board(runtime, class_id: int, *, workers: int | None = None) -> dict:
    """The live board of a class (JSON-ready): items with their criteria, one row per trainee
    with every slot's per-criterion status, per-criterion counts and the common mistakes."""
    info = get_class(runtime, class_id)
    items = []
    for position, ref in enumerate(info.items, 1):
        sc = load_item(ref).scenario
        items.append({"position": position, "ref": ref, "title": sc.title,
                      "criteria": [{"id": c.id, "task": c.task, "description": c.description, "points": c.points}
                                   for c in sc.rubric.criteria]})
    with runtime.db.read() as s:
        people = s.scalars(select(Trainee).where(Trainee.class_id == class_id).order_by(Trainee.number)).all()
        slots = s.scalars(select(TrainingSlot).join(Trainee, Trainee.id == TrainingSlot.trainee_id)
                          .where(Trainee.class_id == class_id)).all()
        by_name = {sb.name: sb for sb in s.scalars(select(Sandbox).where(
            Sandbox.name.in_([x.sandbox_name for x in slots]), Sandbox.archived_at.is_(None)))} if slots else {}
        live = {x.id: by_name.get(x.sandbox_name) for x in slots}
        acted = _trainee_actions(s, [sb.id for sb in by_name.values()])
        resets: dict[int, list] = {}
        for r in s.scalars(select(TrainingReset).where(TrainingReset.class_id == class_id).order_by(TrainingReset.at)):
            resets.setdefault(r.slot_id, []).append({"by": r.by, "at": _iso(r.at), "archived_as": r.archived_as})
    reports = _reports(runtime, [(sb.id, sb.log_head) for sb in by_name.values()], workers)

    slot_map = {(x.trainee_id, x.position): x for x in slots}
    counts = {(it["position"], c["id"]): Counter() for it in items for c in it["criteria"]}
    mistakes: dict[tuple[int, str], dict] = {}
    rows = []
    for t in people:
        row = {"id": t.id, "number": t.number, "name": t.name, "email": t.email, "via": t.via, "slots": []}
        for it in items:
            slot = slot_map.get((t.id, it["position"]))
            sb = live.get(slot.id) if slot is not None else None
            cell: dict[str, Any] = {"position": it["position"], "sandbox": slot.sandbox_name if slot else None,
                                    "resets": resets.get(slot.id, []) if slot else []}
            if sb is None:
                cell.update(status="missing", criteria={})
                row["slots"].append(cell)
                continue
            rep = reports[sb.id]
            act = acted.get(sb.id, {"count": 0, "last": None})
            cell.update(sandbox_id=sb.id, actions=act["count"], last_action=_iso(act["last"]))
            if "error" in rep:
                cell.update(status="error", error=rep["error"], criteria={})
                row["slots"].append(cell)
                continue
            if slot.baseline_sandbox_id != sb.id and act["count"] == 0:
                # a fresh attempt ("Làm lại"): its untouched outcome is the new baseline
                _store_baseline(runtime, slot.id, sb.id, rep)
                slot.baseline = {r["id"]: _signature(r) for r in rep["criteria"]}
            statuses = criterion_statuses(rep, slot.baseline or {}, act["count"])
            crit = {}
            for r in rep["criteria"]:
                st = statuses[r["id"]]
                crit[r["id"]] = {"status": st, "verdict": r["verdict"], "awarded": r["awarded"],
                                 "points": r["points"], "message": r["message"],
                                 "detail": r.get("error") or r.get("detail", "")}
                counts[(it["position"], r["id"])][st] += 1
                if st == "failed" and r["verdict"] in ("fail", "partial"):
                    m = mistakes.setdefault((it["position"], r["id"]), {
                        "position": it["position"], "drill": it["title"], "criterion": r["id"],
                        "description": r["description"], "count": 0, "messages": Counter(), "details": Counter()})
                    m["count"] += 1
                    m["messages"][r["message"]] += 1
                    if r.get("detail"):
                        m["details"][r["detail"]] += 1
            done = [v["status"] for v in crit.values()]
            cell.update(status="not_yet" if all(x == "not_yet" for x in done) else
                        "passed" if all(x == "passed" for x in done) else "working",
                        total=rep["total"], max=rep["max"], criteria=crit)
            row["slots"].append(cell)
        rows.append(row)
    for it in items:
        for c in it["criteria"]:
            cnt = counts[(it["position"], c["id"])]
            c["counts"] = {k: cnt.get(k, 0) for k in ("passed", "failed", "not_yet")}
    order = {(it["position"], c["id"]): i for i, (it, c) in enumerate((it, c) for it in items for c in it["criteria"])}
    common = sorted(mistakes.values(), key=lambda m: (-m["count"], order[(m["position"], m["criterion"])]))
    for m in common:
        m["messages"] = [{"text": k, "count": v} for k, v in m["messages"].most_common()]
        m["details"] = [{"text": k, "count": v} for k, v in m["details"].most_common()]
    cls = asdict(info) | {"created_at": _iso(info.created_at)}
    return {"class": cls, "items": items, "trainees": rows, "mistakes": common}


# --- the trainer's reset -----------------------------------------------------------------------------
def reset(runtime, class_id: int, trainee_id: int, position: int | None = None, *, by: str) -> list[dict]:
    """Set a trainee's drill (or all their drills) back to the initial state: the attempt is
    kept (archived), a fresh sandbox is built under the same name with the same seed, so the
    trainee's logins stay the same. Recorded with who and when."""
    from scenarios.build import restart

    by = (by or "").strip() or "?"
    with runtime.db.read() as s:
        t = s.get(Trainee, trainee_id)
        if t is None or t.class_id != class_id:
            raise NotFound("Không tìm thấy học viên này trong lớp.", f"trainee {trainee_id} not in class {class_id}")
        q = select(TrainingSlot).where(TrainingSlot.trainee_id == trainee_id).order_by(TrainingSlot.position)
        if position is not None:
            q = q.where(TrainingSlot.position == position)
        slots = [(x.id, x.position, x.sandbox_name) for x in s.scalars(q)]
        live = {name: sb.id for _, _, name in slots if (sb := _current(s, name)) is not None}
        trainee_name = t.name
    if not slots:
        raise NotFound("Học viên này không có bài luyện ở vị trí đã chọn.", f"no slot {position}")
    done = []
    for slot_id, pos, name in slots:
        old = live.get(name)
        if old is None:
            raise SandboxError(f"Bài {pos} của {trainee_name} chưa được tạo nên không đặt lại được.", f"no {name}")
        res = restart(runtime, old, actor="system")   # who reset is recorded below
        with runtime.db.write() as s:
            archived = s.get(Sandbox, old).name
            s.add(TrainingReset(class_id=class_id, trainee_id=trainee_id, slot_id=slot_id, by=by, at=_now(runtime),
                                archived_as=archived, new_sandbox_id=res.sandbox_id))
        _store_baseline(runtime, slot_id, res.sandbox_id)
        done.append({"position": pos, "sandbox": name, "archived_as": archived, "sandbox_id": res.sandbox_id})
    return done


def resets(runtime, class_id: int) -> list[dict]:
    with runtime.db.read() as s:
        rows = s.execute(select(TrainingReset, Trainee, TrainingSlot)
                         .join(Trainee, Trainee.id == TrainingReset.trainee_id)
                         .join(TrainingSlot, TrainingSlot.id == TrainingReset.slot_id)
                         .where(TrainingReset.class_id == class_id).order_by(TrainingReset.at, TrainingReset.id)).all()
        return [{"trainee": t.name, "number": t.number, "position": sl.position, "by": r.by, "at": as_utc(r.at),
                 "archived_as": r.archived_as} for r, t, sl in rows]


__all__ = ["create_class", "add_roster", "join", "board", "reset", "logins", "criterion_statuses", "STATUS_VI"]
