"""The Flask app factory: one blueprint per tool, Vietnamese pages, CSRF on every form."""
from __future__ import annotations

import logging
import sqlite3

from flask import Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from docflow.web import bp as docflow_bp
from mailserver.webmail import bp as webmail_bp
from sandbox.appeals import web as appeals_web
from sandbox.contest import web as contest_web
from sandbox.kernel import storage, vnformat
from sandbox.kernel.actions import DOOR
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.webkit import current_runtime
from sandbox.ops import web as ops_web
from sandbox.replay import web as replay_web
from sandbox.runtime import Runtime
from sandbox.training import web as training_web
from sandbox.web import assets, auth, tasks
from scenarios.build import instance_of
from signing.web import bp as signing_bp

csrf = CSRFProtect()
log = logging.getLogger(__name__)


def create_app(runtime: Runtime | None = None, config: dict | None = None) -> Flask:
    runtime = runtime or Runtime.open()
    app = Flask(__name__)
    _configure(app, runtime, config)
    _trust_proxies(app, runtime.settings.proxy_hops)
    _register_blueprints(app)
    _add_template_filters(app)
    assets.init_app(app)  # static files: content-versioned URLs, cached for a year
    _add_hooks(app, runtime)
    _add_error_pages(app, runtime)
    return app


def _configure(app: Flask, runtime: Runtime, config: dict | None) -> None:
    app.config.update(
        SECRET_KEY=runtime.secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="sandbox_session",
        MAX_CONTENT_LENGTH=runtime.settings.max_message_size + 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # an exam page stays open for the whole shift
        MAIL_PAGE_SIZE=50,
    )
    app.config.update(config or {})
    app.extensions["sandbox_runtime"] = runtime
    csrf.init_app(app)


def _trust_proxies(app: Flask, hops: int) -> None:
    """Believe X-Forwarded-For/-Proto/-Host from exactly ``hops`` proxies (nginx: 1), so
    ``request.remote_addr`` is the candidate's own address (the login throttle, the seat
    record, the logs). With 0 nothing is wrapped: a client's own X-Forwarded-For is ignored."""
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_blueprints(app: Flask) -> None:
    """The tools (login, webmail, signing dialog, documents, task sheet), then each feature."""
    app.register_blueprint(auth.bp)
    app.register_blueprint(webmail_bp, url_prefix="/mail")
    app.register_blueprint(signing_bp, url_prefix="/ky-so")
    app.register_blueprint(docflow_bp, url_prefix="/van-ban")
    app.register_blueprint(tasks.bp)
    replay_web.register(app)  # /quan-tri/phat-lai: the timeline of a session
    contest_web.register(app)  # /quan-tri: admin login, organiser pages; /thi: portal; /quan-tri/giam-sat
    training_web.register(app)  # /luyen-tap, /quan-tri/luyen-tap: drill classes
    appeals_web.register(app)  # /quan-tri/phuc-khao: appeals, re-grades
    ops_web.register(app)  # /healthz; request ids (X-Request-ID, logs, error pages)
    auth.init_app(app)


def _add_template_filters(app: Flask) -> None:
    app.add_template_filter(vnformat.number, "vn_number")
    app.add_template_filter(vnformat.percent, "vn_percent")
    app.add_template_filter(vnformat.date_time, "vn_datetime")
    app.add_template_filter(vnformat.short_date, "vn_date")
    app.add_template_filter(vnformat.long_date, "vn_long_date")
    app.add_template_filter(vnformat.file_size, "vn_size")


#: The pages' content security policy: nothing from outside, no inline scripts.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")


def _add_hooks(app: Flask, runtime: Runtime) -> None:
    @app.get("/")
    def index():
        """A candidate starts at the task sheet; anyone else at the mailbox."""
        if g.get("account") is not None:
            with runtime.db.read() as s:
                inst = instance_of(s, g.account.sandbox_id)
                if inst is not None and inst.candidate_address == g.account.address:
                    return redirect(url_for("tasks.index"))
        return redirect(url_for("webmail.index"))

    @app.before_request
    def mark_door():
        DOOR.set("web")

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        return resp


def _error_page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def _add_error_pages(app: Flask, runtime: Runtime) -> None:
    @app.errorhandler(SandboxError)
    def sandbox_error(e: SandboxError):
        if request.method == "POST" and e.status < 500 and request.referrer:
            flash(e.message_vi, "error")
            return redirect(request.referrer)
        return _error_page(e.status, "Không thực hiện được", e.message_vi)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _error_page(400, "Phiên làm việc đã hết hạn",
                           "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại.")

    @app.errorhandler(404)
    def not_found(e):
        return _error_page(404, "Không tìm thấy trang", "Trang hoặc nội dung bạn yêu cầu không tồn tại.")

    @app.errorhandler(405)
    def not_allowed(e):
        return _error_page(405, "Không được phép", "Thao tác này không được hỗ trợ ở địa chỉ này.")

    @app.errorhandler(413)
    def too_large(e):
        return _error_page(413, "Tệp quá lớn",
                           f"Tổng dung lượng gửi lên vượt quá giới hạn {vnformat.file_size(runtime.settings.max_message_size)}.")

    @app.errorhandler(500)
    def server_error(e):
        log.exception("server error")
        return _error_page(500, "Lỗi hệ thống", "Đã có lỗi xảy ra, thao tác vừa rồi có thể chưa được lưu; "
                                                "vui lòng thử lại.")

    from sqlalchemy.exc import SQLAlchemyError

    @app.errorhandler(OSError)
    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(sqlite3.Error)
    def storage_error(e: Exception):
        """A full disk or database (507) or a database that cannot be used now (503): logged
        with its cause, told precisely in Vietnamese (JSON for the pages' scripts); any other
        such error goes on as unhandled (Flask logs it, the generic 500 page)."""
        kind = storage.classify(e)
        if kind is None:
            raise e
        status = 507 if kind == storage.FULL else 503
        log.error("storage %s, answered %d: %s", kind, status, storage.cause(e), exc_info=e)
        if request.is_json or request.accept_mimetypes.best == "application/json":
            resp = jsonify(error=storage.message_vi(kind), storage=kind)
            resp.status_code = status
            return resp
        return _error_page(status, storage.title_vi(kind), storage.message_vi(kind))


runtime = current_runtime
