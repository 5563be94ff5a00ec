"""Issue 16, acceptance 3: the attack suite over the whole URL map. Every (rule, method) of the
production app is classified from its guard (``routes.py``) and attacked by its class: another
sandbox's ids (IDOR), no and a wrong CSRF token, a candidate's and a trainee's session on staff
pages, a trainee's on candidate pages, nobody's session on any guarded page, path traversal in
every string and path argument. A route added tomorrow is attacked by these loops without
anyone writing a test for it; one the loops cannot reach fails
``test_every_route_is_classified`` or ``test_every_argument_has_values`` with its name."""
from __future__ import annotations

import itertools

import pytest
from flask import Flask

from tests.security.conftest import CODE, fingerprint, sandbox_id
from tests.security.routes import classify, fill, routes

KINDS = {"public", "static", "candidate", "tools", "trainee", "staff"}
#: arguments that name something the session owns in its own sandbox: these are filled with
#: sandbox B's values for the IDOR probes (``conftest.objects_of``)
OWNED = {"folder_id", "item_id", "doc_id", "blob"}
#: arguments that are not an object of a sandbox: a sub-part of an owned object, a tool's or a
#: static file's name, the trainee's own drill number, the organisers' objects (staff only)
NOT_OWNED = {"part": "1", "index": 0, "tool": "mail", "filename": "style.css", "position": 1,
             "code": CODE, "fmt": "pdf", "job_id": 1, "appeal_id": 1, "seq": 1}
STRING_CONVERTERS = {"UnicodeConverter", "PathConverter", "AnyConverter"}
REFUSED_LOGIN = {"staff": "/quan-tri/dang-nhap", "candidate": "/thi", "tools": "/login", "trainee": "/login"}


@pytest.fixture(scope="module")
def table(attacked):
    return routes(attacked.app)


def session_for(at, route):
    """The session that may use the route (the most privileged one its guard admits)."""
    if route.kind in ("candidate", "tools"):
        return at.browser("A")
    if route.kind == "trainee":
        return at.browser("trainee")
    if route.kind == "staff":
        for role in ("organiser", "examiner", "trainer"):
            if not route.roles or role in route.roles:
                return at.browser(role)
    return at.browser("anonymous")


def own_values(at, route, objects=None) -> dict:
    objects = objects or at.a_objects
    values = dict(NOT_OWNED)
    values.update(name=at.sandbox_a, class_id=at.class_id)
    for arg in route.converters:
        key = f"{arg}:{'den' if '/den/' in route.rule else 'di'}" if arg == "doc_id" else arg
        if key in objects and objects[key]:
            values[arg] = objects[key][0]
    return values


def send(browser, route, url, *, csrf=True, token=None):
    if route.writes:
        data = {"csrf_token": token or browser.token} if csrf else {}
        return browser.request(route.method, url, data=data)
    return browser.request(route.method, url)


def _same_site(target: str) -> bool:
    return (target.startswith("/") and not target.startswith("//")) or target.startswith("http://localhost/")


def location(resp) -> str:
    return resp.headers.get("Location", "")


# --- the coverage guard -------------------------------------------------------------------------
def test_every_route_is_classified(table):
    unclassified = [str(r) for r in table if r.kind not in KINDS]
    assert not unclassified, ("routes without a known guard (add login_required / admin_required / "
                              f"candidate_required, or teach tests/security/routes.py): {unclassified}")
    kinds = {r.kind for r in table}
    assert kinds == KINDS, kinds
    assert len(table) > 100


def test_every_argument_has_values(attacked, table):
    """Each argument of a guarded rule is either an owned object (sandbox B has values for it)
    or named in NOT_OWNED: a new argument makes this fail instead of going unprobed."""
    missing = [f"{r}: {arg}" for r in table if r.kind != "public" for arg in r.converters
               if arg not in OWNED and arg not in NOT_OWNED and arg not in ("name", "class_id")]
    assert not missing, missing
    for arg in OWNED:
        keys = [k for k in attacked.b_objects if k.split(":")[0] == arg]
        assert keys and all(attacked.b_objects[k] for k in keys), (arg, attacked.b_objects)


def test_the_guard_catches_an_unguarded_view():
    """The classification fails for a view nobody guarded (the guard itself can fail)."""
    app = Flask(__name__)

    @app.get("/bi-mat")
    def secret():
        return "x"

    assert classify(app.view_functions["secret"], "secret") == (None, ())
    assert classify(app.view_functions["static"], "static") == ("static", ())


