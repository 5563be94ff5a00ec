"""What every docflow page shares: who is looking (the session's sandbox and the logged-in
person's address), the ``docflow_page`` guard, the error page for ids of other sandboxes or
organisations, the side menu's counts and people's names in templates, paging and search
parameters, a document's detail, and recording that a page was opened (once per session)."""
from __future__ import annotations

import math
import unicodedata
from functools import wraps

from flask import current_app, g, render_template, request, session

from docflow import api
from sandbox.kernel import storage
from sandbox.kernel.errors import Forbidden, NotFound
from sandbox.kernel.webkit import current_runtime, login_required

from .blueprint import bp

__all__ = ["rules", "runtime", "sandbox_id", "viewer", "docflow_page", "page_number", "page_size", "page_count",
           "search_text", "to_int", "incoming_detail", "outgoing_detail", "record_view_once"]

rules = api.rules


def runtime():
    return current_runtime()


def sandbox_id() -> int:
    return g.account.sandbox_id


def viewer() -> str:
    return g.account.address.strip().lower()


def docflow_page(view):
    """Logged in, and a person of the document software of the sandbox."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.df_person = api.person(runtime(), sandbox_id(), viewer())
        if g.df_person is None:
            return render_template(
                "error.html", status=403, title="Không có quyền truy cập",
                message="Tài khoản thư điện tử của bạn không có trong phần mềm quản lý văn bản của cơ quan "
                        "nào trong bài thi này."), 403
        return view(*args, **kwargs)

    return login_required(wrapped)


@bp.errorhandler(NotFound)
def not_found(e: NotFound):
    """Another sandbox's id, another organisation's document or one that never existed."""
    return render_template("error.html", status=404, title="Không tìm thấy", message=e.message_vi), 404


@bp.app_template_global("docflow_nav")
def docflow_nav() -> dict:
    """Counts for the side menu of every docflow page."""
    rt, sid, me = runtime(), sandbox_id(), viewer()
    return {"in": api.incoming_list(rt, sid, me, per_page=1).counts,
            "out": api.outgoing_list(rt, sid, me, per_page=1).counts}


@bp.app_template_global("df_name")
def df_name(address: str | None) -> str:
    """A person's full name for an address of the viewer's organisation (else the address)."""
    names = g.get("_df_names")
    if names is None:
        names = {}
        if g.get("df_person") is not None:
            tree = api.org_tree(runtime(), sandbox_id(), g.df_person.org_id)
            names = {p.address: p.full_name for p in tree.leaders + [x for u in tree.units for x in u.people]}
        g._df_names = names
    return names.get(address or "", address or "")


@bp.context_processor
def inject():
    return {"rules": rules, "person": g.get("df_person")}


def page_number() -> int:
    try:
        return max(1, min(100000, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


def page_size() -> int:
    return int(current_app.config.get("DOCFLOW_PAGE_SIZE", 20))


def page_count(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def search_text() -> str:
    return unicodedata.normalize("NFC", request.args.get("q", "")).strip()[:200]


def to_int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def incoming_detail(doc_id: int):
    return api.incoming_doc(runtime(), sandbox_id(), viewer(), doc_id)


def outgoing_detail(doc_id: int):
    return api.outgoing_doc(runtime(), sandbox_id(), viewer(), doc_id)


def record_view_once(page: str, kind: str | None = None, doc_id: int | None = None) -> None:
    """Record the first opening of a page in this login session (the grader's evidence that
    the candidate looked at the tracking view or the document)."""
    key = f"{page}:{kind or ''}:{doc_id or ''}"
    seen = session.get("df_views", [])
    if key in seen:
        return
    recorded = False
    try:
        with storage.best_effort(f"docflow view {key}"):  # a full disk: shown, tried again next time
            api.record_view(runtime(), sandbox_id(), viewer(), page, kind, doc_id)
            recorded = True
    except Forbidden:  # a closed sandbox (time up, or an examiner's read-only copy) records nothing
        return
    if recorded:
        session["df_views"] = (seen + [key])[-200:]
