"""What a tool package's blueprint needs from the web app, kept on the ground floor so
``mailserver``, ``docflow`` and ``signing`` blueprints never import the composition above
them: the running Runtime and the login guard. ``g.account`` is set by the app's login
(``sandbox.web.auth``) before each request."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, url_for


def current_runtime():
    """The Runtime the app was created with (``sandbox.runtime.Runtime``)."""
    return current_app.extensions["sandbox_runtime"]


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("account") is None:
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return view(*args, **kwargs)

    return wrapped


# --- request ids and the log context (sandbox.kernel.logs) ---------------------------------------

#: the header a request id comes in (from nginx: ``proxy_set_header X-Request-ID $request_id``)
#: and goes back out in
REQUEST_ID_HEADER = "X-Request-ID"


def request_id() -> str:
    """This request's id (made on first use if the request hook has not run yet)."""
    from sandbox.kernel import logs

    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = logs.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g._request_id_token = logs.REQUEST_ID.set(rid)
    return rid


def _request_log_context() -> dict:
    """What the log knows of the request being served: method, path, and who is logged in
    (``g.account``: the tools' login; ``g.candidate``: the contest portal's; ``g.admin``)."""
    from flask import has_request_context

    if not has_request_context():
        return {}
    fields = {"method": request.method, "path": request.path}
    account = g.get("account")
    candidate = g.get("candidate")
    admin = g.get("admin")
    if candidate is not None:
        fields["candidate"] = getattr(candidate, "number", None)
        fields["sandbox"] = getattr(candidate, "sandbox_name", None)
    if account is not None and not fields.get("sandbox"):
        fields["sandbox"] = getattr(account, "sandbox_name", None)
    if admin is not None:
        fields["admin"] = getattr(admin, "login", None)
    return fields


def init_request_log(app) -> None:
    """Give every request an id (the incoming ``X-Request-ID`` if sane, else a fresh one), in
    ``logs.REQUEST_ID`` for every log line of the request, in the ``X-Request-ID`` response
    header and as ``request_id`` in templates (the error page shows it); add the request's
    sandbox, candidate and admin to the log context."""
    from sandbox.kernel import logs

    def start_request():
        request_id()

    # first of all the hooks, so a failing hook's error is logged and shown with the id
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def request_id_header(resp):
        resp.headers[REQUEST_ID_HEADER] = request_id()
        return resp

    @app.teardown_request
    def end_request(_exc):
        token = g.pop("_request_id_token", None)
        if token is not None:
            try:
                logs.REQUEST_ID.reset(token)
            except ValueError:  # set in another context (never in Flask's request handling)
                logs.REQUEST_ID.set(None)

    @app.context_processor
    def inject_request_id():
        return {"request_id": request_id()}

    logs.add_context_provider(_request_log_context)
    if logs.configured():  # Flask's own stderr handler would print every error twice
        from flask.logging import default_handler
        app.logger.removeHandler(default_handler)
