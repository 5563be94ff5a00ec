"""Login for portal users. Today a portal user is a mail account of a sandbox (login name
``address`` or ``sandbox/address``); the session keeps its id and is checked each request."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from sandbox.kernel.errors import RateLimited
from sandbox.kernel.webkit import current_runtime as runtime
from sandbox.kernel.webkit import login_required  # noqa: F401  (re-exported)

bp = Blueprint("auth", __name__)


def init_app(app) -> None:
    @app.before_request
    def load_user():
        g.account = None
        account_id = session.get("account_id")
        if account_id is None:
            return
        from mailserver.api import account_ref

        with runtime().db.read() as s:
            ref = account_ref(s, account_id)
        if ref is None or ref.sandbox_id != session.get("sandbox_id"):
            clear_mail_session()
            return
        g.account = ref

    @app.context_processor
    def inject_user():
        return {"current_account": g.get("account")}


#: the keys of a tool (mail account) login; an examiner's login (``admin_id``) and a candidate
#: portal login live beside them and are not touched by logging in or out of the tools
MAIL_SESSION_KEYS = ("account_id", "sandbox_id", "df_views")


def clear_mail_session() -> None:
    for key in MAIL_SESSION_KEYS:
        session.pop(key, None)


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Đăng nhập."""

    error = None
    login_name = ""
    if request.method == "POST":
        login_name = request.form.get("login", "").strip()
        password = request.form.get("password", "")
        try:
            ref = runtime().mail_login(login_name, password, request.remote_addr)
        except RateLimited as e:
            error = e.message_vi
        else:
            if ref is None:
                error = "Tên đăng nhập hoặc mật khẩu không đúng."
            else:
                clear_mail_session()
                session["account_id"] = ref.id
                session["sandbox_id"] = ref.sandbox_id
                session.permanent = False
                return redirect(_safe_next(request.args.get("next")) or url_for("index"))
    return render_template("auth/login.html", error=error, login_name=login_name), (200 if error is None else 401)


@bp.post("/logout")
def logout():
    """Đăng xuất."""
    clear_mail_session()
    flash("Bạn đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))
