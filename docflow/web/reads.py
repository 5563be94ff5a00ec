"""The lists and views that read: the entry page, văn bản đến (tabs), văn bản đi (boxes), search,
the tracking view (theo dõi tình hình xử lý văn bản; its opening is recorded)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from docflow import api

from .blueprint import bp
from .common import (docflow_page, page_count, page_number, page_size, record_view_once, rules, runtime, sandbox_id,
                     search_text, viewer)


@bp.get("/")
@docflow_page
def index():
    """Trang chính của phần mềm quản lý văn bản: văn bản đến."""
    return redirect(url_for("docflow.incoming_list"))


@bp.get("/den")
@docflow_page
def incoming_list():
    """Văn bản đến: chờ xử lý / đang xử lý / đã xử lý, tìm kiếm, phân trang."""
    tab = request.args.get("tab")
    tab = tab if tab in rules.INCOMING_TABS else None
    q, page, per_page = search_text(), page_number(), page_size()
    lp = api.incoming_list(runtime(), sandbox_id(), viewer(), tab=tab, q=q or None, page=page, per_page=per_page)
    return render_template("docflow/incoming_list.html", lp=lp, tab=tab, q=q, page=page,
                           pages=page_count(lp.total, per_page), section="den")


@bp.get("/di")
@docflow_page
def outgoing_list():
    """Văn bản đi: dự thảo, dự thảo chờ ký, chờ phát hành, đã phát hành."""
    box = request.args.get("box")
    box = box if box in api.OUTGOING_BOXES else None
    q, page, per_page = search_text(), page_number(), page_size()
    lp = api.outgoing_list(runtime(), sandbox_id(), viewer(), box=box, q=q or None, page=page, per_page=per_page)
    return render_template("docflow/outgoing_list.html", lp=lp, box=box, boxes=api.OUTGOING_BOXES, q=q, page=page,
                           pages=page_count(lp.total, per_page), section="di_" + (box or "all"))


@bp.get("/tim-kiem")
@docflow_page
def search():
    """Tìm văn bản đến và đi theo số, ký hiệu, trích yếu, nơi gửi."""
    q = search_text()
    found = api.search(runtime(), sandbox_id(), viewer(), q) if q else {"incoming": [], "outgoing": []}
    return render_template("docflow/search.html", q=q, found=found, section="tim_kiem")


@bp.get("/theo-doi")
@docflow_page
def tracking():
    """Theo dõi tình hình xử lý văn bản."""
    q = search_text()
    only_overdue = request.args.get("qua_han") == "1"
    rows = api.tracking(runtime(), sandbox_id(), viewer(), only_overdue=only_overdue, q=q or None)
    record_view_once("tracking")
    return render_template("docflow/tracking.html", rows=rows, q=q, only_overdue=only_overdue, section="theo_doi")
