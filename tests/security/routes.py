"""Every (rule, method) of the app's URL map, classified from the code itself.

A view's class comes from the guard that wraps it, recognised by the guard's own wrapper code
(each decorator makes its wrapper from one code object, so ``view.__code__ is
login_required(f).__code__`` tells a guarded view without a hand list):

========== ==================================================================================
static     Flask's ``send_static_file`` (the app's and each blueprint's static folder)
candidate  ``sandbox.contest.web.portal.candidate_required`` (the exam portal)
staff      ``sandbox.contest.web.admin_auth.admin_required(*roles)`` (roles read from the closure)
trainee    ``sandbox.kernel.webkit.login_required`` in the ``training`` blueprint
tools      ``sandbox.kernel.webkit.login_required`` elsewhere (webmail, documents, signing, task sheet)
public     no guard, and the view is a door: its function is named ``login``, ``logout``,
           ``join`` (a drill class's join form), ``index`` (the redirect at ``/``) or
           ``healthz``
========== ==================================================================================

Anything else (a new view without a guard, or a guard this module does not know) is
*unclassified*, and ``tests/security/test_routes.py::test_every_route_is_classified`` fails
with its name: add the guard, or teach this module the new guard.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask

from sandbox.contest.web import admin_auth, portal
from sandbox.kernel import webkit

PUBLIC_DOORS = {"login", "logout", "join", "index", "healthz"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _noop():
    return None


_LOGIN_CODE = webkit.login_required(_noop).__code__
_ADMIN_CODE = admin_auth.admin_required()(_noop).__code__
_CANDIDATE_CODE = portal.candidate_required(_noop).__code__


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str
    kind: str | None            # None: unclassified
    roles: tuple[str, ...]      # staff: the roles the view admits (empty: any admin)
    converters: dict            # argument -> converter class name

    @property
    def blueprint(self) -> str:
        return self.endpoint.rpartition(".")[0]

    @property
    def writes(self) -> bool:
        return self.method in WRITE_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.rule} ({self.endpoint})"


def _chain(view):
    while view is not None:
        yield view
        view = getattr(view, "__wrapped__", None)


def _closure(fn) -> dict:
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))


def _serves_static(view) -> bool:
    """Flask's own static view: a blueprint's bound ``send_static_file``, or the app's lambda
    calling it."""
    if getattr(view, "__name__", "") == "send_static_file" and getattr(view, "__self__", None) is not None:
        return isinstance(view.__self__, (Flask, Blueprint))
    code = getattr(view, "__code__", None)
    return (code is not None and code.co_qualname.startswith("Flask.__init__")
            and "send_static_file" in code.co_names)


def classify(view, endpoint: str) -> tuple[str | None, tuple[str, ...]]:
    if _serves_static(view):
        return "static", ()
    for fn in _chain(view):
        code = getattr(fn, "__code__", None)
        if code is _CANDIDATE_CODE:
            return "candidate", ()
        if code is _ADMIN_CODE:
            return "staff", tuple(_closure(fn).get("roles", ()))
        if code is _LOGIN_CODE:
            return ("trainee" if endpoint.rpartition(".")[0] == "training" else "tools"), ()
    if getattr(view, "__wrapped__", None) is None and view.__name__ in PUBLIC_DOORS:
        return "public", ()
    return None, ()


def routes(app) -> list[Route]:
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        kind, roles = classify(view, rule.endpoint)
        convs = {arg: type(conv).__name__ for arg, conv in rule._converters.items()}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append(Route(rule.rule, rule.endpoint, method, kind, roles, convs))
    return sorted(out, key=lambda r: (r.rule, r.method))


def fill(rule: str, values: dict) -> str:
    """The rule's path with each ``<conv:arg>`` replaced by ``values[arg]`` as given (raw: a
    traversal payload stays as typed; the test client sends it as the path)."""
    import re

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule)