# --- (a) another sandbox's ids ------------------------------------------------------------------
def test_idor_other_sandboxes_ids_are_not_found(attacked, table):
    at = attacked
    b_id = sandbox_id(at.rt, at.sandbox_b)
    before = fingerprint(at.rt)
    b_log = _log_seq(at.rt, b_id)
    probed, bad, own = 0, [], []
    for route in table:
        owned = [arg for arg in route.converters if arg in OWNED]
        if route.kind not in ("tools", "trainee", "candidate") or not owned:
            continue
        b_values = own_values(at, route, at.b_objects)
        if not route.writes:
            own.append(route)
        choices = []
        for arg in owned:
            key = f"{arg}:{'den' if '/den/' in route.rule else 'di'}" if arg == "doc_id" else arg
            choices.append([(arg, v) for v in at.b_objects[key]])
        for combo in itertools.product(*choices):
            url = fill(route.rule, b_values | dict(combo))
            for who in ("A", "trainee"):
                browser = at.browser(who)
                resp = send(browser, route, url)
                probed += 1
                allowed = (400, 403, 404) if route.writes else (403, 404)
                if resp.status_code not in allowed:
                    bad.append(f"{who}: {route.method} {url} -> {resp.status_code} {location(resp)}")
    assert probed > 50
    assert not bad, bad
    assert _log_seq(at.rt, b_id) == b_log
    assert fingerprint(at.rt) == before
    # the control: the same pages with A's own objects open for A
    own = {str(r): send(at.browser("A"), r, fill(r.rule, own_values(at, r))).status_code for r in own}
    # (a message's part or link, a document's attachment: A's first objects have none)
    closed = [r for r, status in own.items() if status != 200 and not any(x in r for x in ("<part>", "<int:index>", "/link"))]
    assert not closed, own


def test_idor_signing_file_parameter(attacked):
    """The signing dialog names its file in a query/form field: B's file is not A's."""
    at = attacked
    a = at.browser("A")
    blob = at.b_objects["blob"][0]
    assert a.get(f"/ky-so/ky?file={blob}").status_code == 404
    assert a.post("/ky-so/ky", {"file": blob, "token_id": "1", "pin": "123456"}).status_code == 404
    own = at.a_objects["blob"][0]
    assert a.get(f"/ky-so/ky?file={own}").status_code == 200


def _log_seq(rt, sid):
    from sandbox.kernel.models import Sandbox

    with rt.db.read() as s:
        return s.get(Sandbox, sid).log_seq


# --- (b) CSRF -----------------------------------------------------------------------------------
def test_every_write_without_or_with_a_wrong_csrf_token_is_refused(attacked, table):
    at = attacked
    writes = [r for r in table if r.writes]
    assert len(writes) > 40
    bad = []
    for route in writes:
        browser = session_for(at, route)
        url = fill(route.rule, own_values(at, route))
        for label, kw in [("no token", {"csrf": False}), ("wrong token", {"token": "IjEyMyI.bad.token"})]:
            before = fingerprint(at.rt)
            resp = send(browser, route, url, **kw)
            if resp.status_code not in (400, 403):
                bad.append(f"{label}: {route} -> {resp.status_code}")
            elif "Biểu mẫu đã hết hạn" not in resp.get_data(as_text=True) and resp.status_code == 400:
                bad.append(f"{label}: {route} -> 400 without the Vietnamese CSRF message")
            after = fingerprint(at.rt)
            if after != before:
                bad.append(f"{label}: {route} changed {[k for k in after if after[k] != before.get(k)]}")
        # a JSON request with a wrong header token is refused the same way
        resp = browser.request(route.method, url, json={}, headers={"X-CSRFToken": "bad"})
        if resp.status_code not in (400, 403):
            bad.append(f"json wrong header: {route} -> {resp.status_code}")
    assert not bad, bad


