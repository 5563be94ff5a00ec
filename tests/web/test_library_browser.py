"""Every shipped exam set and drill played in Chromium through the candidate's real pages
(portal → task sheet → webmail → document pages → signing dialog): the golden path and every
mistake profile of ``tests/scenarios/plans.py``. After each session:

* the score is full marks (golden) or full marks minus exactly the criteria the profile
  declares it loses;
* the same plan played through the APIs on a fresh sandbox with the same seed gives the same
  verdict on every criterion (the pages and the APIs are the same doors);
* ``sandbox replay`` of the session matches at every step and gives an identical score
  report, and leaves no ``NAME~replayN`` copy behind.

One live server and one browser for the module. Exam sets are sat in one contest whose
shifts cover the six sets (a candidate per session, logging in at ``/thi``); drills are joined
with a class code (a class per drill, a trainee per session). To stay within the budget on a
small machine, a session's checks run in a worker thread while the next session plays in
Chromium, and the contest's shifts are provisioned ahead in another one (the organiser's
provisioning, as before an exam). Times per session and per scenario are printed (``-s``)
and kept in the test report's properties."""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from grader.engine import grade
from grader.state import SandboxState
from sandbox.kernel.clock import VN_TZ, FixedClock
from sandbox.kernel.models import Sandbox
from scenarios.build import from_json, instance_of
from scenarios.library import library_paths, load, scenario_id
from tests.scenarios import plans
from tests.scenarios.harness import START

from .browser_candidate import BrowserCandidate

pytestmark = pytest.mark.browser

LIBRARY_IDS = [scenario_id(p) for p in library_paths()]
EXAM_IDS = sorted(sid for sid in LIBRARY_IDS if sid in plans.EXAM_SETS)
CODE = "thuvien2026"
ROOM = "Phòng máy 1"
TIMEOUT_MS = 15_000


@dataclass
class Library:
    """The module's world: the contest of the exam sets, the drill classes, the workers, the timings."""
    live: type
    seats: dict[tuple[str, str], str] = field(default_factory=dict)     # (scenario, profile) -> number
    shifts: dict[str, Future] = field(default_factory=dict)             # exam set -> its provisioning
    classes: dict[str, str] = field(default_factory=dict)               # drill -> join code
    #: scenario -> [(profile, seconds in the browser, seconds of its checks)]
    timings: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    checker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "session-checks"))
    builder: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "provisioning"))

    @property
    def rt(self):
        return self.live.runtime

    def shift_of(self, sid: str) -> str:
        return f"Ca {EXAM_IDS.index(sid) + 1}"

    def provision_ahead(self, wanted: set[str]) -> None:
        from sandbox.contest import api

        for sid in EXAM_IDS:
            if sid not in wanted:
                continue
            self.shifts[sid] = self.builder.submit(api.provision_shift, self.rt, CODE, self.shift_of(sid), actor="test")

    def seat(self, sid: str, profile: str) -> tuple[str, str, str]:
        """(candidate number, portal password, sandbox name) of an exam session."""
        from sandbox.contest import api
        from sandbox.contest.passwords import candidate_password

        res = self.shifts[sid].result()
        assert not res.errors, res.lines()
        number = self.seats[(sid, profile)]
        return number, candidate_password(self.rt.secret, CODE, number), api.sandbox_name_for(CODE, number)

    def join_code(self, sid: str) -> str:
        """The drill's class (made by the trainer's API at its first session) and its join code."""
        from sandbox.training import api as training

        if sid not in self.classes:
            code = f"LT{LIBRARY_IDS.index(sid) + 1:02d}-{sid.removeprefix('luyen-')[:12].upper()}".rstrip("-")
            info, _ = training.create_class(self.rt, f"Lớp luyện tập {sid}", [sid], code=code, actor="test")
            self.classes[sid] = info.join_code
        return self.classes[sid]


