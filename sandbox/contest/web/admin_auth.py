"""Login of organisers, examiners and trainers at /quan-tri (``AdminUser``), kept apart from
the candidate's and the mail login: the session key is ``admin_id``, checked each request
and exposed as ``g.admin`` (an ``AdminRef``) and ``current_admin`` in templates.

Other blueprints guard their views with ``@admin_required()`` (any admin role) or
``@admin_required("organiser", "examiner")``."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from sandbox.kernel.errors import RateLimited
from sandbox.kernel.webkit import current_runtime

bp = Blueprint("admin_auth", __name__, template_folder="templates", url_prefix="/quan-tri")

SESSION_KEY = "admin_id"


@bp.before_app_request
def load_admin():
    g.admin = None
    admin_id = session.get(SESSION_KEY)
    if admin_id is None:
        return
    from sandbox.contest.api import admin_ref

    ref = admin_ref(current_runtime(), admin_id)
    if ref is None:
        session.pop(SESSION_KEY, None)
        return
    g.admin = ref


@bp.app_context_processor
def inject_admin():
    return {"current_admin": g.get("admin")}


@bp.app_errorhandler(403)
def forbidden(e):
    return render_template("error.html", status=403, title="Không có quyền",
                           message="Tài khoản của bạn không có quyền dùng trang này."), 403


def admin_required(*roles: str):
    """Decorator: the view needs a logged-in admin, with one of ``roles`` if given."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            admin = g.get("admin")
            if admin is None:
                return redirect(url_for("admin_auth.login",
                                        next=request.full_path if request.method == "GET" else None))
            if roles and admin.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/quan-tri") and "\\" not in target and not target.startswith("//"):
        return target.rstrip("?")
    return None


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login():
    """Đăng nhập quản trị."""
    from sandbox.contest.api import admin_login

    error = None
    login_name = ""
    if request.method == "POST":
        login_name = request.form.get("login", "").strip()
        try:
            ref = admin_login(current_runtime(), login_name, request.form.get("password", ""), request.remote_addr)
        except RateLimited as e:
            error = e.message_vi
        else:
            if ref is None:
                error = "Tên đăng nhập hoặc mật khẩu không đúng."
            else:
                session[SESSION_KEY] = ref.id
                return redirect(_safe_next(request.args.get("next")) or url_for("admin_auth.home"))
    status = 200 if error is None else (429 if "quá nhiều" in error else 401)
    return render_template("admin/login.html", error=error, login_name=login_name), status


@bp.post("/dang-xuat")
def logout():
    """Đăng xuất quản trị (the candidate's or mail session, if any, stays)."""
    session.pop(SESSION_KEY, None)
    flash("Bạn đã đăng xuất khỏi trang quản trị.", "info")
    return redirect(url_for("admin_auth.login"))


@bp.get("/")
@admin_required()
def home():
    """The admin start page: the contest list when the organiser pages are installed."""
    from flask import current_app
    if "admin.contests" in current_app.view_functions:
        return redirect(url_for("admin.contests"))
    return render_template("admin/home.html")
