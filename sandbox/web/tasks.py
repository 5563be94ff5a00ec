"""The candidate's task sheet ("Đề bài") and, in practice mode, "Kiểm tra" (per-criterion
feedback now, with the evidence) and "Làm lại" (start the drill again from its initial
state). Composition layer: it may use scenarios and the grader."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict

from flask import Blueprint, abort, flash, g, redirect, render_template, session, url_for

from sandbox.kernel.clock import VN_TZ
from sandbox.kernel.errors import Forbidden
from sandbox.kernel.webkit import current_runtime, login_required

bp = Blueprint("tasks", __name__)


def _instance():
    from scenarios.build import instance_of

    with current_runtime().db.read() as s:
        inst = instance_of(s, g.account.sandbox_id)
        if inst is not None:
            s.expunge(inst)
        return inst


#: Parsed scenarios by (file, SHA-256 of its bytes) and rendered sheets by everything they
#: depend on (the scenario's bytes, the sandbox's variant values, its start date): a view
#: costs one small file read instead of a YAML parse and validation, an edited scenario file
#: is parsed again, and a sheet is only ever shared by sandboxes with the same values.
SCENARIO_CACHE = 16
SHEET_CACHE = 2048
_scenarios: OrderedDict[tuple, object] = OrderedDict()
_sheets: OrderedDict[tuple, tuple] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(cache: OrderedDict, key, limit: int, make):
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _cache_lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)
    return value


def _scenario(ref: str):
    """(the parsed scenario, the key of its file's content)."""
    from scenarios.library import InvalidScenario, find, load
    from scenarios.validate import validate_text

    path = find(ref)
    raw = path.read_bytes()
    key = (str(path.resolve()), hashlib.sha256(raw).hexdigest())

    def parse():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return load(path).scenario  # raises InvalidScenario with the line
        sc, problems = validate_text(text, str(path))
        if problems or sc is None:
            raise InvalidScenario(problems)
        return sc

    return _cached(_scenarios, key, SCENARIO_CACHE, parse), key


def _start_date(inst) -> dt.date:
    """The sandbox's first in-world day in Vietnam (as ``grader.state.SandboxState.start_date``)."""
    start = inst.start if inst.start.tzinfo else inst.start.replace(tzinfo=dt.timezone.utc)
    return start.astimezone(VN_TZ).date()


def _sheet(inst):
    from scenarios import templates
    from scenarios.build import from_json
    from scenarios.variants import context

    sc, source = _scenario(inst.source or inst.scenario_id)
    start = _start_date(inst)
    values = json.dumps(inst.values, sort_keys=True, ensure_ascii=False, default=str)

    def render():
        ctx = context(sc, from_json(inst.values), start)
        return tuple((templates.render(t.title, ctx), templates.render(t.text, ctx)) for t in sc.tasks)

    return sc, list(_cached(_sheets, (source, values, start.isoformat()), SHEET_CACHE, render))


@bp.get("/de-bai")
@login_required
def index():
    """Đề bài của thí sinh."""
    inst = _instance()
    if inst is None:
        return render_template("tasks/sheet.html", inst=None, sheet=[], sc=None, report=None)
    if inst.candidate_address != g.account.address:
        return render_template("tasks/sheet.html", inst=None, sheet=[], sc=None, report=None, not_candidate=True)
    sc, sheet = _sheet(inst)
    return render_template("tasks/sheet.html", inst=inst, sc=sc, sheet=sheet, report=None)


def _practice_instance():
    inst = _instance()
    if inst is None or inst.candidate_address != g.account.address:
        abort(404)
    if not inst.practice:
        raise Forbidden("Chức năng này chỉ dùng khi luyện tập; bài thi được chấm sau khi kết thúc.",
                        "not a practice sandbox")
    return inst


@bp.post("/de-bai/kiem-tra")
@login_required
def check():
    """Kiểm tra: chấm ngay và hiện nhận xét từng tiêu chí (chế độ luyện tập)."""
    from grader.engine import grade
    from grader.state import SandboxState

    inst = _practice_instance()
    sc, sheet = _sheet(inst)
    report = grade(SandboxState(current_runtime(), g.account.sandbox_id), sc)
    return render_template("tasks/sheet.html", inst=inst, sc=sc, sheet=sheet, report=report)


@bp.post("/de-bai/lam-lai")
@login_required
def restart():
    """Làm lại từ đầu (chế độ luyện tập): bài cũ được lưu lại, bài mới như lúc bắt đầu."""
    from mailserver.api import account_by_address
    from scenarios.build import restart as rebuild

    _practice_instance()
    rt = current_runtime()
    address = g.account.address
    res = rebuild(rt, g.account.sandbox_id, actor=address)
    with rt.db.read() as s:
        ref = account_by_address(s, res.sandbox_id, address)
    from .auth import clear_mail_session
    clear_mail_session()
    session["account_id"], session["sandbox_id"] = ref.id, ref.sandbox_id
    flash("Đã làm lại từ đầu: mọi thao tác trước đó được lưu riêng, bài làm mới như lúc bắt đầu.", "info")
    return redirect(url_for("tasks.index"))
