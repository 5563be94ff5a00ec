"""``GET /healthz`` (no login: a load balancer, a monitor or the operator asks it) and the
request ids of every page (``sandbox.kernel.webkit.init_request_log``: the ``X-Request-ID``
header, the log context, the code on the error page)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from sandbox.kernel.webkit import current_runtime, init_request_log

from . import health

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The health report: 200 when healthy, 503 otherwise (``sandbox.ops.health``)."""
    out = health.report(current_runtime())
    resp = jsonify(out)
    resp.status_code = 200 if out["ok"] else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp


def register(app) -> None:
    app.register_blueprint(bp)
    init_request_log(app)
