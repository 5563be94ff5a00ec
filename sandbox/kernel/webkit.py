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
