"""A whole shift at once (issue 14): N candidates doing a whole exam set over HTTP against the
real server, at contest pace, and every grade checked afterwards.

``python -m bench load --candidates N --compress K --sync [--window S] [--smtp-share 0.2]
[--mistakes 0.1] [--set thi-2024-de-1] [--json out.json] [--keep]``

1. **Installation** (:mod:`bench.load_setup`): a fresh data folder; a contest (theory 60 +
   practical 40, 60 minutes) with N candidates in one shift on the exam set, made through the
   organiser's API, provisioned (one sandbox per candidate).
2. **Server**: ``sandbox serve web smtp imap`` as a subprocess on free ports, on that folder,
   and ``sandbox serve worker`` (the automatic clerk) as another, as on the exam day
   (``--one-process``: everything in one ``sandbox serve``, a laptop's shape).
3. **Candidates** (:mod:`bench.load_candidate`, one asyncio task each, its own cookie jar and
   connections): the whole exam through the pages and forms, CSRF tokens from the pages,
   think times from :mod:`bench.load_profile` divided by ``--compress``. ``--sync``: everyone
   arrives within ``--window`` seconds (default 60 s / compress), else over ten minutes /
   compress. A share (``--smtp-share``) reads over IMAP (IMAPClient) and sends over SMTP
   (aiosmtplib) instead of the webmail; a share (``--mistakes``) plays one of the set's
   mistake profiles (``tests/scenarios/plans.py``) instead of the golden plan, so the grades
   to check are not all full marks. Every click is checked for its status and success text;
   errors are counted by step, the first messages kept.
4. **Grades**: the server stopped, ``sandbox contest grade`` (the organiser's command, every
   core); each candidate's theory points must be what its answers give, its practical score
   report what its plan gives (the exam set's points minus the criteria its profile loses).
   A mismatch is an error (load must not change a grade).
5. **Figures**: p50/p95/p99 of the click times per step (a click: the response, its
   redirects and the page's new sub-resources), errors, the clerk's release delay, CPU per
   flow of the server process (``/proc``, its children included) and of the generator,
   throughput (completed flows per second of the run), the load average before, during and
   after; ``--json`` writes them all.

``make bench`` runs ``BENCH_LOAD_CANDIDATES`` (100) candidates compressed ``BENCH_LOAD_COMPRESS``
(30) times, synchronised: a few minutes."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import wait_port

from .common import free_port, percentile, run_async, stop_process

STEP_ORDER = ["login", "start", "theory page", "autosave", "theory review", "theory submit", "practical",
              "task sheet", "webmail", "send mail", "imap read", "smtp send", "imap sent", "documents", "direct",
              "sign", "forward", "status", "tracking", "finish", "clock poll"]
DEFAULT_SET = "thi-2024-de-1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    p.add_argument("--candidates", type=int, default=int(os.environ.get("BENCH_LOAD_CANDIDATES", "100")),
                   help="candidates in the shift (default: BENCH_LOAD_CANDIDATES or 100)")
    p.add_argument("--compress", type=float, default=float(os.environ.get("BENCH_LOAD_COMPRESS", "30")),
                   help="time compression: 10 plays the 60-minute exam in 6 minutes; 0 = no thinking "
                        "(default: BENCH_LOAD_COMPRESS or 30)")
    p.add_argument("--sync", action="store_true", help="everyone starts within --window seconds")
    p.add_argument("--window", type=float, default=None,
                   help="arrival window in wall seconds (default: 60 / compress with --sync, 600 / compress without)")
    p.add_argument("--smtp-share", type=float, default=0.2, help="share of candidates using SMTP/IMAP")
    p.add_argument("--mistakes", type=float, default=0.1, help="share of candidates playing a mistake profile")
    p.add_argument("--set", dest="scenario", default=DEFAULT_SET, help="the exam set (thi-…)")
    p.add_argument("--json", dest="json_out", default=None, help="write the result as JSON here")
    p.add_argument("--release-timeout", type=float, default=120.0,
                   help="wall seconds the status check waits for the clerk's release")
    p.add_argument("--one-process", action="store_true",
                   help="run the job worker (the automatic clerk) inside the web process, as `sandbox serve` "
                        "does on a laptop (default: its own process, `sandbox serve worker`, as at contest scale)")
    p.add_argument("--behind-nginx", action="store_true",
                   help="the deployment shape (docs/deployment.md, bench/load_deploy.py): nginx in front of "
                        "`sandbox serve web --workers N` (gunicorn), `serve smtp imap`, `serve worker`")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers with --behind-nginx")
    p.add_argument("--database-url", default=None,
                   help="the installation's database (default: SQLite in the data folder), e.g. postgresql+psycopg://…")
    p.add_argument("--two-data-folders", action="store_true",
                   help="two `sandbox serve web` processes, each with a data folder of its own, on one "
                        "PostgreSQL (--database-url): every candidate's requests alternate between them "
                        "(nothing a request needs may live on one machine's disk: issue 15)")
    p.add_argument("--keepalive", type=float, default=15.0,
                   help="idle seconds a candidate's browser keeps a connection (0: close after each request)")
    p.add_argument("--status-poll", type=float, default=30.0, help="countdown poll period in wall seconds (0: off)")
    p.add_argument("--seed", type=int, default=1, help="seed of the arrivals")
    p.add_argument("--tmp", default=None, help="folder in which the data folder is made (default: the system's)")
    p.add_argument("--keep", action="store_true", help="keep the data folder (always kept when there are errors)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.two_data_folders and not (args.database_url or "").startswith("postgresql"):
        p.error("--two-data-folders needs --database-url postgresql+psycopg://… (SQLite is one machine's file)")
    if args.window is None:
        args.window = 0.0 if not args.compress else (60.0 if args.sync else 600.0) / args.compress
    return args


def _every(i: int, share: float, offset: float = 0.0) -> bool:
    """Candidate ``i`` is in an evenly spread share of the room."""
    return int((i + 1) * share + offset) > int(i * share + offset)


# --- the server -------------------------------------------------------------------------------

def _env(data: Path, database_url: str | None = None) -> dict:
    env = {**os.environ, "SANDBOX_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("SANDBOX_DATABASE_URL", None)
    if database_url:
        env["SANDBOX_DATABASE_URL"] = database_url
    return env


class Server:
    """``sandbox serve`` on free ports: one process (a laptop's shape), or with
    ``separate_worker`` the web and mail servers in one process and the job worker (the
    automatic clerk) in another, as at contest scale, so the clerk's signing has a core."""

    def __init__(self, data: Path, *, separate_worker: bool = False, database_url: str | None = None):
        self.data = data
        self.database_url = database_url
        self.http, self.smtp, self.imap = free_port(), free_port(), free_port()
        self.log = data / "serve.log"
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.separate_worker = separate_worker

    def start(self) -> float:
        t0 = time.perf_counter()
        ports = ["--http-port", str(self.http), "--smtp-port", str(self.smtp), "--imap-port", str(self.imap)]
        serve = [sys.executable, "-m", "sandbox.cli", "serve"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(serve + (["web", "smtp", "imap"] if self.separate_worker else []) + ports,
                                         env=_env(self.data, self.database_url), stdout=log,
                                         stderr=subprocess.STDOUT)
        if self.separate_worker:
            with open(self.data / "worker.log", "wb") as log:
                self.worker = subprocess.Popen(serve + ["worker"], env=_env(self.data, self.database_url), stdout=log,
                                               stderr=subprocess.STDOUT)
        try:
            for port in (self.http, self.smtp, self.imap):
                wait_port(port, timeout=60.0, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError("sandbox serve did not start:\n" + self.log.read_text(errors="replace")[-3000:])
        return time.perf_counter() - t0

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{self.http}"]

    def cpu_seconds(self) -> float:
        """CPU of the server process and its children (finished ones counted by the kernel in
        the parent's cutime/cstime, live ones read from their own stat)."""
        return sum(_tree_cpu(p.pid) for p in (self.proc, self.worker) if p is not None)

    def stop(self) -> None:
        for proc in (self.proc, self.worker):
            stop_process(proc)


class TwoFolderServer(Server):
    """Two machines' worth on one: ``serve web smtp imap`` on the data folder ``data`` and a
    second ``serve web`` on a data folder of its own (``data-b``, empty: no blob, no secret, no
    CA), both on one PostgreSQL; the job worker apart. Candidates alternate between the two."""

    shape = "two web processes, two data folders, one PostgreSQL; smtp+imap; worker apart"

    def __init__(self, data: Path, *, database_url: str):
        super().__init__(data, separate_worker=True, database_url=database_url)
        self.other = data.parent / (data.name + "-b")
        self.other.mkdir(parents=True, exist_ok=True)
        self.http_b = free_port()
        self.proc_b: subprocess.Popen | None = None

    def start(self) -> float:
        ready = super().start()
        t0 = time.perf_counter()
        with open(self.other / "serve.log", "wb") as log:
            self.proc_b = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "web",
                                            "--http-port", str(self.http_b)],
                                           env=_env(self.other, self.database_url), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(self.http_b, timeout=60.0, proc=self.proc_b)
        except Exception:
            self.stop()
            raise RuntimeError("the second web process did not start:\n"
                               + (self.other / "serve.log").read_text(errors="replace")[-3000:])
        return ready + time.perf_counter() - t0

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{self.http}", f"http://127.0.0.1:{self.http_b}"]

    def cpu_seconds(self) -> float:
        return super().cpu_seconds() + (_tree_cpu(self.proc_b.pid) if self.proc_b is not None else 0.0)

    def stop(self) -> None:
        super().stop()
        stop_process(self.proc_b)


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()     # fields from the state on (field 3)


def _tree_cpu(root: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                children.setdefault(int(st[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        st = _stat(pid)
        if st is None:
            continue
        total += int(st[11]) + int(st[12]) + int(st[13]) + int(st[14])   # utime stime cutime cstime
        todo += children.get(pid, [])
    return total / tick


def _connections(port: int) -> int:
    """Established TCP connections to the server's port, accepted or still waiting in its
    listen backlog (the server's side of /proc/net/tcp)."""
    hexport = f":{port:04X}"
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split(None, 4)
                    if fields[1].endswith(hexport) and fields[3] == "01":
                        n += 1
        except OSError:
            pass
    return n


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --- the run ------------------------------------------------------------------------------------

async def _drive(inst, server: Server, args, stats, say) -> tuple[list, dict]:
    from scenarios.library import load
    from tests.scenarios.plans import World, plan, profile_names

    from .load_candidate import Candidate, Options
    from .load_mail import MailClient
    from .load_profile import Pace, arrivals

    loop = asyncio.get_running_loop()
    base = getattr(server, "bases", None) or f"http://127.0.0.1:{server.http}"
    opts = Options(compress=args.compress, release_timeout=args.release_timeout, status_poll=args.status_poll,
                   keepalive=args.keepalive)
    rng = random.Random(args.seed)
    offsets = arrivals(len(inst.seats), args.window, rng)
    rng.shuffle(offsets)
    t0 = loop.time() + 0.5
    loaded_sets: dict[str, object] = {}
    candidates = []
    n_mistakes = 0
    for i, seat in enumerate(inst.seats):
        if seat.scenario not in loaded_sets:
            loaded_sets[seat.scenario] = load(seat.scenario)
        loaded = loaded_sets[seat.scenario]
        names = profile_names(seat.scenario)
        if not names:
            raise SystemExit(f"{seat.scenario} has no plan in tests/scenarios/plans.py")
        mistakes = names[1:]
        profile = "golden"
        if mistakes and _every(i, args.mistakes, 0.5):      # the set's mistake profiles in turn
            profile = mistakes[n_mistakes % len(mistakes)]
            n_mistakes += 1
        world = World(loaded, seat.values, seat.start_date)
        the_plan = plan(loaded, seat.values, seat.start_date, profile)
        mail = None
        if _every(i, args.smtp_share):
            mail = MailClient(stats, "127.0.0.1", server.smtp, server.imap, seat.address, seat.mail_password,
                              world.name(world.candidate))
        pace = Pace(random.Random(f"pace:{seat.number}"), t0 + offsets[i], args.compress)
        candidates.append(Candidate(seat, the_plan, world, base, stats, pace, opts, inst.answer_key, mail=mail))

    load_samples: list[float] = []
    lag: list[float] = []
    conns: list[int] = []
    done = 0

    async def sample_load():
        """Every 5 s: the load average and the server's connections (reading /proc/net/tcp
        costs tens of milliseconds on a busy machine, so not more often)."""
        while True:
            load_samples.append(os.getloadavg()[0])
            conns.append(_connections(server.http))
            await asyncio.sleep(5)

    async def sample_lag():
        """The generator's own event-loop lag: if it grows, the click times include the
        generator's queueing, not only the server's."""
        while True:
            t = loop.time()
            await asyncio.sleep(0.25)
            lag.append(loop.time() - t - 0.25)

    async def one(c):
        nonlocal done
        out = await c.run()
        done += 1
        if not args.quiet and (done % max(1, len(candidates) // 10) == 0 or done == len(candidates)):
            say(f"  {done}/{len(candidates)} flows ended ({sum(stats.errors.values())} errors so far)")
        return out

    samplers = [asyncio.create_task(sample_load()), asyncio.create_task(sample_lag())]
    try:
        outcomes = await asyncio.gather(*(one(c) for c in candidates))
    finally:
        for t in samplers:
            t.cancel()
    return outcomes, {"samples": load_samples, "lag": lag, "connections": conns,
                      "expected_points": {c.seat.number: loaded_sets[c.seat.scenario].scenario.points
                                          for c in candidates},
                      "scenario_of": {c.seat.number: c.seat.scenario for c in candidates},
                      "criteria_points": {sid: {cr.id: cr.points for cr in ld.scenario.rubric.criteria}
                                          for sid, ld in loaded_sets.items()}}


def _grade(data: Path, code: str, database_url: str | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sandbox.cli", "contest", "grade", code], env=_env(data, database_url),
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        out = f"exit {r.returncode}: {out}"
    return time.perf_counter() - t0, out


def _scores(data: Path, code: str, database_url: str | None = None) -> dict[str, dict]:
    from sqlalchemy import select

    from sandbox.contest.models import Candidate, Contest, ContestPart, PartScore
    from sandbox.kernel.settings import Settings
    from sandbox.runtime import Runtime

    rt = Runtime.open(Settings(data_dir=data, database_url=database_url))
    try:
        with rt.db.read() as s:
            rows = s.execute(select(Candidate.number, ContestPart.kind, ContestPart.points, PartScore.points,
                                    PartScore.report)
                             .join(Contest, Contest.id == Candidate.contest_id)
                             .join(PartScore, PartScore.candidate_id == Candidate.id)
                             .join(ContestPart, ContestPart.id == PartScore.part_id)
                             .where(Contest.code == code)).all()
    finally:
        rt.close()
    out: dict[str, dict] = {}
    for number, kind, part_points, points, report in rows:
        out.setdefault(number, {})[kind] = {"points": points, "part_points": part_points, "report": report}
    return out


def _check_grades(outcomes, scores, extra, stats) -> tuple[dict, list[dict]]:
    """Every completed candidate's theory and practical points against what its answers and
    its plan give; a mismatch is an error of the step «grade». Returns the counts and one row
    per candidate (expected and got)."""
    from .load_setup import PRACTICAL_POINTS, THEORY_POINTS

    checked = mismatched = skipped = 0
    rows = []
    for o in outcomes:
        e = o.expected
        got = scores.get(o.number, {})
        theory, practical = got.get("theory"), got.get("practical")
        report = (practical or {}).get("report") or {}
        maximum = extra["expected_points"][o.number]
        crit = extra["criteria_points"][extra["scenario_of"][o.number]]
        theory_expected = round(e.theory_right * THEORY_POINTS / e.theory_questions, 4) if e.theory_questions else None
        practical_expected = round(maximum - sum(crit.get(c, 0) for c in e.practical_lost), 2)
        lost = sorted(c["id"] for c in report.get("criteria", []) if c.get("verdict") != "pass")
        rows.append({"number": o.number, "profile": o.profile, "smtp_imap": o.smtp, "completed": o.completed,
                     "failed_step": o.failed_step,
                     "theory": {"expected": theory_expected, "got": theory and theory["points"]},
                     "practical": {"expected": practical_expected, "got": report.get("total"), "max": maximum,
                                   "lost": lost, "plan_loses": sorted(e.practical_lost),
                                   "points": practical and practical["points"]}})
        if not o.completed:
            skipped += 1
            continue
        checked += 1
        problems = []
        if theory is None or abs(theory["points"] - theory_expected) > 1e-3:
            problems.append(f"theory {theory and theory['points']} ≠ {theory_expected} expected")
        if practical is None:
            problems.append("no practical score")
        else:
            if abs(report.get("total", -1) - practical_expected) > 1e-6:
                problems.append(f"practical {report.get('total')} ≠ {practical_expected} expected "
                                f"(lost {lost}, the plan loses {sorted(e.practical_lost)})")
            scaled = round(practical_expected * PRACTICAL_POINTS / maximum, 2)   # as the contest's grading rounds
            if abs(practical["points"] - scaled) > 0.005 + 1e-9:
                problems.append(f"practical points {practical['points']} ≠ {scaled}")
        if problems:
            mismatched += 1
            stats.error("grade", f"{o.number} ({o.profile}{', SMTP/IMAP' if o.smtp else ''}): " + "; ".join(problems))
    return ({"checked": checked, "as_expected": checked - mismatched, "mismatched": mismatched,
             "not_compared_flow_failed": skipped}, rows)


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values) if values else float("nan"),
            "mean": sum(values) / len(values) if values else float("nan")}


def run(args) -> dict:
    from .load_client import Stats
    from .load_setup import prepare

    say = (lambda *_: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    result: dict = {"config": {k: v for k, v in vars(args).items() if k not in ("quiet",)}}
    load_before = os.getloadavg()
    data = Path(tempfile.mkdtemp(prefix="bench-load-", dir=args.tmp))
    result["data_dir"] = str(data)
    say(f"load: {args.candidates} candidates on {args.scenario} in {data}; setting up the contest…")
    step = max(1, args.candidates // 5)

    def provisioned(done, total, _number):
        if done % step == 0 and done < total:
            say(f"  provisioning: {done}/{total}")

    url = getattr(args, "database_url", None)
    inst = prepare(data, args.candidates, args.scenario, progress=provisioned, database_url=url)
    say(f"  contest {inst.timings['contest']:.1f} s, provisioning {inst.timings['provision']:.1f} s")
    if getattr(args, "behind_nginx", False):
        from .load_deploy import DeployedServer
        server = DeployedServer(data, workers=args.web_workers, database_url=url)
    elif getattr(args, "two_data_folders", False):
        server = TwoFolderServer(data, database_url=url)
    else:
        server = Server(data, separate_worker=not args.one_process, database_url=url)
    ready = server.start()
    stats = Stats()
    try:
        load_start = os.getloadavg()
        cpu_server0, cpu_gen0 = server.cpu_seconds(), _own_cpu()
        exam_wall = 3600 / args.compress if args.compress else 0
        say(f"  server ready in {ready:.1f} s (web {server.http}, SMTP {server.smtp}, IMAP {server.imap}); "
            f"playing (arrivals over {args.window:.0f} s, the exam in about {exam_wall / 60:.1f} min)…")
        t0 = time.perf_counter()
        outcomes, extra = run_async(_drive(inst, server, args, stats, say))
        wall = time.perf_counter() - t0
        cpu_server, cpu_gen = server.cpu_seconds() - cpu_server0, _own_cpu() - cpu_gen0
        load_after = os.getloadavg()
    finally:
        server.stop()
    # waitress stops accepting at its connection limit (and says so on stderr)
    # and logs the depth of its queue of requests waiting for one of its threads
    log_text = server.log.read_text(errors="replace")
    accept_paused = log_text.count("no longer accepting new connections")
    queue_depth = max((int(d) for d in re.findall(r"Task queue depth is (\d+)", log_text)), default=0)
    say("  grading…")
    grade_seconds, grade_out = _grade(data, inst.code, url)
    scores = _scores(data, inst.code, url)
    grades, per_candidate = _check_grades(outcomes, scores, extra, stats)
    completed = sum(o.completed for o in outcomes)
    spans = [o.ended - o.started for o in outcomes if o.completed]
    samples = extra["samples"]
    result.update({
        "server_shape": getattr(server, "shape", None) or ("one process" if args.one_process
                                                            else "web+smtp+imap, worker apart"),
        "timings": {**inst.timings, "server_ready": ready, "run_wall": wall, "grade": grade_seconds},
        "flows": {"candidates": len(outcomes), "completed": completed,
                  "smtp_imap": sum(o.smtp for o in outcomes),
                  "profiles": {p: sum(o.profile == p for o in outcomes) for p in sorted({o.profile for o in outcomes})},
                  "failed_by_step": {s: sum(o.failed_step == s for o in outcomes)
                                     for s in sorted({o.failed_step for o in outcomes if o.failed_step})},
                  "flow_seconds": _summary(spans)},
        "throughput_flows_per_s": completed / wall if wall else float("nan"),
        "requests": stats.requests, "subrequests": stats.subrequests, "not_modified": stats.not_modified,
        "steps": {s: _summary(stats.times[s]) for s in _ordered(stats.times)},
        "profile_minutes": _minutes(outcomes),
        "release_seconds": _summary(stats.release),
        "generator_loop_lag_seconds": _summary(extra["lag"]),
        "server_connections": {"max": max(extra["connections"], default=0),
                               "mean": (sum(extra["connections"]) / len(extra["connections"])
                                        if extra["connections"] else 0),
                               "accept_paused": accept_paused, "task_queue_depth_max": queue_depth},
        "errors": {"total": sum(stats.errors.values()), "by_step": dict(stats.errors), "first": stats.messages},
        "grades": {**grades, "grade_output": grade_out},
        "cpu": {"server_s": cpu_server, "generator_s": cpu_gen,
                "server_per_flow_s": cpu_server / completed if completed else float("nan"),
                "generator_per_flow_s": cpu_gen / completed if completed else float("nan")},
        "loadavg": {"before": load_before, "at_start": load_start, "after": load_after,
                    "during_max_1min": max(samples) if samples else float("nan"),
                    "during_mean_1min": sum(samples) / len(samples) if samples else float("nan")},
        "cores": os.cpu_count(),
        "candidates": per_candidate,
    })
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n")
    if result["errors"]["total"] or args.keep:
        result["kept"] = True
    else:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(data.parent / (data.name + "-b"), ignore_errors=True)   # --two-data-folders
    return result


LANDMARKS = ["start", "theory submitted", "task sheet", "first mail sent", "directed", "signed", "forwarded",
             "finished"]


def _minutes(outcomes) -> dict[str, dict]:
    """The planned exam minute of each landmark over the completed flows: the profile as played."""
    out = {}
    for name in LANDMARKS:
        values = [o.minutes[name] for o in outcomes if o.completed and name in o.minutes]
        if values:
            out[name] = {"n": len(values), "mean": round(sum(values) / len(values), 1),
                         "min": min(values), "max": max(values)}
    return out


def _ordered(names) -> list[str]:
    return [s for s in STEP_ORDER if s in names] + sorted(set(names) - set(STEP_ORDER))


def lines(result: dict) -> list[str]:
    c, f = result["config"], result["flows"]
    ms = lambda v: f"{v * 1000:7.0f}"  # noqa: E731
    exam = f"{60 / c['compress']:.1f} min" if c["compress"] else "no thinking"
    out = [f"Load: {f['candidates']} candidates, {c['scenario']}, whole exam over HTTP against `sandbox serve`"
           f" (compress {c['compress']:g}: the 60-minute exam in {exam}; "
           f"{'synchronised' if c['sync'] else 'spread'} arrivals over {c['window']:.0f} s; "
           f"{f['smtp_imap']} over SMTP/IMAP; profiles {f['profiles']})",
           f"  setup: contest {result['timings']['contest']:.1f} s, provisioning {result['timings']['provision']:.1f} s,"
           f" server ({result.get('server_shape', '')}) ready {result['timings']['server_ready']:.1f} s; grading {result['timings']['grade']:.1f} s",
           f"  run: {result['timings']['run_wall']:.1f} s wall, {f['completed']}/{f['candidates']} flows completed,"
           f" {result['throughput_flows_per_s']:.2f} flows/s; {result['requests']} requests"
           f" + {result['subrequests']} sub-resources ({result['not_modified']} of them 304)",
           f"  {'step':<14}{'n':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  (ms per click)"]
    for step, s in result["steps"].items():
        out.append(f"  {step:<14}{s['n']:>7}{ms(s['p50'])} {ms(s['p95'])} {ms(s['p99'])} {ms(s['max'])}")
    r = result["release_seconds"]
    if r["n"]:
        out.append(f"  clerk's release seen on the draft's page after «Chuyển văn thư»: p50 {r['p50']:.1f} s,"
                   f" p95 {r['p95']:.1f} s, max {r['max']:.1f} s")
    pm = result["profile_minutes"]
    if pm and c["compress"]:
        out.append("  planned exam minute (mean, min–max): " + "; ".join(
            f"{k} {v['mean']:.0f} ({v['min']:.0f}–{v['max']:.0f})" for k, v in pm.items()))
    fs, lag = f["flow_seconds"], result["generator_loop_lag_seconds"]
    if fs["n"]:
        planned = f"60 exam minutes = {60 / c['compress']:.1f} min" if c["compress"] else "no thinking"
        out.append(f"  a flow took p50 {fs['p50']:.0f} s, max {fs['max']:.0f} s ({planned});"
                   f" generator loop lag p99 {lag['p99'] * 1000:.0f} ms, max {lag['max'] * 1000:.0f} ms")
    sc = result["server_connections"]
    out.append(f"  server's HTTP connections: max {sc['max']}, mean {sc['mean']:.0f}; it stopped accepting new ones"
               f" (waitress's connection limit) {sc['accept_paused']} times; requests waiting for a thread:"
               f" up to {sc['task_queue_depth_max']}")
    e, g = result["errors"], result["grades"]
    out.append(f"  errors: {e['total']}" + (" (" + ", ".join(f"{k} {v}" for k, v in e["by_step"].items()) + ")"
                                           if e["total"] else ""))
    for step, msgs in e["first"].items():
        for m in msgs[:3]:
            out.append(f"    {step}: {m}")
    out.append(f"  grades: {g['as_expected']}/{g['checked']} as expected (theory and practical)"
               + (f", {g['not_compared_flow_failed']} not compared (flow failed)" if g["not_compared_flow_failed"]
                  else ""))
    cpu = result["cpu"]
    out.append(f"  CPU: server {cpu['server_s']:.1f} s ({cpu['server_per_flow_s'] * 1000:.0f} ms per flow),"
               f" generator {cpu['generator_s']:.1f} s ({cpu['generator_per_flow_s'] * 1000:.0f} ms per flow);"
               f" {result['cores']} cores")
    la = result["loadavg"]
    out.append(f"  load average (1 min): before {la['before'][0]:.2f}, at start {la['at_start'][0]:.2f},"
               f" during max {la['during_max_1min']:.2f} (mean {la['during_mean_1min']:.2f}),"
               f" after {la['after'][0]:.2f}")
    if result.get("kept"):
        out.append(f"  data folder kept: {result['data_dir']}")
    return out


def main(argv: list[str] | None = None) -> list[str]:
    args = parse_args(argv if argv is not None else ["--sync"])
    return lines(run(args))


if __name__ == "__main__":
    for line in main(sys.argv[1:]):
        print(line)