@pytest.fixture(scope="module")
def library(module_live_server, request):
    """One contest: a shift per exam set, a candidate per exam session, seated and provisioned
    by the organiser's API (provisioning runs ahead in a worker)."""
    from sandbox.contest import api

    rt = module_live_server.runtime
    rt.clock = rt.dispatcher.clock = FixedClock(START)   # the exam happens at START, in-world
    lib = Library(module_live_server)
    api.create_contest(rt, CODE, "Kiểm thử thư viện đề thi trên trình duyệt", 2026, [("Thực hành", 40)],
                       duration_minutes=120, actor="test")
    api.add_unit(rt, CODE, "Sở Nội vụ", "sở", actor="test")
    rows = ["Số báo danh,Họ và tên,Chức vụ,Đơn vị,Cấp"]
    for i, sid in enumerate(EXAM_IDS, 1):
        api.add_shift(rt, CODE, lib.shift_of(sid), sid, actor="test")
        for j, profile in enumerate(plans.profile_names(sid), 1):
            number = f"TS{i}{j:02d}"
            lib.seats[(sid, profile)] = number
            rows.append(f"{number},Thí sinh {number},Phó Giám đốc Sở,Sở Nội vụ,sở")
    report = api.import_roster(rt, CODE, "danh-sach.csv", ("\n".join(rows) + "\n").encode("utf-8"), actor="test")
    assert report.ok, report.lines()
    api.add_room(rt, CODE, ROOM, 40, actor="test")
    for n, ((sid, _profile), number) in enumerate(sorted(lib.seats.items(), key=lambda x: x[1]), 1):
        api.assign_seat(rt, CODE, number, lib.shift_of(sid), ROOM, n, actor="test")
    selected = {item.callspec.params.get("sid") for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    lib.provision_ahead(selected)
    t0 = time.perf_counter()
    try:
        yield lib
    finally:
        lib.builder.shutdown(cancel_futures=True)
        lib.checker.shutdown()
    total = sum(b + c for runs in lib.timings.values() for _, b, c in runs)
    print("\n=== seconds per scenario (per session: in the browser + its checks) ===")
    for sid, runs in lib.timings.items():
        print(f"  {sid:28s} {sum(b + c for _, b, c in runs):6.1f}  "
              + ", ".join(f"{p} {b:.1f}+{c:.1f}" for p, b, c in runs))
    print(f"  {'sum of sessions':28s} {total:6.1f}   wall clock of the module: {time.perf_counter() - t0:.1f}")


def _sandbox(rt, name: str):
    with rt.db.read() as s:
        sb = s.scalar(select(Sandbox).where(Sandbox.name == name))
        inst = instance_of(s, sb.id)
        return sb.id, inst.seed, from_json(inst.values), inst.start


def _replay_copies(rt, name: str | None = None) -> list[str]:
    with rt.db.read() as s:
        names = s.scalars(select(Sandbox.name).where(Sandbox.name.like("%~replay%"))).all()
    return sorted(n for n in names if name is None or n.startswith(name + "~replay"))


def _verdicts(report: dict) -> dict[str, tuple[str, float]]:
    return {c["id"]: (c["verdict"], c["awarded"]) for c in report["criteria"]}


@pytest.fixture(scope="module")
def seat_page(browser):
    """The seat's browser tab, shared by the sessions one after another (each session starts
    without cookies: a new login; a fresh context per session costs a renderer each time)."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _play_in_browser(lib: Library, page, loaded, profile: str, workdir) -> tuple[str, plans.Plan]:
    """One candidate's session on the seat's tab; returns (sandbox name, plan)."""
    sid, base = loaded.id, lib.live.url
    page.context.clear_cookies()
    try:
        if sid in plans.EXAM_SETS:
            number, password, name = lib.seat(sid, profile)
            BrowserCandidate.portal_login(page, base, number, password)
        else:
            login = BrowserCandidate.join_class(page, base, lib.join_code(sid), f"Học viên {profile}")
            name = login.split("/", 1)[0]
        _id, _seed, values, start = _sandbox(lib.rt, name)
        day = start.astimezone(VN_TZ).date()
        the_plan = plans.plan(loaded, values, day, profile)
        BrowserCandidate(page, base, plans.World(loaded, values, day), workdir / profile).run(the_plan)
        return name, the_plan
    except Exception:
        try:
            page.screenshot(path=str(workdir / f"{sid}-{profile}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - the screenshot only helps
            pass
        raise


def _check_session(lib: Library, loaded, name: str, the_plan: plans.Plan) -> list[str]:
    """The session's checks; returns what failed (every check runs even if another failed)."""
    from sandbox.replay.api import replay

    rt, sc, out = lib.rt, loaded.scenario, []
    sandbox_id, seed, values, _start = _sandbox(rt, name)
    report = grade(SandboxState(rt, sandbox_id), sc)
    points = {c["id"]: c["points"] for c in report["criteria"]}
    lost = {c["id"] for c in report["criteria"] if c["verdict"] != "pass"}
    if lost != set(the_plan.lose):
        detail = "; ".join(f"{c['id']} {c['verdict']}: {c['message']} {c.get('detail') or ''}".strip()
                           for c in report["criteria"] if c["id"] in lost ^ set(the_plan.lose))
        out.append(f"score: lost {sorted(lost)}, the profile declares {sorted(the_plan.lose)} ({detail})")
    expected_total = sc.points - sum(points[c] for c in the_plan.lose)
    if report["total"] != expected_total:
        out.append(f"score: total {report['total']}, expected {expected_total}")

    try:
        api = plans.play_api(rt, loaded, seed, name + ".api", the_plan)
        if api.v != values:
            out.append("api: the fresh sandbox drew other values than the browser's")
        ours, theirs = _verdicts(report), _verdicts(api.grade())
        diff = {k: (ours.get(k), theirs.get(k)) for k in sorted(set(ours) | set(theirs))
                if ours.get(k) != theirs.get(k)}
        if diff:
            out.append(f"api: other verdicts through the APIs ((browser), (api)): {diff}")
    except Exception as e:  # noqa: BLE001 - reported with the others
        out.append(f"api: the plan failed through the APIs: {type(e).__name__}: {e}")

    try:
        r = replay(rt, name)
        if r.first_mismatch is not None:
            bad = [f"step {s.seq} {s.name}: {s.detail}" for s in r.steps if not s.ok][:3]
            out.append(f"replay: first mismatch at step {r.first_mismatch}: " + " | ".join(bad))
        if r.report_same is not True:
            out.append(f"replay: report_same is {r.report_same!r}")
    except Exception as e:  # noqa: BLE001
        out.append(f"replay: raised {type(e).__name__}: {e}")
    left = _replay_copies(rt, name)
    if left:
        out.append(f"replay: copies left behind: {left}")
    return out


@pytest.mark.parametrize("sid", LIBRARY_IDS)
def test_scenario_played_in_chromium(sid, library, seat_page, tmp_path, request):
    names = plans.profile_names(sid)
    if not names:
        pytest.fail(f"{sid} has no plan: add its golden path and mistake profiles to tests/scenarios/plans.py")
    assert names[0] == "golden" and len(names) >= 4, f"{sid}: a golden path and at least three mistakes: {names}"
    loaded = load(sid)
    problems, sessions = [], []
    for profile in names:
        t0 = time.perf_counter()
        try:
            name, the_plan = _play_in_browser(library, seat_page, loaded, profile, tmp_path)
        except Exception as e:  # noqa: BLE001 - the other sessions still run
            problems.append(f"{profile}: browser: {type(e).__name__}: {str(e)[:1500]}")
            sessions.append((profile, time.perf_counter() - t0, None))
            continue
        played = time.perf_counter() - t0

        def checked(name=name, the_plan=the_plan):
            t = time.perf_counter()
            return _check_session(library, loaded, name, the_plan), time.perf_counter() - t

        sessions.append((profile, played, library.checker.submit(checked)))
    runs = library.timings.setdefault(sid, [])
    for profile, played, job in sessions:
        found, took = job.result() if job is not None else ([], 0.0)
        problems += [f"{profile}: {p}" for p in found]
        runs.append((profile, played, took))
    total = sum(b + c for _, b, c in runs)
    request.node.user_properties.append(("seconds", round(total, 1)))
    print(f"\n{sid}: {total:.1f} s (" + ", ".join(f"{p} {b:.1f}+{c:.1f}" for p, b, c in runs) + ")")
    assert not problems, f"{sid}:\n  " + "\n  ".join(problems)


def test_no_replay_copy_is_left_behind(library):
    """After every session's replay, no ``NAME~replayN`` sandbox remains."""
    assert _replay_copies(library.rt) == []