# --- (c) a candidate's and a trainee's session on staff pages -------------------------------------
def test_candidate_and_trainee_sessions_are_refused_on_staff_pages(attacked, table):
    at = attacked
    before = fingerprint(at.rt)
    bad, probed = [], 0
    for route in table:
        if route.kind != "staff":
            continue
        url = fill(route.rule, own_values(at, route))
        for who in ("A", "trainee", "anonymous"):
            resp = send(at.browser(who), route, url)
            probed += 1
            refused = (resp.status_code == 403 or
                       (resp.status_code == 302 and location(resp).split("?")[0].endswith(REFUSED_LOGIN["staff"])))
            if not refused:
                bad.append(f"{who}: {route} -> {resp.status_code} {location(resp)}")
    assert probed > 90
    assert not bad, bad
    assert fingerprint(at.rt) == before


def test_a_trainer_is_refused_on_organiser_pages(attacked, table):
    """The roles of ``admin_required`` hold: a trainer's session on a page for other roles."""
    at = attacked
    bad = []
    for route in table:
        if route.kind == "staff" and route.roles and "trainer" not in route.roles:
            resp = send(at.browser("trainer"), route, fill(route.rule, own_values(at, route)))
            if resp.status_code != 403:
                bad.append(f"{route} -> {resp.status_code}")
    assert not bad, bad


# --- (d) a trainee's session on candidate pages; nobody's session on any guarded page --------------
def test_trainee_and_anonymous_sessions_are_refused_on_candidate_pages(attacked, table):
    at = attacked
    bad = []
    for route in table:
        if route.kind != "candidate":
            continue
        url = fill(route.rule, own_values(at, route))
        for who in ("trainee", "anonymous", "organiser"):
            resp = send(at.browser(who), route, url)
            refused = (resp.status_code in (401, 403) or
                       (resp.status_code == 302 and location(resp).rstrip("/").endswith(REFUSED_LOGIN["candidate"])))
            if not refused:
                bad.append(f"{who}: {route} -> {resp.status_code} {location(resp)}")
    assert not bad, bad


def test_anonymous_is_sent_to_a_login_on_tool_and_trainee_pages(attacked, table):
    at = attacked
    bad = []
    for route in table:
        if route.kind not in ("tools", "trainee"):
            continue
        resp = send(at.browser("anonymous"), route, fill(route.rule, own_values(at, route)))
        if not (resp.status_code == 302 and location(resp).split("?")[0].endswith("/login")):
            bad.append(f"{route} -> {resp.status_code} {location(resp)}")
    assert not bad, bad


# --- (e) path traversal -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def canary(attacked):
    path = attacked.rt.settings.data_dir.parent / "canary.txt"
    path.write_text("CANARY-7c1f outside the served folders\n")
    secret = attacked.rt.settings.data_dir / "secret.key"
    return path, secret


def traversal_payloads(canary_path) -> list[str]:
    abs_canary = str(canary_path)
    return ["../canary.txt", "../../canary.txt", "../../../../../../../etc/passwd", "..%2f..%2fcanary.txt",
            "%2e%2e%2f%2e%2e%2fcanary.txt", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "..%252f..%252fcanary.txt",
            "..\\..\\canary.txt", "....//....//etc/passwd", "/etc/passwd", abs_canary, abs_canary.lstrip("/"),
            "%00", "x%00.pdf", "..%00/etc/passwd", "data/secret.key", "../data/secret.key"]


def test_path_traversal_in_every_string_argument(attacked, table, canary):
    at = attacked
    canary_path, secret = canary
    secrets = [canary_path.read_text().strip(), "root:x:0:0"]
    if secret.exists():
        secrets.append(secret.read_text().strip())
    bad, probed = [], 0
    for route in table:
        strings = [a for a, conv in route.converters.items() if conv in STRING_CONVERTERS]
        if not strings:
            continue
        browser = session_for(at, route)
        for arg, payload in itertools.product(strings, traversal_payloads(canary_path)):
            url = fill(route.rule, own_values(at, route) | {arg: payload})
            resp = send(browser, route, url)
            probed += 1
            target = location(resp)
            if resp.status_code in (301, 302, 303, 307, 308) and _same_site(target):
                resp = browser.get(target)   # where it leads: our own page, no file from outside
                ok = resp.status_code in (200, 302, 400, 404)
            else:
                ok = resp.status_code in (400, 404)
            body = resp.get_data(as_text=True)
            leaked = [x for x in secrets if x and x in body]
            if leaked or not ok:
                bad.append(f"{route.method} {url} -> {resp.status_code} {target} {leaked}")
    assert probed > 100
    assert not bad, bad
